"""Helpers of the twin env tests: build ``*-twin-v0`` envs (skipping where port 502 cannot be bound)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env  # noqa: F401  (registers the ids)

#: Controller seconds per wall second in the tests: trials take ~4 s instead of ~20 s.
FAST = 5.0


def make_twin(env_id: str = "CellPlatePlace-twin-v0", **kwargs: Any) -> gym.Env:
    """A twin env at :data:`FAST` (unless given), or a skip naming why the emulator cannot listen."""
    kwargs.setdefault("time_scale", FAST)
    try:
        return gym.make(env_id, **kwargs)
    except PermissionError as err:
        pytest.skip(str(err))


def twin_of(env: gym.Env) -> Any:
    """The env's :class:`~rmrl_env.twin.backend.TwinCell` (emulator, physics, folder)."""
    return env.unwrapped.backend.handles["twin"]  # type: ignore[attr-defined]


def after(delay_s: float, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` on a thread ``delay_s`` wall seconds from now (a fault in the middle of a trial)."""
    t = threading.Thread(target=lambda: (time.sleep(delay_s), action()), daemon=True)
    t.start()
    return t


def log_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON records of a JSON-lines log (every line must parse)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def ran_to_its_end(info: dict[str, Any]) -> bool:
    """The trial carried, placed and re-localised the plate. The zero adjustment on the twin's
    default cell (about 6 mm off) may leave it on a receptacle's rim: ``not_flat``, scored 0."""
    return info["failure"] in (None, "not_flat") and bool(np.isfinite(info["e_trans_mm"]))
