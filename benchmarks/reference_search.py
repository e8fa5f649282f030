"""What the reference rows that are bounds cost, and what they gain over today's references.

Usage: ``python benchmarks/reference_search.py [--scenes N] [--max-trials T] [--compare-scenes M]
[--cells default,0] [--json PATH]``

For each cell (default: the default cell and cell_seed 0), on the benchmark's first ``N``
evaluation scenes (its EVAL_POSES_SEED poses, reset seeds EVAL_RESET_SEED + i):

* per scene, the geometric oracle's and the reward-optimal oracle's true e_trans
  (:func:`~rmrl_agents.bench.references.reward_optimal_oracle`, at most ``T`` trials), the trials
  spent, the wall time and its ratio to one trial (a reset and a step, timed in the same run);
* on the first ``M`` scenes, the best of EVERY grid action within ±``--compare-radius`` steps of
  the geometric oracle (:func:`~rmrl_agents.bench.references.box_optimum`): what the capped search
  leaves;
* the reward-optimal constant over the benchmark's fit scenes (FIT_RESET_SEED, ``--fit-scenes``)
  against the mean-oracle constant it starts from, both then taken on the ``N`` evaluation scenes.

Measured (defaults, 2026-12-05, 2 cores shared with 3 other jobs, 688 s): the reward-optimal oracle
(wide tiers, ±4 steps, ≤ 40 trials) reaches a mean true e_trans of 0.30 mm on the default cell and
0.32 mm on cell_seed 0, against the geometric oracle's 0.65 and 0.83 mm (all seated), in 38.9 and
39.5 trials per scene (0.30 % of the grid, 5.4 % of the box; 5.7 and 5.6 s per scene, 34 and 31
times one trial). Every action within ±3 steps of the geometric oracle (343 trials) does better
on the 2 scenes checked per cell: 0.18 vs 0.24 mm and 0.22 vs 0.28 mm. The 6 axial steps alone
(``--neighbourhood axial``) stop after 12 trials at 0.35 / 0.36 mm (5 scenes per cell). The
constant by mean reward (≤ 60 candidates x 20 fit scenes) beats the mean-oracle constant in reward
on both cells but not always in truth: on the default cell 1.34 mm on the evaluation scenes against
1.09 mm (mean rewards 0.9875 vs 0.9857 on the fit scenes); on cell_seed 0, 0.71 against 0.86 mm.
By ground truth (``--constant-objective true_e_trans``): 0.86 and 0.66 mm.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.bench import grid_search
from rmrl_agents.bench import references as refs

#: Plain trials timed per cell for the reference time of one trial.
TIMED_TRIALS = 5


def _cells(text: str) -> list[int | None]:
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "default":
            out.append(None)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"cells are 'default' or cell_seeds >= 0, comma-separated; got {part!r}")
    return out


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from rmrl_agents.cli import OneLineErrorParser  # a mistake is one line on stderr, exit code 2

    p = OneLineErrorParser(prog="reference_search.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=_cells, default=[None, 0], help="cells: 'default' and/or cell_seeds (default: default,0)")
    p.add_argument("--scenes", type=_positive, default=10, help="evaluation scenes per cell (default 10)")
    p.add_argument("--max-trials", type=_positive, default=refs.DEFAULT_MAX_TRIALS, help="trial cap per scene")
    p.add_argument("--radius", type=int, default=grid_search.DEFAULT_RADIUS, help="box of ±radius grid steps searched")
    p.add_argument("--neighbourhood", choices=sorted(grid_search.NEIGHBOURHOODS), default=grid_search.DEFAULT_NEIGHBOURHOOD)
    p.add_argument("--compare-scenes", type=int, default=2, help="scenes also searched exhaustively (0: none)")
    p.add_argument("--compare-radius", type=int, default=3, help="the exhaustive box's radius (grid steps)")
    p.add_argument("--fit-scenes", type=int, default=20, help="fit scenes of the constants (0: skip the constants)")
    p.add_argument("--max-candidates", type=_positive, default=refs.DEFAULT_MAX_CANDIDATES, help="constant search cap")
    p.add_argument("--constant-objective", choices=sorted(refs.CONSTANT_OBJECTIVES), default="reward")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = p.parse_args(argv)
    if args.radius < 1 or args.compare_radius < 1:
        p.error("--radius and --compare-radius must be >= 1")
    if args.compare_scenes < 0 or args.compare_scenes > args.scenes:
        p.error(f"--compare-scenes must lie in 0..--scenes ({args.scenes}), got {args.compare_scenes}")
    if args.fit_scenes < 0:
        p.error(f"--fit-scenes must be >= 0, got {args.fit_scenes}")
    if args.json is not None and not args.json.parent.is_dir():
        p.error(f"--json: the folder {args.json.parent} does not exist; create it or choose another path")
    return args


def _eval_scenes(env: Any, n: int) -> list[refs.Scene]:
    from rmrl_agents.bench.config import EVAL_POSES_SEED, EVAL_RESET_SEED
    from rmrl_agents.common.evaluation import fixed_poses, reset_region

    return refs.pose_scenes(fixed_poses(reset_region(env), n, EVAL_POSES_SEED), EVAL_RESET_SEED)


def _trial_seconds(env: Any, scenes: list[refs.Scene]) -> float:
    """Median wall time of one plain trial (the zero action on a re-created scene)."""
    zero = env.unwrapped.grid.zero_action()
    times = []
    for k in range(TIMED_TRIALS):
        t0 = time.perf_counter()
        refs.run_trial(env, scenes[k % len(scenes)], zero)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _describe(env: Any, action: tuple[int, ...]) -> str:
    dx, dy, dpsi = env.unwrapped.grid.to_adjustment(action)
    return f"{list(action)} = ({dx * 1000:+.0f} mm, {dy * 1000:+.0f} mm, {math.degrees(dpsi):+.1f}°)"


def _fmt(t: refs.Trial) -> str:
    return f"{t.true_e_trans_mm:5.2f}{' ' if t.seated else '*'}"


def oracles(env: Any, scenes: list[refs.Scene], args: argparse.Namespace, trial_s: float) -> list[dict[str, Any]]:
    """The per-scene search, printed row by row; the larger-budget search on the first scenes."""
    print(f"{'scene':>5} {'plate':>9} {'geom mm':>8} {'best mm':>8} {'trials':>6} {'conv':>4} {'s':>6} {'xtrial':>6}", end="")
    print(f" {'box mm':>7} {'box trials':>10}" if args.compare_scenes else "")
    rows = []
    for i, scene in enumerate(scenes):
        t0 = time.perf_counter()
        res = refs.reward_optimal_oracle(
            env, scene, max_trials=args.max_trials, radius=args.radius, neighbourhood=args.neighbourhood
        )
        dt = time.perf_counter() - t0
        row: dict[str, Any] = {"scene": i, **res.as_dict(), "seconds": dt, "trials_per_trial_time": dt / trial_s}
        line = (
            f"{i:5d} {res.plate_type or '-':>9} {_fmt(res.geometric):>8} {_fmt(res.best):>8} {res.coverage.evaluated:6d} "
            f"{'yes' if res.converged else 'cap':>4} {dt:6.1f} {dt / trial_s:6.1f}"
        )
        if i < args.compare_scenes:
            box, n = refs.box_optimum(env, scene, res.geometric.action, args.compare_radius)
            row["box_optimum"] = {"best": asdict(box), "trials": n, "radius": args.compare_radius}
            line += f" {_fmt(box):>7} {n:10d}"
        print(line, flush=True)
        rows.append(row)
    return rows


def _summary(rows: list[dict[str, Any]], trial_s: float) -> dict[str, Any]:
    geo = [r["geometric"]["true_e_trans_mm"] for r in rows]
    best = [r["best"]["true_e_trans_mm"] for r in rows]
    out: dict[str, Any] = {
        "geometric_mean_true_e_trans_mm": float(np.mean(geo)),
        "reward_optimal_mean_true_e_trans_mm": float(np.mean(best)),
        "geometric_seated": float(np.mean([r["geometric"]["seated"] for r in rows])),
        "reward_optimal_seated": float(np.mean([r["best"]["seated"] for r in rows])),
        "mean_trials": float(np.mean([r["coverage"]["evaluated"] for r in rows])),
        "mean_share_of_grid": float(np.mean([r["coverage"]["share_of_grid"] for r in rows])),
        "mean_share_of_box": float(np.mean([r["coverage"]["share_of_box"] for r in rows])),
        "converged": float(np.mean([r["converged"] for r in rows])),
        "mean_seconds": float(np.mean([r["seconds"] for r in rows])),
        "trial_seconds": trial_s,
    }
    print(
        f"mean true e_trans: geometric oracle {out['geometric_mean_true_e_trans_mm']:.2f} mm "
        f"(seated {out['geometric_seated']:.0%}), reward-optimal oracle {out['reward_optimal_mean_true_e_trans_mm']:.2f} mm "
        f"(seated {out['reward_optimal_seated']:.0%}); {out['mean_trials']:.1f} trials per scene "
        f"({out['mean_share_of_grid']:.2%} of the grid, {out['mean_share_of_box']:.1%} of the box), "
        f"{out['converged']:.0%} converged before the cap; {out['mean_seconds']:.1f} s per scene = "
        f"{out['mean_seconds'] / trial_s:.1f} x one trial ({trial_s:.3f} s)"
    )
    big = [r for r in rows if "box_optimum" in r]
    if big:
        capped = float(np.mean([r["best"]["true_e_trans_mm"] for r in big]))
        box = float(np.mean([r["box_optimum"]["best"]["true_e_trans_mm"] for r in big]))
        trials = float(np.mean([r["box_optimum"]["trials"] for r in big]))
        out["box_optimum"] = {"scenes": len(big), "capped_mm": capped, "box_mm": box, "box_mean_trials": trials}
        print(
            f"on the first {len(big)} scenes: capped search {capped:.2f} mm, every action within ±"
            f"{big[0]['box_optimum']['radius']} steps of the geometric oracle {box:.2f} mm ({trials:.0f} trials per scene)"
        )
    return out


def constants(env: Any, eval_scenes: list[refs.Scene], args: argparse.Namespace) -> dict[str, Any]:
    """The reward-optimal constant from the mean-oracle constant, on the fit and the evaluation scenes."""
    from rmrl_agents.bench.config import FIT_RESET_SEED
    from rmrl_agents.bench.reference_rows import mean_oracle_constant as best_constant

    grid = env.unwrapped.grid
    start = grid.to_action(*best_constant(env, args.fit_scenes), clip=True)
    fit = [refs.Scene(FIT_RESET_SEED + k) for k in range(args.fit_scenes)]
    t0 = time.perf_counter()
    res = refs.reward_optimal_constant(
        env, fit, start, max_candidates=args.max_candidates, radius=args.radius, objective=args.constant_objective
    )
    dt = time.perf_counter() - t0
    out: dict[str, Any] = {**res.as_dict(), "seconds": dt}
    print(
        f"constant search ({args.constant_objective}): {res.candidates} candidates x {len(fit)} fit scenes = {res.trials} trials, {dt:.0f} s, "
        f"{'converged' if res.converged else 'stopped at the cap'}"
    )
    found = "reward-optimal" if args.constant_objective == "reward" else "truth-optimal"
    for name, score in (("mean-oracle", res.start), (found, res.best)):
        held = [refs.run_trial(env, s, score.action) for s in eval_scenes]
        held_out = {
            "mean_reward": float(np.mean([t.reward for t in held])),
            "mean_true_e_trans_mm": float(np.mean([t.true_e_trans_mm for t in held])),
            "seated": float(np.mean([t.seated for t in held])),
        }
        out[f"{name}_eval"] = held_out
        print(
            f"  {name:>14} constant {_describe(env, score.action)}: fit mean reward {score.mean_reward:.4f}, "
            f"true e_trans {score.mean_true_e_trans_mm:.2f} mm, seated {score.seated:.0%}; on the {len(eval_scenes)} evaluation scenes "
            f"mean reward {held_out['mean_reward']:.4f}, true e_trans {held_out['mean_true_e_trans_mm']:.2f} mm, "
            f"seated {held_out['seated']:.0%}"
        )
    return out


def run_cell(cell: int | None, args: argparse.Namespace) -> dict[str, Any]:
    from rmrl_agents.bench.config import PLACE_ID
    from rmrl_agents.bench.evaluation import cell_kwargs
    from rmrl_agents.common.env_util import make_env

    env = make_env(PLACE_ID, cell_kwargs(cell))
    scenes = _eval_scenes(env, args.scenes)
    trial_s = _trial_seconds(env, scenes)
    print(f"\n== cell {'default' if cell is None else cell}: {len(scenes)} evaluation scenes (* = not seated)")
    rows = oracles(env, scenes, args, trial_s)
    out: dict[str, Any] = {"cell": cell, "scenes": rows, "summary": _summary(rows, trial_s)}
    if args.fit_scenes:
        out["constant"] = constants(env, scenes, args)
    env.close()
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    t0 = time.perf_counter()
    print(
        f"reward-optimal oracle: {args.neighbourhood} neighbourhood, ±{args.radius} steps, at most {args.max_trials} trials "
        f"per scene; exhaustive box: ±{args.compare_radius} steps on {args.compare_scenes} scenes per cell"
    )
    results = [run_cell(cell, args) for cell in args.cells]
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "cells": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
