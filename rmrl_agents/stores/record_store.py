"""Append-only on-disk record stores: the base of the trial log (``trial_log.py``) and the role-model dataset (``dataset.py``).

A store is a directory::

    meta.json      {"format": "rmrl-record-store", "kind": ..., "schema_version": 2,
                    "arrays": {"image": {"dtype": "uint8", "shape": [H, W, 3], "file": "image.bin"}},
                    "attrs": {...}}
    image.bin      raw C-order array data, record i at byte offset i * record_bytes (np.memmap-able)
    index.jsonl    one JSON object per record, in order:
                   {"i": i, ..., "crc32": {"image": ..., "record": ...}}

Every record is checksummed whole: one CRC32 per array and one (``"record"``) over every JSON
field (canonical JSON: sorted keys, no spaces), so an edited or bit-flipped reward, action, pose
or label is detected like a damaged image.

Why this layout: appending never rewrites earlier bytes, so a crash or ``kill -9`` can only
leave an unfinished *last* record. Each append writes the array bytes first (flush + fsync),
then the index line (flush + fsync); a record exists once its index line is complete.
On opening for writing, a tail that is exactly one unfinished record (a last line that is the
beginning of record n's line, at most one record's array bytes past the last record) is the
trial in flight and is dropped; a complete, checksummed last record that only lacks its newline
is kept. Anything else that does not check out (a malformed line, missing array bytes, a CRC
mismatch, an unknown schema) raises :class:`DatasetError` naming the file, the line and the
recovery command (``rmrl repair PATH``, see :mod:`rmrl_agents.stores.repair`) — a store is never loaded
partially, and opening one never deletes good data. Opening read-only never changes a file.

A writer holds an exclusive ``flock`` on ``.lock`` so two processes cannot append at once.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from rmrl_agents.errors import DatasetError
from rmrl_agents.stores.files import acquire_lock, to_jsonable, write_json_atomic

__all__ = ["RecordStore", "record_crc", "recovery_hint"]

FORMAT = "rmrl-record-store"
SCHEMA_VERSION = 2
#: versions this code reads (version 1 stores checksum the arrays only)
READABLE_VERSIONS = (1, 2)
_META, _INDEX, _LOCK = "meta.json", "index.jsonl", ".lock"


def recovery_hint(path: Path) -> str:
    """The sentence every corruption error ends with: how to see and keep what is intact."""
    return f"run `rmrl repair {path}` to see what is intact (and `--apply` to keep it; the original is kept)"


def record_crc(rec: Mapping[str, Any]) -> int:
    """CRC32 of a record's JSON fields (all but ``crc32``), as canonical JSON."""
    fields = {k: v for k, v in rec.items() if k != "crc32"}
    return zlib.crc32(json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())


def record_crcs(rec: Mapping[str, Any]) -> Mapping[str, Any]:
    """A record's stored checksums ({} if it has none)."""
    crcs = rec.get("crc32")
    return crcs if isinstance(crcs, Mapping) else {}


def parse_record_line(line: bytes, n: int) -> tuple[dict[str, Any] | None, str]:
    """(record, "") if ``line`` is a well-formed index line of record ``n``, else (None, what is wrong)."""
    try:
        rec = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return None, f"is not valid JSON ({err})"
    if not isinstance(rec, dict) or rec.get("i") != n:
        return None, f"is not record {n} (edited, or lines lost)"
    return rec, ""


def is_unfinished_line(tail: bytes, n: int) -> bool:
    """Whether ``tail`` (the bytes after the last newline) is the beginning of record ``n``'s line."""
    start = f'{{"i": {n}, '.encode()
    common = min(len(tail), len(start))
    return tail[:common] == start[:common] and parse_record_line(tail, n)[0] is None


class RecordStore:
    """Append-only store of records, each = fixed-shape arrays + a JSON object.

    :param path: the store's directory.
    :param kind: what the store holds (e.g. "trials", "role_model"); checked on open.
    :param arrays: ``{name: (shape, dtype)}``; required to create a store, checked if given when
        opening an existing one.
    :param attrs: free JSON metadata written at creation (env id, action grid ...).
    :param writable: open for appending (takes the lock, drops an unfinished last record).
    :param verify: check every record's CRC32 when opening (reads all array bytes once).
    :param fsync: fsync after each append (what makes a record survive a power cut).
    """

    def __init__(
        self,
        path: str | Path,
        kind: str,
        arrays: Mapping[str, tuple[Iterable[int], str | np.dtype]] | None = None,
        attrs: Mapping[str, Any] | None = None,
        writable: bool = True,
        verify: bool = True,
        fsync: bool = True,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.writable = writable
        self.fsync = fsync
        self._lock_fh: TextIO | None = None
        meta_path = self.path / _META
        if not meta_path.exists():
            if not writable:
                raise DatasetError(f"{self.path} is not an rmrl {kind} store: {meta_path} is missing")
            if arrays is None:
                raise ValueError(f"creating the {kind} store {self.path} needs the array shapes")
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock()
            if not meta_path.exists():  # re-check under the lock
                self._create(arrays, attrs or {})
        elif writable:
            self._lock()
        self.meta = self._read_meta()
        self._check_arrays(arrays)
        self._specs = {
            name: (tuple(int(s) for s in spec["shape"]), np.dtype(spec["dtype"]), spec["file"])
            for name, spec in self.meta["arrays"].items()
        }
        self.records: list[dict[str, Any]] = self._read_index()
        self._check_array_files(verify)
        self._memmaps: dict[str, np.memmap] = {}

    # -- creation / validation ------------------------------------------------------------------
    def _lock(self) -> None:
        self._lock_fh = acquire_lock(
            self.path / _LOCK,
            f"{self.path} is open for writing elsewhere (process {{pid}}, or another model object in this one: "
            "call its close_storage()); stop that run or use another directory",
        )

    def _create(self, arrays: Mapping[str, tuple[Iterable[int], str | np.dtype]], attrs: Mapping[str, Any]) -> None:
        spec: dict[str, dict[str, Any]] = {
            name: {"dtype": np.dtype(dtype).str, "shape": [int(s) for s in shape], "file": f"{name}.bin"}
            for name, (shape, dtype) in arrays.items()
        }
        for s in spec.values():
            (self.path / s["file"]).touch()
        (self.path / _INDEX).touch()
        meta = {
            "format": FORMAT,
            "kind": self.kind,
            "schema_version": SCHEMA_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(),
            "arrays": spec,
            "attrs": to_jsonable(dict(attrs)),
        }
        write_json_atomic(self.path / _META, meta)

    def _read_meta(self) -> dict[str, Any]:
        path = self.path / _META
        try:
            meta = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise DatasetError(
                f"{path} is unreadable or not JSON ({err}); the store is corrupt: restore meta.json from a backup, "
                "or copy that of a store written with the same settings (rmrl repair cannot rebuild it)"
            ) from err
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else meta
            raise DatasetError(f"{self.path} is not an rmrl record store (meta.json format is {found!r})")
        if meta.get("kind") != self.kind:
            raise DatasetError(f"{self.path} holds a {meta.get('kind')!r} store, not a {self.kind!r} store")
        version = meta.get("schema_version")
        if version not in READABLE_VERSIONS:
            raise DatasetError(
                f"{self.path} has schema version {version!r}; this rmrl_agents reads version {SCHEMA_VERSION} "
                "(upgrade rmrl_agents, or convert the store)"
            )
        if not isinstance(meta.get("arrays"), dict):
            raise DatasetError(f"{path} lacks the 'arrays' description")
        return meta

    def _check_arrays(self, arrays: Mapping[str, tuple[Iterable[int], str | np.dtype]] | None) -> None:
        if arrays is None:
            return
        have = {n: (tuple(s["shape"]), np.dtype(s["dtype"])) for n, s in self.meta["arrays"].items()}
        want = {n: (tuple(int(x) for x in shape), np.dtype(dt)) for n, (shape, dt) in arrays.items()}
        if have != want:
            fmt = lambda d: {n: f"{'×'.join(map(str, s))} {t}" for n, (s, t) in d.items()}  # noqa: E731
            raise DatasetError(f"{self.path} stores arrays {fmt(have)}, but this run produces {fmt(want)}; use another directory")

    def _record_bytes(self, name: str) -> int:
        shape, dtype, _ = self._specs[name]
        return int(np.prod(shape)) * dtype.itemsize

    def _corrupt(self, where: Path, detail: str) -> DatasetError:
        return DatasetError(f"{where}: {detail}; {recovery_hint(self.path)}")

    def _read_index(self) -> list[dict[str, Any]]:
        path = self.path / _INDEX
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise DatasetError(f"{path} is missing or unreadable ({err})") from err
        lines = raw.split(b"\n")
        tail = lines.pop()  # b"" when the file ends in a newline
        records = []
        for n, line in enumerate(lines):
            rec, problem = parse_record_line(line, n)
            if rec is None:
                raise self._corrupt(path, f"line {n + 1} {problem}")
            records.append(rec)
        if tail:
            rec, problem = parse_record_line(tail, len(records))
            if rec is not None:  # a complete record whose newline never landed: kept
                records.append(rec)
                if self.writable:
                    with open(path, "ab") as fh:
                        fh.write(b"\n")
            elif is_unfinished_line(tail, len(records)):  # the record in flight at a crash: dropped
                if self.writable:
                    with open(path, "r+b") as fh:
                        fh.truncate(len(raw) - len(tail))
            else:
                raise self._corrupt(path, f"line {len(records) + 1} (the last, without newline) {problem}")
        return records

    def _check_array_files(self, verify: bool) -> None:
        n = len(self.records)
        for name, (_, _, fname) in self._specs.items():
            path = self.path / fname
            if not path.exists():
                raise self._corrupt(path, "the file is missing")
            rb = self._record_bytes(name)
            size, need = path.stat().st_size, n * rb
            if size < need:
                raise self._corrupt(path, f"holds {size} bytes but the index lists {n} records ({need} bytes)")
            if size - need > rb:
                raise self._corrupt(
                    path, f"holds {size - need} bytes past its {n} records, more than the one record a crash can leave"
                )
            if size > need and self.writable:  # bytes of a record whose index line never landed
                with open(path, "r+b") as fh:
                    fh.truncate(need)
            if verify and n:
                with open(path, "rb") as fh:
                    for line, rec in enumerate(self.records, start=1):
                        if record_crcs(rec).get(name) != zlib.crc32(fh.read(rb)):
                            raise self._corrupt(path, f"record {rec['i']} (index.jsonl line {line}) fails its CRC check")
        if verify and self.meta.get("schema_version", 1) >= 2:
            for line, rec in enumerate(self.records, start=1):
                if record_crcs(rec).get("record") != record_crc(rec):
                    raise self._corrupt(
                        self.path / _INDEX, f"line {line}: record {rec['i']}'s fields fail their CRC check (edited or damaged)"
                    )

    # -- access ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    @property
    def attrs(self) -> dict[str, Any]:
        return self.meta.get("attrs", {})

    def array_spec(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        shape, dtype, _ = self._specs[name]
        return shape, dtype

    def array(self, name: str) -> np.ndarray:
        """All records' ``name`` arrays, shape (len, *shape), memory-mapped read-only."""
        n = len(self)
        shape, dtype, fname = self._specs[name]
        if n == 0:
            return np.zeros((0, *shape), dtype=dtype)
        mm = self._memmaps.get(name)
        if mm is None or mm.shape[0] != n:
            mm = np.memmap(self.path / fname, dtype=dtype, mode="r", shape=(n, *shape))
            self._memmaps[name] = mm
        return mm

    def get(self, name: str, indices: np.ndarray | list[int]) -> np.ndarray:
        """Copy of the ``name`` arrays of the given records, shape (len(indices), *shape)."""
        return np.asarray(self.array(name)[np.asarray(indices, dtype=np.int64)])

    def column(self, key: str, default: Any = None) -> list[Any]:
        return [rec.get(key, default) for rec in self.records]

    # -- append ----------------------------------------------------------------------------------
    def append(self, arrays: Mapping[str, np.ndarray], record: Mapping[str, Any]) -> int:
        """Append one record durably; returns its index. ``arrays`` must match the store's shapes."""
        if not self.writable:
            raise DatasetError(f"{self.path} was opened read-only")
        if set(arrays) != set(self._specs):
            raise ValueError(f"append needs arrays {sorted(self._specs)}, got {sorted(arrays)}")
        i = len(self.records)
        crcs = {}
        for name, value in arrays.items():
            shape, dtype, fname = self._specs[name]
            a = np.ascontiguousarray(value, dtype=dtype)
            if a.shape != shape:
                raise ValueError(f"array {name!r} has shape {a.shape}, the store holds {shape}")
            data = a.tobytes()
            crcs[name] = zlib.crc32(data)
            with open(self.path / fname, "r+b") as fh:
                fh.seek(i * len(data))
                fh.write(data)
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
        rec = {"i": i, **to_jsonable(dict(record))}
        rec["crc32"] = {**crcs, "record": record_crc(rec)}
        line = (json.dumps(rec, allow_nan=False) + "\n").encode()
        with open(self.path / _INDEX, "ab") as fh:
            fh.write(line)
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        self.records.append(rec)
        return i

    def close(self) -> None:
        self._memmaps.clear()
        if self._lock_fh is not None:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()
