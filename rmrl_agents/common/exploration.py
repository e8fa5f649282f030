"""Exploration diagnostics of the grid agents: is the policy still exploring, or has it collapsed?

A collapsed policy samples one grid action over and over: every trial of a scene is then the same,
the role model is that action, and its label confirms it. Two figures show it:

* the **entropy** of each head's distribution, in nats, at the state the trial was taken in
  (log(25) = 3.22 for a uniform Δx head of the default grid; 0 for one bin);
* the **share of the commonest action** among the trials of a window (default 25 trials): about
  1/25 = 0.04 or less while a policy explores, 1.0 when every trial is the same action.

Both go to the logger (``explore/...`` in progress.csv and TensorBoard), into each trial's log
record (``policy_entropy``), the ``rmrl train`` summary and the benchmark's job results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: trials per diagnostic window
WINDOW = 25
#: names of the grid heads, in action order
AXES = ("dx", "dy", "dpsi")


def as_grid_actions(actions: Any) -> np.ndarray:
    """Actions (N, 3) as grid actions: grid indices (integers) as they are; continuous actions
    (floats in [-1, 1], a fraction of the default grid's ranges) rounded to the nearest grid
    action's offset from the centre, so two actions a grid agent could not tell apart count as one."""
    raw = np.asarray(actions)
    arr = raw.astype(np.float64).reshape(len(raw), -1)
    if np.issubdtype(raw.dtype, np.floating):
        from rmrl_env.grid import CandidateGrid

        arr = np.round(np.clip(arr, -1.0, 1.0) * ((CandidateGrid().nvec - 1) / 2.0))
    return arr


def _action_counts(actions: np.ndarray) -> np.ndarray:
    """How often each distinct row of ``actions`` (N, n_heads) occurs."""
    return np.unique(actions.reshape(len(actions), -1), axis=0, return_counts=True)[1]


def commonest_share(actions: np.ndarray) -> float:
    """Fraction of the rows of ``actions`` (N, n_heads) equal to the most frequent row (NaN if empty)."""
    actions = np.asarray(actions)
    if len(actions) == 0:
        return float("nan")
    return float(_action_counts(actions).max() / len(actions))


def exploration_windows(actions: np.ndarray, entropies: np.ndarray | None = None, window: int = WINDOW) -> list[dict[str, Any]]:
    """Per consecutive window of ``window`` trials (the last may be shorter): its first trial,
    its size, the commonest action's share, the number of distinct actions and, with
    ``entropies`` (N, n_heads), the mean entropy of each head (nats)."""
    actions = np.asarray(actions)
    out = []
    for start in range(0, len(actions), window):
        part = actions[start : start + window]
        counts = _action_counts(part)
        row: dict[str, Any] = {
            "first_trial": start,
            "trials": len(part),
            "commonest_share": round(float(counts.max() / len(part)), 4),
            "distinct_actions": len(counts),
        }
        if entropies is not None:
            ent = np.asarray(entropies, dtype=np.float64)[start : start + window]
            row.update({f"entropy_{a}_nats": round(float(np.nanmean(ent[:, i])), 4) for i, a in enumerate(AXES)})
        out.append(row)
    return out


def record_entropies(records: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
    """The ``policy_entropy`` of each trial record (N, n_heads), or None if a record has none."""
    values = [r.get("policy_entropy") for r in records]
    if not values or any(v is None for v in values):
        return None
    return np.asarray(values, dtype=np.float64)


def exploration_summary(records: Sequence[Mapping[str, Any]], window: int = WINDOW) -> dict[str, Any]:
    """The last window's figures from a run's trial records: commonest-action share and, where
    the records carry them, the heads' mean entropies."""
    tail = list(records[-window:])
    if not tail:
        return {}
    actions = np.asarray([np.asarray(r["action"]).ravel() for r in tail])
    last = exploration_windows(actions, record_entropies(tail), window=len(tail))[0]
    return {k: v for k, v in last.items() if k not in ("first_trial",)}
