"""Where the env's ``info`` dicts keep the simulator's ground truth, and the one accessor of it.

The cell-plate envs put privileged, sim-only ground truth under one key, ``info["privileged"]``
(absent on the real cell)::

    {"true_pose": [x m, y m, yaw rad], "requested_pose": [...], "plate_type": ...,
     "true_final_pose": [...], "true_e_trans_mm": float, "true_e_rot_deg": float, ...}

No learner reads it; the agents' trial log stores it, and analysis, tests and benchmarks read
true poses and errors from it, always through :func:`privileged`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PRIVILEGED_KEY = "privileged"


def privileged(info: Mapping[str, Any]) -> dict[str, Any]:
    """The sim-only ground truth of a reset or step ``info`` (a copy; ``{}`` on the real cell)."""
    value = info.get(PRIVILEGED_KEY)
    return dict(value) if isinstance(value, Mapping) else {}


__all__ = ["PRIVILEGED_KEY", "privileged"]
