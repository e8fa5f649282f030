"""``rmrl repair PATH``: show (and with ``--apply`` keep) the intact part of a damaged record store."""

from __future__ import annotations

import argparse
from pathlib import Path

from rmrl_agents.errors import DatasetError
from rmrl_agents.repair import apply_repair, inspect_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "repair",
        help="recover the intact records of a damaged trial log or role-model dataset",
        description="Report which records of a store check out and what would be dropped. With --apply, "
        "move the store to PATH.damaged-<time> (kept, never deleted) and write the intact records at PATH.",
    )
    p.add_argument("path", help="a store directory (e.g. RUN/data/trials or RUN/data/role_model), or a run's --out")
    p.add_argument("--apply", action="store_true", help="write the repaired store (the original is kept beside it)")
    p.set_defaults(func=run)


def _stores(path: Path) -> list[Path]:
    """The store directories at ``path``: itself, or those of a run directory."""
    if (path / "meta.json").exists() or (path / "index.jsonl").exists():
        return [path]
    found = [p for p in (path / "data" / "trials", path / "data" / "role_model") if p.is_dir()]
    if not found:
        raise DatasetError(f"{path} is neither a record store nor a run directory with data/trials; check the path")
    return found


def run(args: argparse.Namespace) -> int:
    for store in _stores(Path(args.path)):
        report = inspect_store(store)
        print(report.describe())
        if args.apply and not report.intact:
            _, backup = apply_repair(store)
            print(f"  repaired: {store} now holds {report.kept} records; the original is at {backup}")
        elif not report.intact:
            print(f"  rerun with --apply to keep the {report.kept} intact records (the original is kept)")
    return 0
