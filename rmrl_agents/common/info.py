"""Reading the env's ``info`` dicts: the one place that knows where sim-only ground truth lives.

The cell-plate envs put privileged, sim-only ground truth under one key,
``info["privileged"]`` (absent on the real cell)::

    {"true_pose": [x m, y m, yaw rad], "requested_pose": [...], "true_final_pose": [...],
     "true_e_trans_mm": float, "true_e_rot_deg": float}

No learner reads it; the trial log stores it (as ``privileged``) and the benchmarks read true
errors from it, always through :func:`privileged`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

PRIVILEGED_KEY = "privileged"


def privileged(info: Mapping[str, Any]) -> dict[str, Any]:
    """The sim-only ground truth of an info dict (a copy; ``{}`` on the real cell)."""
    value = info.get(PRIVILEGED_KEY)
    return dict(value) if isinstance(value, Mapping) else {}


def failure_code(info: Mapping[str, Any]) -> str | None:
    """The trial's failure code as a plain string (``None``: no failure)."""
    failure = info.get("failure")
    return None if failure is None else str(failure)


def as_float(value: Any) -> float:
    """A metric of an info dict as a float (``None`` or missing → NaN)."""
    return math.nan if value is None else float(value)
