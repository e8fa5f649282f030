"""The trial log: every trial of a run, appended as it happens (a :class:`RecordStore` of kind "trials")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.stores.record_store import RecordStore


class TrialLog(RecordStore):
    """Every trial, appended as it happens (kind "trials").

    Arrays: ``image`` (the observation image the action was chosen on, env layout, uint8).
    Record fields (units): ``trial`` (index in the log), ``timestep`` (agent step counter after
    the trial), ``agent``, ``scene`` (scene id),
    ``pose`` (P^e, [m, m, rad]), ``action`` (grid indices, or the continuous action in [-1, 1]), ``adjustment`` ([m, m, rad] if the
    env maps it), ``reward``, ``e_trans_mm``, ``e_rot_deg``, ``success``, ``failure`` (code or
    None), ``final_pose`` ([m, m, rad] where the env reports it), ``privileged`` (the simulator's
    ground truth of ``info["privileged"]``: ``true_pose``, ``true_e_trans_mm``, ...; None on the
    real cell; never read by a learner), ``t_start`` /
    ``time`` (UTC ISO start / end of the trial), ``duration_s`` (wall time of the env step,
    not including the automatic reset for the next trial), ``info`` (other small JSON-able info
    entries, e.g. a config hash), ``reset_info`` (the info of the reset that began the trial).
    """

    KIND = "trials"

    def __init__(
        self,
        path: str | Path,
        image_shape: Iterable[int] | None = None,
        attrs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        arrays = {"image": (tuple(image_shape), "uint8")} if image_shape is not None else None
        super().__init__(path, self.KIND, arrays=arrays, attrs=attrs, **kwargs)

    def poses(self) -> np.ndarray:
        """(N, 3) float32 estimated poses P^e."""
        return np.asarray(self.column("pose"), dtype=np.float32).reshape(-1, 3)

    def actions(self) -> np.ndarray:
        """(N, 3) actions as logged: int64 grid indices from a grid env, float64 actions in [-1, 1]
        (fractions of the grid's ranges) from a continuous env (a log whose actions are floats)."""
        raw = np.asarray(self.column("action"))  # float64 as soon as one logged value is a float
        return raw.astype(np.float64 if np.issubdtype(raw.dtype, np.floating) else np.int64).reshape(len(self), -1)

    def rewards(self) -> np.ndarray:
        """(N,) float rewards (NaN where none was recorded)."""
        return np.asarray([np.nan if r is None else r for r in self.column("reward")], dtype=np.float64)
