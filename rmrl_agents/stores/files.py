"""Small file helpers of the stores and the CLI: JSON-safe values, atomic JSON files, directory locks."""

from __future__ import annotations

import fcntl
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from rmrl_agents.errors import DatasetError


def to_jsonable(value: Any) -> Any:
    """Plain-JSON version of ``value``: arrays → lists, NaN/inf → None, numpy scalars → Python."""
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` via a temporary file + fsync + rename (never half-written): the one
    atomic writer of the project's JSON files (store metadata, run files, benchmark results).

    The folder is created if missing; the temporary name carries the writer's pid, so processes
    writing side by side never share one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def acquire_lock(lock_path: Path, busy: str) -> TextIO:
    """Take an exclusive, non-blocking ``flock`` on ``lock_path`` and write our pid into it.

    :param busy: the error message if another process holds it; ``{pid}`` is replaced by that
        process's id (as it wrote it).
    :return: the open lock file (closing it releases the lock).
    :raises DatasetError: the lock is held, or the directory is not writable.
    """
    try:
        fh = open(lock_path, "a+")  # noqa: SIM115 (held, and locked, by the caller)
    except OSError as err:
        raise DatasetError(
            f"cannot write in {lock_path.parent} ({err.strerror}); fix its permissions or use another directory"
        ) from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise DatasetError(busy.format(pid=holder)) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh
