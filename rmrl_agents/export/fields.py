"""How a trial-log record becomes the per-trial fields of an exported dataset (every format).

A trial is one step of a one-step episode: the observation (``image`` (H, W, 3) uint8 and ``pose``
P^e [m, m, rad] float32), the ``action`` (grid indices int64, or the continuous action float32)
and the ``reward`` (NaN where the log holds none). The outcome and the trial's metadata:

=================  ===========  ==========================================================
field              type         value
=================  ===========  ==========================================================
e_trans_mm         float64      translation error (NaN if not reported)
e_rot_deg          float64      rotation error (NaN if not reported)
success            int8         1 success, 0 not, -1 not reported
failure            str          failure code ("" if none)
final_pose         float64 (3)  final pose [m, m, rad] (NaN if not reported)
adjustment         float64 (k)  the action as an adjustment [m, m, rad] (NaN if not known)
trial              int64        position in the trial log
logged_as          int64        number the trial had when logged (differs after a repair)
scene, timestep    int64        scene id; the agent's step counter after the trial
duration_s         float64      wall time of the env step
agent, t_start,    str          the agent's class; UTC ISO start / end of the trial
time
record             str          the whole index record as JSON (info, reset_info, privileged ...)
=================  ===========  ==========================================================
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

#: outcome fields: known only after the step
OUTCOME = ("e_trans_mm", "e_rot_deg", "success", "failure", "final_pose", "adjustment")
#: metadata fields: the same for the whole trial
METADATA = ("trial", "logged_as", "scene", "timestep", "duration_s", "agent", "t_start", "time", "record")


def _floats(value: Any, n: int) -> np.ndarray:
    if value is None:
        return np.full(n, np.nan)
    return np.asarray([np.nan if v is None else v for v in value], dtype=np.float64)


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def trial_fields(rec: dict[str, Any], index: int) -> dict[str, Any]:
    """The exported fields of trial ``index`` (its record ``rec``), typed as the table above says."""
    n_action = len(rec.get("action") or [0, 0, 0])
    success = rec.get("success")
    return {
        "reward": _float(rec.get("reward")),
        "e_trans_mm": _float(rec.get("e_trans_mm")),
        "e_rot_deg": _float(rec.get("e_rot_deg")),
        "success": np.int8(-1 if success is None else int(bool(success))),
        "failure": "" if rec.get("failure") is None else str(rec["failure"]),
        "final_pose": _floats(rec.get("final_pose"), 3),
        "adjustment": _floats(rec.get("adjustment"), n_action),
        "trial": np.int64(index),
        "logged_as": np.int64(rec.get("logged_as", index)),
        "scene": np.int64(rec.get("scene", index)),
        "timestep": np.int64(rec.get("timestep", -1)),
        "duration_s": _float(rec.get("duration_s")),
        "agent": str(rec.get("agent", "")),
        "t_start": str(rec.get("t_start", "")),
        "time": str(rec.get("time", "")),
        "record": json.dumps({k: v for k, v in rec.items() if k != "crc32"}, sort_keys=True),
    }


def before_step(value: Any) -> Any:
    """An outcome field's value at the reset, before the step (NaN, -1 or "")."""
    if isinstance(value, str):
        return ""
    if isinstance(value, np.ndarray):
        return np.full_like(value, np.nan)
    if isinstance(value, np.int8):
        return np.int8(-1)
    return float("nan")
