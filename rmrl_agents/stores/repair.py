"""Recovering every intact record of a damaged record store (``rmrl repair PATH``).

A store (see :mod:`rmrl_agents.stores.record_store`) refuses to open when anything beyond one unfinished
last record is wrong. Records are checksummed one by one, so :func:`inspect_store` checks each
on its own (a well-formed index line naming its record, the record's array bytes present, every
CRC right) and lists the records that are lost and why: a damaged record does not cost the
records after it. Array bytes that no index line lists (an emptied or cut ``index.jsonl``) are
lost records too: their JSON fields (pose, action, reward ...) are gone, so they cannot be kept.

:func:`apply_repair` keeps the intact records: the original directory is renamed to
``PATH.damaged-<UTC time>`` (nothing is deleted, the lost bytes stay there) and a new store
holding only the intact records is written at ``PATH``.

How a gap is represented: a store's records are numbered by position (record ``i`` is line
``i + 1`` of the index and sits at byte ``i * record_bytes`` of each array file), so the kept
records are renumbered without gaps. A trial-log record whose position changes keeps its
original number in ``logged_as`` (and its ``trial`` field follows its new position); the lost
numbers and their causes are listed in ``meta.json``'s ``attrs.repairs`` and printed. A run
that resumes on the repaired log counts the kept trials only, so it runs as many new trials
at its end as were lost (what ``--steps`` asks for: that many trials in the log). What was
derived from the lost trials (labels, a checkpoint that saw them) is brought in line by
:mod:`rmrl_agents.stores.run_repair`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.errors import DatasetError
from rmrl_agents.stores.files import acquire_lock, fsync_dir, write_json_atomic
from rmrl_agents.stores.record_store import _INDEX, _LOCK, _META, READABLE_VERSIONS, RecordStore, record_crc, record_crcs

#: what a caller may do to the intact records before they are written: (original index, record) in, kept ones out
Select = Callable[[list[tuple[int, dict[str, Any]]]], list[tuple[int, dict[str, Any]]]]


@dataclass
class Lost:
    """A record that does not check out: its number in the damaged store and why."""

    index: int
    why: str


@dataclass
class RepairReport:
    """What a repair keeps and loses.

    Attributes:
        path: the store.
        kept: the intact records, {original index: record}, in order.
        lost: the records that do not check out (by original index), with the cause.
        kind: what the store holds ("trials", "role_model").
    """

    path: Path
    kept: dict[int, dict[str, Any]]
    lost: list[Lost] = field(default_factory=list)
    kind: str = ""

    @property
    def intact(self) -> bool:
        return not self.lost

    def describe(self) -> str:
        if self.intact:
            return f"{self.path}: all {len(self.kept)} records check out; nothing to repair"
        groups: list[tuple[int, int, str]] = []  # runs of consecutive lost records with the same cause
        for lost in self.lost:
            if groups and groups[-1][1] == lost.index - 1 and groups[-1][2] == lost.why:
                groups[-1] = (groups[-1][0], lost.index, lost.why)
            else:
                groups.append((lost.index, lost.index, lost.why))
        causes = "; ".join(f"record{'s' if a != b else ''} {_span(a, b)}: {why}" for a, b, why in groups)
        return f"{self.path}: keeps {len(self.kept)} intact records, loses {len(self.lost)} ({causes})"


def _span(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}..{b}"


def _meta(path: Path) -> dict[str, Any]:
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


def _record_sizes(meta: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """{array name: (file name, bytes per record)}."""
    return {
        name: (spec["file"], int(np.prod(spec["shape"])) * np.dtype(spec["dtype"]).itemsize)
        for name, spec in meta["arrays"].items()
    }


def _claimed(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """(record, "") if ``line`` is a JSON object with an integer ``i``, else (None, what is wrong)."""
    try:
        rec = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return None, f"its index line is not valid JSON ({err})"
    if not isinstance(rec, dict) or not isinstance(rec.get("i"), int) or isinstance(rec.get("i"), bool):
        return None, "its index line does not say which record it is"
    return rec, ""


def inspect_store(path: str | Path) -> RepairReport:
    """Check every record of the store at ``path`` on its own (reads everything once, changes nothing)."""
    path = Path(path)
    meta = _meta(path)
    check_fields = meta["schema_version"] >= 2
    sizes = _record_sizes(meta)
    try:
        raw = (path / _INDEX).read_bytes()
    except OSError as err:
        raise DatasetError(f"{path / _INDEX} is unreadable ({err})") from err
    lines = raw.split(b"\n")
    unfinished = lines.pop()  # b"" when the index ends in a newline
    if unfinished:
        lines.append(unfinished)
    missing = [fname for fname, _ in sizes.values() if not (path / fname).exists()]
    if missing:
        return RepairReport(path, {}, [Lost(n, f"{missing[0]} is missing") for n in range(len(lines))], str(meta.get("kind")))
    report = RepairReport(path, {}, kind=str(meta.get("kind")))
    handles = {name: open(path / fname, "rb") for name, (fname, _) in sizes.items()}  # noqa: SIM115 (closed below)
    try:
        last = -1  # the number of the last record an index line stood for
        for n, line in enumerate(lines):
            rec, why = _claimed(line)
            number = rec["i"] if rec is not None and rec["i"] > last else last + 1
            if rec is not None and rec["i"] <= last:
                why = f"index line {n + 1} claims to be record {rec['i']}, out of order"
                rec = None
            report.lost.extend(Lost(k, "its index line is missing") for k in range(last + 1, number))
            last = number
            if rec is not None:
                why = _check_record(rec, number, handles, sizes, check_fields)
            if why and unfinished and n == len(lines) - 1:
                why = f"its index line is unfinished (the record being written at a crash): {why}"
            if why:
                report.lost.append(Lost(number, why))
            else:
                report.kept[number] = rec  # type: ignore[assignment]
        listed = last + 1
        stored = min((path / fname).stat().st_size // size for fname, size in sizes.values())
        if stored - listed > 1:  # one record's bytes past the index is the record in flight at a crash
            names = "/".join(fname for fname, _ in sizes.values())
            report.lost.extend(
                Lost(k, f"its index line is missing (only its {names} bytes are left)") for k in range(listed, stored)
            )
    finally:
        for fh in handles.values():
            fh.close()
    return report


def _check_record(
    rec: dict[str, Any], number: int, handles: dict[str, Any], sizes: dict[str, tuple[str, int]], check_fields: bool
) -> str:
    """Why record ``number`` does not check out ("" if it does)."""
    crcs = record_crcs(rec)
    for name, (fname, size) in sizes.items():
        handles[name].seek(number * size)
        data = handles[name].read(size)
        if len(data) < size:
            return f"{fname} ends before it"
        if crcs.get(name) != zlib.crc32(data):
            return f"its {name} fails its CRC check"
    if check_fields and crcs.get("record") != record_crc(rec):
        return "its fields fail their CRC check (edited or damaged)"
    return ""


def move_aside(path: Path, why: str) -> Path:
    """Rename ``path`` to ``PATH.<why>-<UTC time>`` (a free name) and return the new path."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target, n = path.with_name(f"{path.name}.{why}-{stamp}"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{why}-{stamp}-{n}")
    os.replace(path, target)
    fsync_dir(path.parent)
    return target


def apply_repair(path: str | Path, select: Select | None = None, why: str = "damaged") -> tuple[RepairReport, Path]:
    """Keep the intact records: move the store to ``PATH.<why>-<time>``, write them (renumbered) at ``PATH``.

    :param select: filters (and may edit) the intact records before they are written, e.g. the
        labels of a role-model dataset that still label a kept trial (see :mod:`rmrl_agents.stores.run_repair`).
    Returns the report and where the original now is. Holds the store's writer lock while it works.
    :raises DatasetError: the store is open for writing elsewhere, or its meta.json is unreadable.
    """
    path = Path(path)
    report = inspect_store(path)
    meta = _meta(path)
    kept = list(report.kept.items())
    if select is not None:
        kept = select(kept)
    guard = acquire_lock(path / _LOCK, f"{path} is open for writing by process {{pid}}; stop it before repairing")
    try:
        backup = move_aside(path, why)
        path.mkdir()
        for fname, size in _record_sizes(meta).values():
            with open(backup / fname, "rb") as src, open(path / fname, "wb") as dst:
                for number, _ in kept:  # record by record: stores can be large
                    src.seek(number * size)
                    dst.write(src.read(size))
                dst.flush()
                os.fsync(dst.fileno())
        with open(path / _INDEX, "wb") as fh:
            for new, (number, rec) in enumerate(kept):
                fh.write((json.dumps(_renumbered(rec, number, new, meta), allow_nan=False) + "\n").encode())
            fh.flush()
            os.fsync(fh.fileno())
        attrs = meta.setdefault("attrs", {})
        attrs["repairs"] = [
            *attrs.get("repairs", []),
            {
                "time": _dt.datetime.now(_dt.UTC).isoformat(),
                "original": backup.name,
                "kept": len(kept),
                "lost": [{"index": lost.index, "why": lost.why} for lost in report.lost],
                "left_out": sorted(set(report.kept) - {number for number, _ in kept}),
            },
        ]
        write_json_atomic(path / _META, meta)
    finally:
        guard.close()
        fsync_dir(path.parent)
    RecordStore(path, str(meta.get("kind")), writable=False).close()  # the result opens cleanly
    return report, backup


def _renumbered(rec: dict[str, Any], number: int, new: int, meta: dict[str, Any]) -> dict[str, Any]:
    """Record ``number`` as record ``new`` of the repaired store, its checksum updated."""
    out = {k: v for k, v in rec.items() if k != "crc32"}
    out["i"] = new
    if number != new and meta.get("kind") == "trials":
        out["trial"] = new
        out.setdefault("logged_as", number)
    crcs = dict(record_crcs(rec))
    if meta["schema_version"] >= 2:
        crcs["record"] = record_crc(out)
    out["crc32"] = crcs
    return out
