"""What the benchmark measures of RL100 besides its own evaluation: the consistency head's gap to
the K-step DDIM teacher on the states the policy is evaluated on."""

from __future__ import annotations

from typing import Any

import numpy as np

from rmrl_agents.rl100.rl100 import RL100


class HeadGap:
    """A ``predict`` that acts with ``model``'s DDIM policy and records, per call, how far the
    consistency head's action (from the same start noise) lies from it, in mm (Δx, Δy) and degrees.

    :param model: the trained RL100.
    :param scale: the adjustment of action [1, 1, 1]: (max Δxy mm, max Δxy mm, max Δψ deg).
    """

    def __init__(self, model: RL100, scale: tuple[float, float, float]) -> None:
        self.model, self.scale = model, np.asarray(scale, dtype=np.float64)
        self.gaps_mm: list[float] = []
        self.gaps_deg: list[float] = []

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False) -> Any:
        head, _ = self.model.predict(observation, state, episode_start, deterministic, sampler="consistency")
        teacher = self.model.predict(observation, state, episode_start, deterministic, sampler="ddim")  # the default, last
        diff = (np.asarray(head, dtype=np.float64) - np.asarray(teacher[0], dtype=np.float64)).reshape(-1, 3) * self.scale
        self.gaps_mm.extend(np.hypot(diff[:, 0], diff[:, 1]).tolist())
        self.gaps_deg.extend(np.abs(diff[:, 2]).tolist())
        return teacher

    def summary(self) -> dict[str, float | int]:
        """Mean and largest gap over the recorded states (NaN when none)."""
        mm, deg = np.asarray(self.gaps_mm), np.asarray(self.gaps_deg)
        if mm.size == 0:
            return {"n": 0, "mean_mm": float("nan"), "max_mm": float("nan"), "mean_deg": float("nan")}
        return {"n": int(mm.size), "mean_mm": float(mm.mean()), "max_mm": float(mm.max()), "mean_deg": float(deg.mean())}


def action_scale(env: Any) -> tuple[float, float, float]:
    """(max Δxy mm, max Δxy mm, max Δψ deg) of a continuous cell-plate env's grid."""
    grid = env.unwrapped.grid
    return (float(grid.max_xy_mm), float(grid.max_xy_mm), float(grid.max_yaw_deg))


__all__ = ["HeadGap", "action_scale"]
