"""``rmrl export RUN --format minari OUT``: the trial log as a Minari dataset (``pip install 'rmrl[minari]'``).

Each trial is an episode of one step: ``observations`` holds two entries (Minari stores the
observation after the last step too), the trial's observation and, as the one-step env's
terminal observation is not logged, the same observation again; ``actions``, ``rewards``
hold one entry, ``terminations`` is [True], ``truncations`` [False]. ``infos`` holds, per
Minari's convention, an entry at the reset and one after the step: the outcome fields of
:mod:`rmrl_agents.export.fields` are "not reported" (NaN, -1, "") at the reset, the metadata
fields the same at both. Images are stored raw (``jpeg_encoding`` off: lossless).

The dataset is ``OUT/data`` (``main_data.hdf5`` + ``metadata.json``), opened with
``minari.MinariDataset("OUT/data")``; its metadata holds the log's attributes (env id, action grid,
env signature, repairs) under ``rmrl``. It is written beside OUT and renamed into place when
complete, so an interrupted export leaves no half dataset at OUT.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from rmrl_agents.export.fields import METADATA, OUTCOME, before_step, trial_fields
from rmrl_agents.policies import IMAGE_KEY, POSE_KEY
from rmrl_agents.stores.trial_log import TrialLog


def dataset_spaces(log: TrialLog) -> tuple[spaces.Dict, spaces.Space]:
    """(observation space, action space) of the log's trials."""
    shape, _ = log.array_spec("image")
    obs = spaces.Dict(
        {
            IMAGE_KEY: spaces.Box(0, 255, shape, np.uint8),
            POSE_KEY: spaces.Box(-np.inf, np.inf, (3,), np.float32),
        }
    )
    nvec = log.attrs.get("action_nvec")
    if log.attrs.get("action_type", "grid") == "grid" and nvec:
        return obs, spaces.MultiDiscrete(nvec)
    n = len(log.records[0]["action"]) if len(log) else 3
    return obs, spaces.Box(-np.inf, np.inf, (n,), np.float32)


def _entries(at_reset: Any, after_step: Any) -> Any:
    """An info field's two entries (h5py stores strings from a list, numbers from an array)."""
    return [at_reset, after_step] if isinstance(after_step, str) else np.asarray([at_reset, after_step])


def _episodes(log: TrialLog, action_space: spaces.Space) -> Iterator[Any]:
    from minari.data_collector import EpisodeBuffer

    for i, rec in enumerate(log.records):
        image = log.get("image", [i])[0]
        pose = np.asarray(rec["pose"], dtype=np.float32)
        action = np.asarray(rec["action"], dtype=action_space.dtype)
        fields = trial_fields(rec, i)
        infos = {k: _entries(before_step(fields[k]), fields[k]) for k in OUTCOME}
        infos.update({k: _entries(fields[k], fields[k]) for k in METADATA})
        yield EpisodeBuffer(
            id=i,
            observations={IMAGE_KEY: np.stack([image, image]), POSE_KEY: np.stack([pose, pose])},
            actions=action[None],
            rewards=[fields["reward"]],
            terminations=[True],
            truncations=[False],
            infos=infos,
        )


def dataset_id(out: Path) -> str:
    """A Minari dataset id made from OUT's name: ``rmrl/<name>-v0``."""
    name = re.sub(r"-v\d+$", "", re.sub(r"[^\w.-]+", "_", out.name).strip("._-")) or "trials"
    return f"rmrl/{name}-v0"


def export(log: TrialLog, out: Path) -> str:
    """Write ``log`` as a Minari dataset at ``out`` (missing or empty); returns a one-line summary."""
    from minari import MinariDataset
    from minari import __version__ as minari_version
    from minari.dataset.minari_storage import MinariStorage

    observation_space, action_space = dataset_spaces(log)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)  # our own leftover of an interrupted export
    (partial / "data").mkdir(parents=True)
    storage = MinariStorage.new(
        partial / "data",
        observation_space=observation_space,
        action_space=action_space,
        data_format="hdf5",
        jpeg_encoding=False,
    )
    agents = sorted({str(r.get("agent")) for r in log.records if r.get("agent")})
    storage.update_metadata(
        {
            "dataset_id": dataset_id(out),
            "minari_version": minari_version,
            "algorithm_name": ",".join(agents) or "unknown",
            "description": f"rmrl trial log {log.path}: one-step episodes (one trial each)",
            "rmrl": {"source": str(log.path), **log.attrs},
        }
    )
    storage.update_episodes(_episodes(log, action_space))
    if out.exists():
        out.rmdir()  # empty (checked by the caller)
    os.replace(partial, out)
    episodes = MinariDataset(out / "data").total_episodes  # the result opens
    return f"wrote {episodes} trials as a Minari dataset at {out / 'data'} (minari.MinariDataset({str(out / 'data')!r}))"
