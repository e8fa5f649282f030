"""Training metrics of the paper: T^10_τ (eq. 15), EMA-smoothed reward curves, run summaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def steps_to_threshold(rewards: Sequence[float] | np.ndarray, tau: float, count: int = 10) -> int | None:
    """T^count_τ: the first (1-based) step at which reward > τ has happened ``count`` times; None if never."""
    hits = np.cumsum(np.asarray(rewards, dtype=np.float64) > tau)
    reached = np.nonzero(hits >= count)[0]
    return int(reached[0]) + 1 if reached.size else None


def ema(values: Sequence[float], alpha: float = 0.1) -> np.ndarray:
    """Exponential moving average y_t = (1-α)·y_{t-1} + α·x_t, y_0 = x_0 (the paper's Fig. 5 smoothing)."""
    x = np.asarray(values, dtype=np.float64)
    out = np.empty_like(x)
    for i, v in enumerate(x):
        out[i] = v if i == 0 else (1 - alpha) * out[i - 1] + alpha * v
    return out


def _mean(values: Sequence[Any]) -> float:
    arr = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return float(np.nanmean(arr)) if arr.size and np.any(np.isfinite(arr)) else float("nan")


def summarize_trials(records: Sequence[Mapping[str, Any]], tau: float = 0.95, tail: float = 0.2) -> dict[str, float | int | None]:
    """Summary of trial-log records: counts, mean reward (all / last ``tail`` fraction), T^10_τ, errors, success."""
    rewards = [np.nan if r.get("reward") is None else float(r["reward"]) for r in records]
    n = len(records)
    k = max(1, round(n * tail)) if n else 0
    return {
        "trials": n,
        "mean_reward": _mean(rewards),
        "std_reward": float(np.nanstd(rewards)) if n else float("nan"),
        "mean_reward_last": _mean(rewards[-k:]) if n else float("nan"),
        "t10": steps_to_threshold(np.nan_to_num(rewards, nan=0.0), tau) if n else None,
        "e_trans_mm": _mean([r.get("e_trans_mm") for r in records]),
        "e_rot_deg": _mean([r.get("e_rot_deg") for r in records]),
        "success_rate": _mean([None if r.get("success") is None else float(bool(r["success"])) for r in records]),
    }
