"""``rmrl export RUN --format FORMAT OUT``: a run's trial log as a dataset of the robot-learning ecosystem."""

from __future__ import annotations

import argparse
from pathlib import Path

from rmrl_agents.commands._shared import UsageError
from rmrl_agents.export import FORMATS, UNAVAILABLE, exporter, is_empty_or_missing
from rmrl_agents.stores.trial_log import TrialLog


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a run's trial log as a dataset of another library (Minari)",
        description="Write every trial of a run (image, pose P^e, action, reward, errors, success, failure and the "
        "trial's metadata) as a dataset that the other library's own loader opens. Each format is an optional "
        "extra: pip install 'rmrl[minari]'.",
    )
    p.add_argument("run", help="a run's --out folder, its data folder, or a trial log (RUN/data/trials)")
    p.add_argument("out", help="the dataset folder to write (must not exist, or be empty)")
    p.add_argument("--format", required=True, help=f"the dataset format: {', '.join(FORMATS)}")
    p.set_defaults(func=run)


def trial_log_path(run: Path) -> Path:
    """The trial log of ``run`` (a run folder, its data folder, or the log itself)."""
    for path in (run, run / "trials", run / "data" / "trials"):
        if (path / "meta.json").exists():
            return path
    if not run.exists():
        raise UsageError(f"{run} does not exist; give a run's --out folder (or its data/trials)")
    raise UsageError(f"{run} holds no trial log (no data/trials/meta.json); give a run's --out folder")


def run(args: argparse.Namespace) -> int:
    fmt = FORMATS.get(args.format)
    if fmt is None:
        why = f" ({UNAVAILABLE[args.format]})" if args.format in UNAVAILABLE else ""
        raise UsageError(f"unknown --format {args.format!r}{why}; choose one of: {', '.join(FORMATS)}")
    out = Path(args.out)
    if not is_empty_or_missing(out):
        raise UsageError(f"{out} exists and is not an empty folder; choose a new OUT (nothing is overwritten)")
    log_path = trial_log_path(Path(args.run))
    try:
        module = exporter(args.format)
    except ImportError as err:
        raise UsageError(
            f"--format {args.format} needs the {fmt.requires} package ({err}); install it with pip install 'rmrl[{fmt.extra}]'"
        ) from None
    with TrialLog(log_path, writable=False) as log:  # a damaged log stops here, naming `rmrl repair`
        print(module.export(log, out))
    return 0
