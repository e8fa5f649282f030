"""``rmrl bench paper``: the paper's Tables 1-3 and Fig. 5 on the simulated cell, over seeds."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from rmrl_agents.bench.config import ABLATIONS, DEFAULT_METHODS, METHODS, OBSERVATIONS, PAPER_RECIPES, SOURCE_CELL0
from rmrl_agents.bench.lock import lock_bench_folder
from rmrl_agents.commands._shared import UsageError, positive_int, user_errors
from rmrl_agents.commands.ray_address import check_ray_reachable, ray_address


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="reproduce the paper's experiments on the simulated cell",
        description="Train and evaluate REINFORCE, ReplayREINFORCE, RMRL, RMRL-pretrained, SB3's PPO, and RL100 and "
        "SB3's SAC on the continuous envs, the reward-only calibration, and RM-RL and pretrained RM-RL in the paper's recipe, "
        "with the same budget and seeds, beside the reference rows; write "
        "results.json, results.md, error_curves.png and reward_curves.png. Finished jobs in --out are reused when their "
        "settings match.",
    )
    p.add_argument("which", choices=["paper"], help="the benchmark to run")
    p.add_argument(
        "--quick", action="store_true", help="small budget and network (3 seeds × 2 cells × 40 trials): a few minutes on 2 cores"
    )
    p.add_argument("--seeds", type=positive_int, default=None, help="number of seeds (default: 3 quick, 10 full)")
    p.add_argument(
        "--trials", type=positive_int, default=None, help="training trials per method and seed (default: 40 quick, 200 full)"
    )
    p.add_argument("--workers", type=positive_int, default=None, help="parallel processes (default 2)")
    p.add_argument(
        "--cells",
        type=parse_cells,
        default=None,
        help="evaluated cells, comma-separated: 'default' or a cell_seed (default: default,0)",
    )
    p.add_argument(
        "--methods",
        type=parse_methods,
        default=None,
        help="learning methods to run, comma-separated (default: "
        + ",".join(DEFAULT_METHODS)
        + "; also "
        + ",".join(m for m in PAPER_RECIPES if m not in DEFAULT_METHODS)
        + ")",
    )
    p.add_argument(
        "--ablations",
        action="store_true",
        help="also run RM-RL without online updates / without replay / eq. 6 literally, REINFORCE eq. 6, and transfer to held-out cells",
    )
    p.add_argument(
        "--ray",
        type=ray_address,
        default=None,
        metavar="ADDRESS",
        help="run the jobs as Ray tasks on this cluster ('auto', or host:port); default: a local process pool",
    )
    p.add_argument(
        "--observation",
        choices=OBSERVATIONS,
        default=None,
        help="the learners' image: the full camera image (default) or the env's plate-centred crop (fed at 75x100)",
    )
    p.add_argument("--out", default=None, help="output directory (default runs/bench-paper[-quick])")
    p.add_argument("--readme", default=None, help="also replace the generated results block of this README")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markdown import Markdown

    from rmrl_agents.bench import paper, report

    try:
        cfg = paper.config_for(
            args.quick,
            seeds=args.seeds,
            trials=args.trials,
            workers=args.workers,
            cells=args.cells,
            ablations=args.ablations,
            methods=args.methods,
            observation=args.observation,
        )
    except ValueError as err:
        raise UsageError(_as_options(str(err))) from None
    out = Path(args.out or ("runs/bench-paper-quick" if args.quick else "runs/bench-paper"))
    if args.readme:
        with user_errors(f"--readme {args.readme}", "give the README that holds the generated results block"):
            report.check_readme(Path(args.readme))
    if args.ray:
        check_ray_reachable(args.ray)
    lock = lock_bench_folder(out)  # before anything in --out is touched: a second bench there fails at once
    console = Console()
    console.print(
        f"[bold]rmrl bench paper[/bold]{' --quick' if args.quick else ''}: {len(cfg.all_methods)} methods × {cfg.seeds} seeds × "
        f"{len(cfg.cells)} cells × {cfg.train_trials} trials, source runs {cfg.pretrain_trials} trials, "
        f"{'Ray at ' + args.ray if args.ray else f'{cfg.workers} workers'} → {out} (finished jobs there are kept)"
    )
    with lock:  # held until the bench ends (the OS drops it if the process dies)
        raw = paper.run(cfg, out, show_progress=not args.no_progress, ray_address=args.ray)
        results = report.write(raw, out, readme=Path(args.readme) if args.readme else None)
    console.print(Markdown(report.markdown(results)))
    console.print(
        f"wrote {out / 'results.json'}, {out / 'results.md'}, {out / 'error_curves.png'}, {out / 'reward_curves.png'} "
        f"in {raw['wall_s'] / 60:.1f} min"
    )
    return 0


#: BenchConfig's fields → the options that set them (its errors are shown in the options' words)
_OPTIONS = {"train_trials": "--trials", "seeds": "--seeds", "workers": "--workers", "cells": "--cells", "methods": "--methods"}


def _as_options(message: str) -> str:
    return re.sub(r"\b(" + "|".join(_OPTIONS) + r")\b", lambda m: _OPTIONS[m.group(1)], message)


def parse_cells(text: str | None) -> tuple[int | None, ...] | None:
    """``"default,0,3"`` → ``(None, 0, 3)``; None stays None (the preset's cells)."""
    if text is None:
        return None
    cells: list[int | None] = []
    for part in (p.strip() for p in text.split(",")):
        if part == "default":
            cells.append(None)
        elif part.isdigit() and int(part) < SOURCE_CELL0:
            cells.append(int(part))
        elif part.isdigit():
            raise argparse.ArgumentTypeError(
                f"cell_seed {part} is too large: evaluated cells are 0..{SOURCE_CELL0 - 1} (the benchmark's source runs use those above)"
            )
        else:
            raise argparse.ArgumentTypeError(f"{part!r} is neither 'default' nor a cell_seed (a whole number >= 0)")
    return tuple(cells)


def parse_methods(text: str) -> tuple[str, ...]:
    """``"RMRL,RL100"`` → ``("RMRL", "RL100")``; an unknown name is refused with the known ones."""
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    known = (*METHODS, *PAPER_RECIPES, *ABLATIONS)
    unknown = [m for m in methods if m not in known]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(f"unknown methods {unknown or [text]}; known: {','.join(known)}")
    return methods
