"""The two action spaces of the MDP, over the same adjustment ranges.

* ``action_type="grid"`` (the paper's, default): :class:`~rmrl_env.grid.CandidateGrid`,
  ``MultiDiscrete([nx, ny, nψ])`` indices into fixed candidate lists.
* ``action_type="continuous"``: :class:`ContinuousAdjustment`, ``Box(-1, 1, (3,), float32)``
  scaled to the grid's range: ``Δ = a ⊙ [max_xy_m, max_xy_m, max_yaw_rad]`` (±12 mm, ±12 mm, ±5°
  on defaults), so a continuous policy is not capped by the grid's 1 mm / 0.5° step.

Both map an action to ``[Δx_m, Δy_m, Δψ_rad]`` with :meth:`to_adjustment`, and an adjustment
back to the nearest action with :meth:`to_action`; both reject invalid actions with a
``ValueError`` that names the valid ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from gymnasium import spaces

from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid

ActionType = Literal["grid", "continuous"]
ACTION_TYPES: tuple[ActionType, ...] = ("grid", "continuous")


class AdjustmentSpace(Protocol):
    """An action space of the MDP and its map to pose adjustments."""

    def space(self) -> spaces.Space:
        """The Gymnasium space of actions."""

    def describe(self) -> str:
        """One line naming the valid actions, for error messages."""

    def to_adjustment(self, action: object) -> np.ndarray:
        """Action → ``[Δx_m, Δy_m, Δψ_rad]`` (float64, shape (3,)); ``ValueError`` if invalid."""

    def to_action(self, dx_m: float, dy_m: float, dpsi_rad: float, clip: bool = False) -> np.ndarray:
        """The nearest action to an adjustment; beyond the range by more than half a grid step it is
        a ``ValueError`` naming the range, unless ``clip`` (then clipped to the range)."""

    def zero_action(self) -> np.ndarray:
        """The action of no adjustment."""


@dataclass(frozen=True)
class ContinuousAdjustment:
    """Continuous adjustments in ``[-1, 1]^3``, scaled to the ranges of ``grid``.

    Attributes:
        grid: gives the ranges (``max_xy_mm``, ``max_yaw_deg``); its steps are not used.
    """

    grid: CandidateGrid = field(default_factory=CandidateGrid)

    @property
    def scale(self) -> np.ndarray:
        """``[max_xy_m, max_xy_m, max_yaw_rad]``: the adjustment of action ``[1, 1, 1]``, shape (3,)."""
        return np.array([self.grid.max_xy_mm / 1000.0, self.grid.max_xy_mm / 1000.0, math.radians(self.grid.max_yaw_deg)])

    def space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (3,), np.float32)

    def describe(self) -> str:
        g = self.grid
        return (
            f"Box(-1, 1, (3,), float32): Δx, Δy = a·{g.max_xy_mm:g} mm and Δψ = a·{g.max_yaw_deg:g}°, "
            "each component finite and within [-1, 1]"
        )

    def validate(self, action: object) -> np.ndarray:
        """Return the action as float64 of shape (3,), or raise ``ValueError`` naming the valid range."""
        try:
            arr = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"the action {action!r} is not 3 numbers; valid actions: {self.describe()}") from None
        if arr.shape != (3,):
            raise ValueError(f"an action must be 3 numbers, got shape {arr.shape}; valid actions: {self.describe()}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"the action {arr.tolist()} is not finite; valid actions: {self.describe()}")
        # float32 policies may overshoot ±1 by a rounding error: accept that, reject anything more.
        if np.any(np.abs(arr) > 1.0 + 1e-6):
            raise ValueError(f"the action {arr.tolist()} is outside [-1, 1]; valid actions: {self.describe()}")
        return np.clip(arr, -1.0, 1.0)

    def to_adjustment(self, action: object) -> np.ndarray:
        return self.validate(action) * self.scale

    def to_action(self, dx_m: float, dy_m: float, dpsi_rad: float, clip: bool = False) -> np.ndarray:
        values = self.grid.check_adjustment(dx_m, dy_m, dpsi_rad, clip)
        return np.clip(values / self.scale, -1.0, 1.0).astype(np.float32)

    def zero_action(self) -> np.ndarray:
        return np.zeros(3, dtype=np.float32)


def adjustment_space(action_type: str, grid: CandidateGrid) -> AdjustmentSpace:
    """The action space ``action_type`` names, over the ranges of ``grid``."""
    if action_type == "grid":
        return grid
    if action_type == "continuous":
        if grid.max_xy_mm <= 0 or grid.max_yaw_deg <= 0:
            raise ConfigError(
                f"a continuous action space needs ranges > 0, got ±{grid.max_xy_mm:g} mm and ±{grid.max_yaw_deg:g}°"
            )
        return ContinuousAdjustment(grid)
    raise ConfigError(f"action_type must be one of {list(ACTION_TYPES)}, got {action_type!r}")
