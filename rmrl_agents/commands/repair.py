"""``rmrl repair PATH``: show (and with ``--apply`` keep) every intact record of a damaged store."""

from __future__ import annotations

import argparse
from pathlib import Path

from rmrl_agents.errors import DatasetError
from rmrl_agents.repair import apply_repair, inspect_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "repair",
        help="recover the intact records of a damaged trial log or role-model dataset",
        description="Report which records of a store check out and which are lost (and why). With --apply, "
        "move the store to PATH.damaged-<time> (kept, never deleted) and write every intact record at PATH.",
    )
    p.add_argument("path", help="a store directory (e.g. RUN/data/trials or RUN/data/role_model), or a run's --out")
    p.add_argument("--apply", action="store_true", help="write the repaired store (the original is kept beside it)")
    p.set_defaults(func=run)


def _stores(path: Path) -> list[Path]:
    """The store directories at ``path``: itself, or those of a run directory (or its data folder)."""
    if (path / "meta.json").exists() or (path / "index.jsonl").exists():
        return [path]
    for data in (path / "data", path):
        found = [p for p in (data / "trials", data / "role_model") if p.is_dir()]
        if found:
            return found
    raise DatasetError(f"{path} is neither a record store nor a run directory with data/trials; check the path")


def run(args: argparse.Namespace) -> int:
    stores = _stores(Path(args.path))
    reports = {store: inspect_store(store) for store in stores}
    for report in reports.values():
        print(report.describe())
    damaged = [s for s in stores if not reports[s].intact]
    if not damaged:
        return 0
    if not args.apply:
        print("  rerun with --apply to keep every intact record (the originals are moved aside, never deleted)")
        return 0
    for store in damaged:
        _, backup = apply_repair(store)
        print(f"  repaired: {store} now holds {len(reports[store].kept)} records; the original is at {backup}")
    return 0
