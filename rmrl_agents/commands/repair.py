"""``rmrl repair PATH``: show (and with ``--apply`` keep) every intact record of a damaged store, and keep
what a run derived from its trials (labels, checkpoint) in line with the repaired trial log."""

from __future__ import annotations

import argparse
from pathlib import Path

from rmrl_agents.errors import DatasetError
from rmrl_agents.stores.repair import RepairReport, apply_repair, inspect_store
from rmrl_agents.stores.run_repair import RunPlan, apply_run, plan_run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "repair",
        help="recover the intact records of a damaged trial log or role-model dataset",
        description="Report which records of a store check out and which are lost (and why). With --apply, "
        "move the store to PATH.damaged-<time> (kept, never deleted) and write every intact record at PATH; "
        "for a trial log, labels and a checkpoint derived from lost trials are moved aside too.",
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


def _plan(stores: list[Path], reports: dict[Path, RepairReport]) -> RunPlan | None:
    """The run-level plan: from the trial log named (or, for a dataset named alone, its intact sibling log)."""
    for store in stores:
        if reports[store].kind == "trials":
            return plan_run(store, reports[store])
    sibling = stores[0].parent / "trials"
    if reports[stores[0]].kind == "role_model" and (sibling / "meta.json").exists():
        log = inspect_store(sibling)
        if log.intact:
            return plan_run(sibling, log)
    return None


def run(args: argparse.Namespace) -> int:
    stores = _stores(Path(args.path))
    reports = {store: inspect_store(store) for store in stores}
    for report in reports.values():
        print(report.describe())
    plan = _plan(stores, reports)
    for line in plan.describe() if plan else []:
        print(line)
    planned = {plan.dataset} if plan and plan.dataset_changes else set()
    alone = [s for s in stores if not reports[s].intact and s not in planned and reports[s].kind != "trials"]
    trials = [s for s in stores if not reports[s].intact and reports[s].kind == "trials"]
    if not (trials or alone or planned or (plan and plan.checkpoint)):
        return 0
    if not args.apply:
        print("  rerun with --apply to keep every intact record (the originals are moved aside, never deleted)")
        return 0
    for store in trials + alone:
        _, backup = apply_repair(store)
        print(f"  repaired: {store} now holds {len(reports[store].kept)} records; the original is at {backup}")
    for line in apply_run(plan) if plan else []:
        print(line)
    return 0
