"""The role-model dataset D = {D_1, ..., D_i} (paper eq. 3-4), persisted as it grows.

Each record is one state s_{i,k} of a scene i labelled with the role model's grid indices
I_i = [ind_x, ind_y, ind_ψ]: arrays ``image`` (uint8, env layout, e.g. 120×160×3) and JSON
fields ``pose`` (P^e, [m, m, rad]), ``label`` (3 ints), ``scene``, ``trial`` (index of the
labelled trial in the run's trial log), ``reward`` (that trial's own reward),
``role_model_trial`` and ``role_model_reward`` (the trial a*_i came from and its reward),
``trial_time`` (the labelled trial's logged end time: with ``trial``, what identifies it).
The store's ``attrs`` hold ``action_nvec`` (the grid the labels index into) and ``env_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.errors import DatasetError
from rmrl_agents.stores.record_store import RecordStore, recovery_hint


class RoleModelDataset(RecordStore):
    """Role-model-labelled states (kind "role_model"); ``len(dataset)`` = number of labels.

    Create or extend one with ``RoleModelDataset(path, image_shape=..., action_nvec=...)``;
    open one from an earlier run read-only with :meth:`open`.
    """

    KIND = "role_model"

    def __init__(
        self,
        path: str | Path,
        image_shape: Iterable[int] | None = None,
        action_nvec: Sequence[int] | None = None,
        attrs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        arrays = {"image": (tuple(image_shape), "uint8")} if image_shape is not None else None
        all_attrs = dict(attrs or {})
        if action_nvec is not None:
            all_attrs["action_nvec"] = [int(n) for n in action_nvec]
        super().__init__(path, self.KIND, arrays=arrays, attrs=all_attrs, **kwargs)
        if action_nvec is not None:
            self.check_compatible(action_nvec=action_nvec)
        self._check_labels()
        self._labelled_trials = {(rec.get("trial"), rec.get("trial_time")) for rec in self.records}

    @classmethod
    def open(cls, path: str | Path, verify: bool = True) -> RoleModelDataset:
        """Open an existing dataset read-only (e.g. an earlier run's ``role_model/`` for pretraining)."""
        return cls(path, writable=False, verify=verify)

    # -- content ---------------------------------------------------------------------------------
    @property
    def action_nvec(self) -> list[int]:
        return list(self.attrs.get("action_nvec", []))

    @property
    def image_shape(self) -> tuple[int, ...]:
        return self.array_spec("image")[0]

    def labels(self) -> np.ndarray:
        """(N, n_dims) int64 role-model indices."""
        return np.asarray(self.column("label"), dtype=np.int64).reshape(len(self), len(self.action_nvec))

    def poses(self) -> np.ndarray:
        """(N, 3) float32 estimated poses P^e of the labelled states."""
        return np.asarray(self.column("pose"), dtype=np.float32).reshape(-1, 3)

    def scenes(self) -> np.ndarray:
        return np.asarray(self.column("scene", -1), dtype=np.int64)

    def contains_trial(self, trial: int, trial_time: str | None = None) -> bool:
        """Whether the trial-log trial ``trial`` already has a label (keeps labelling idempotent).

        :param trial_time: the trial's end time as logged (its ``time`` field): a label made for
            another trial of the same index (one a repair of the log dropped, then run again)
            does not count. Labels stored without it match on the index alone.
        """
        if trial_time is None:
            return any(t == trial for t, _ in self._labelled_trials)
        return (trial, trial_time) in self._labelled_trials or (trial, None) in self._labelled_trials

    def batch(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(images (B, *image_shape) uint8, poses (B, 3) float32, labels (B, n_dims) int64)."""
        idx = np.asarray(indices, dtype=np.int64)
        return self.get("image", idx), self.poses()[idx], self.labels()[idx]

    # -- growth ----------------------------------------------------------------------------------
    def add(self, image: np.ndarray, pose: Sequence[float], label: Sequence[int], **fields: Any) -> int:
        """Append one labelled state durably; returns its index in D."""
        label = [int(x) for x in label]
        nvec = self.action_nvec
        if nvec and (len(label) != len(nvec) or any(not 0 <= x < n for x, n in zip(label, nvec, strict=True))):
            raise ValueError(f"label {label} is outside the action grid {nvec}")
        i = self.append({"image": image}, {"pose": [float(p) for p in pose], "label": label, **fields})
        self._labelled_trials.add((fields.get("trial"), fields.get("trial_time")))
        return i

    # -- checks ----------------------------------------------------------------------------------
    def _check_labels(self) -> None:
        """Every stored label must index the dataset's grid (a label out of range would crash in torch)."""
        nvec = self.action_nvec
        if not nvec:
            raise DatasetError(
                f"{self.path}/meta.json does not record the action grid (attrs.action_nvec); {recovery_hint(self.path)}"
            )
        for line, rec in enumerate(self.records, start=1):
            label = rec.get("label")
            fits = isinstance(label, list) and len(label) == len(nvec)
            if not (fits and all(isinstance(x, int) and 0 <= x < n for x, n in zip(label or [], nvec, strict=True))):
                raise DatasetError(
                    f"{self.path}/index.jsonl: line {line} has the label {label!r}, outside the action grid {nvec}; "
                    f"{recovery_hint(self.path)}"
                )

    def check_compatible(
        self, action_nvec: Sequence[int] | None = None, image_shapes: Iterable[Sequence[int]] | None = None
    ) -> None:
        """Raise :class:`DatasetError` unless labels index the same grid and images have a usable shape.

        :param image_shapes: acceptable image shapes (e.g. the env's (H, W, 3) and the policy's (3, H, W)).
        """
        if action_nvec is not None and self.action_nvec != [int(n) for n in action_nvec]:
            raise DatasetError(
                f"{self.path} labels the action grid {self.action_nvec}, but the model's action space is "
                f"MultiDiscrete({[int(n) for n in action_nvec]}); labels cannot be reused across grids"
            )
        if image_shapes is not None:
            shapes = [tuple(int(s) for s in shp) for shp in image_shapes]
            if self.image_shape not in shapes:
                raise DatasetError(
                    f"{self.path} holds images of shape {self.image_shape}, but the model expects {shapes[0]}; "
                    "record the dataset at the same image size (env image_size) as the model"
                )


def as_dataset(dataset_or_path: RoleModelDataset | str | Path) -> RoleModelDataset:
    """A dataset object from either a dataset or a path (a run's ``--out`` dir or its ``role_model/``)."""
    if isinstance(dataset_or_path, RoleModelDataset):
        return dataset_or_path
    path = Path(dataset_or_path)
    if (path / "data" / "role_model" / "meta.json").exists():
        path = path / "data" / "role_model"
    elif (path / "role_model" / "meta.json").exists():
        path = path / "role_model"
    if not path.exists():
        raise FileNotFoundError(f"no role-model dataset at {path}")
    if not (path / "meta.json").exists():
        raise DatasetError(
            f"{path} is not a role-model dataset (no meta.json); pass a run's --out directory or its data/role_model"
        )
    return RoleModelDataset.open(path)
