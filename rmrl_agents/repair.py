"""Recovering the intact part of a damaged record store (``rmrl repair PATH``).

A store (see :mod:`rmrl_agents.storage`) refuses to open when anything beyond one unfinished
last record is wrong. :func:`inspect_store` finds the longest prefix of records that checks out
completely (well-formed index line, array bytes present, every CRC right) and says what follows
it; :func:`apply_repair` keeps that prefix: the original directory is renamed to
``PATH.damaged-<UTC time>`` (nothing is deleted) and a new store holding only the intact
records is written at ``PATH``, so a run resumes from it with the same command.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rmrl_agents.errors import DatasetError
from rmrl_agents.files import fsync_dir
from rmrl_agents.storage import (
    _INDEX,
    _LOCK,
    _META,
    READABLE_VERSIONS,
    RecordStore,
    acquire_lock,
    parse_record_line,
    record_crc,
    record_crcs,
)


@dataclass
class RepairReport:
    """What a repair keeps and drops.

    Attributes:
        path: the store.
        kept: records that check out (the first ``kept`` of the index).
        index_lines: complete and partial lines of ``index.jsonl``.
        problem: why the record after the kept ones is not kept ("" if the store is intact).
    """

    path: Path
    kept: int
    index_lines: int
    problem: str

    @property
    def intact(self) -> bool:
        return not self.problem

    def describe(self) -> str:
        if self.intact:
            return f"{self.path}: all {self.kept} records check out; nothing to repair"
        dropped = self.index_lines - self.kept
        return (
            f"{self.path}: keeps records 0..{self.kept - 1} ({self.kept} records), drops {dropped} index line(s) "
            f"from line {self.kept + 1}: {self.problem}"
            if self.kept
            else f"{self.path}: no record checks out ({self.problem}); a repair would keep an empty store"
        )


def _meta(path: Path) -> dict:
    try:
        meta = json.loads((path / _META).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(
            f"{path / _META} is unreadable ({err}): without it the records cannot be decoded; restore it from a "
            "backup, or copy the meta.json of a store written with the same settings"
        ) from err
    if not isinstance(meta, dict) or not isinstance(meta.get("arrays"), dict):
        raise DatasetError(f"{path / _META} does not describe a record store; restore it from a backup")
    if meta.get("schema_version") not in READABLE_VERSIONS:
        raise DatasetError(f"{path} has schema version {meta.get('schema_version')!r}, which this rmrl_agents cannot repair")
    return meta


def inspect_store(path: str | Path) -> RepairReport:
    """Find the intact prefix of the store at ``path`` (reads everything once, changes nothing)."""
    path = Path(path)
    meta = _meta(path)
    check_fields = meta["schema_version"] >= 2
    arrays = {
        name: (path / spec["file"], int(np.prod(spec["shape"])) * np.dtype(spec["dtype"]).itemsize)
        for name, spec in meta["arrays"].items()
    }
    try:
        lines = (path / _INDEX).read_bytes().split(b"\n")
    except OSError as err:
        raise DatasetError(f"{path / _INDEX} is unreadable ({err})") from err
    if not lines[-1]:
        lines.pop()
    handles = {}
    for name, (file, _) in arrays.items():
        if not file.exists():
            return RepairReport(path, 0, len(lines), f"{file.name} is missing")
        handles[name] = open(file, "rb")  # noqa: SIM115 (closed below)
    try:
        for n, line in enumerate(lines):
            rec, problem = parse_record_line(line, n)
            if rec is None:
                return RepairReport(path, n, len(lines), f"line {n + 1} {problem}")
            crcs = record_crcs(rec)
            for name, (file, size) in arrays.items():
                data = handles[name].read(size)
                if len(data) < size:
                    return RepairReport(path, n, len(lines), f"{file.name} ends before record {n}")
                if crcs.get(name) != zlib.crc32(data):
                    return RepairReport(path, n, len(lines), f"record {n}'s {name} fails its CRC check")
            if check_fields and crcs.get("record") != record_crc(rec):
                return RepairReport(path, n, len(lines), f"record {n}'s fields fail their CRC check")
        return RepairReport(path, len(lines), len(lines), "")
    finally:
        for fh in handles.values():
            fh.close()


def apply_repair(path: str | Path) -> tuple[RepairReport, Path]:
    """Keep the intact prefix: move the store to ``PATH.damaged-<time>``, write the kept records at ``PATH``.

    Returns the report and where the original now is. Holds the store's writer lock while it works.
    :raises DatasetError: the store is open for writing elsewhere, or its meta.json is unreadable.
    """
    path = Path(path)
    report = inspect_store(path)
    meta = _meta(path)
    kind = str(meta.get("kind"))
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.damaged-{stamp}")
    guard = acquire_lock(path / _LOCK, f"{path} is open for writing by process {{pid}}; stop it before repairing")
    try:
        os.replace(path, backup)
        path.mkdir()
        sizes = {}
        for name, spec in meta["arrays"].items():
            sizes[name] = int(np.prod(spec["shape"])) * np.dtype(spec["dtype"]).itemsize
            with open(backup / spec["file"], "rb") as src, open(path / spec["file"], "wb") as dst:
                for _ in range(report.kept):  # record by record: stores can be large
                    dst.write(src.read(sizes[name]))
                dst.flush()
                os.fsync(dst.fileno())
        lines = (backup / _INDEX).read_bytes().split(b"\n")[: report.kept]
        with open(path / _INDEX, "wb") as fh:
            fh.write(b"".join(line + b"\n" for line in lines))
            fh.flush()
            os.fsync(fh.fileno())
        shutil.copy2(backup / _META, path / _META)
    finally:
        guard.close()
        fsync_dir(path.parent)
    RecordStore(path, kind, writable=False).close()  # the result opens cleanly
    return report, backup
