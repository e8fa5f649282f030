"""Sim-to-real evaluation: the same protocol on the MuJoCo twin and on the real cell.

Protocol (paper §4, Table 2-3): a fixed list of initial plate poses (drawn once from a seed in
the reset area), one deterministic trial per pose (``predict(obs, deterministic=True)``), on
each backend and task asked for. Writes a Markdown comparison table of reward, e_trans (mm),
e_rot (deg) and task success (mean ± std over the poses), and a CSV of every trial.

Examples::

    # the no-adjustment baseline on the twin only
    python benchmarks/sim_to_real.py --backend sim --poses 10 --out results/s2r

    # a trained agent on both backends, both tasks
    python benchmarks/sim_to_real.py --backend sim real --config real_cell.toml \\
        --task place shelf --policy rmrl:runs/rmrl/model.zip --out results/s2r

``--policy`` is ``zero`` (always the zero adjustment) or ``ALGO:PATH`` with ALGO one of
``reinforce``, ``replay``, ``rmrl`` (an ``rmrl_agents`` checkpoint loaded with ``ALGO.load``).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.algorithms import ALGORITHMS
from rmrl_agents.common.evaluation import PolicyLike, evaluate_policy, fixed_poses, reset_region

METRICS = ("reward", "e_trans_mm", "e_rot_deg", "success")


def load_policy(spec: str, env: Any) -> PolicyLike:
    """A policy for :func:`evaluate`: ``"zero"`` (None: the zero adjustment) or ``ALGO:PATH``, a saved model."""
    if spec == "zero":
        return None
    algo, _, path = spec.partition(":")
    if algo not in ALGORITHMS or not path:
        raise SystemExit(f"--policy must be 'zero' or ALGO:PATH with ALGO in {sorted(ALGORITHMS)}, got {spec!r}")
    return ALGORITHMS[algo].load(path, env=None)


def make_env(backend: str, task: str, config: str | None, overrides: dict[str, Any]) -> Any:
    if backend == "sim":
        from rmrl_env.make import make_sim_env

        return make_sim_env(task)
    from rmrl_env.make import make_real_env

    return make_real_env(task, config=config, **overrides)


def evaluate(env: Any, policy: PolicyLike, poses: np.ndarray | Sequence[Sequence[float]], seed: int) -> list[dict[str, Any]]:
    """One deterministic trial per initial pose (pose k resets with seed ``seed + k``); the per-trial rows."""
    result = evaluate_policy(policy, env, poses=poses, seed=seed)
    rows = []
    for k, episode in enumerate(result.episodes):
        x_m, y_m, yaw_rad = episode.initial_pose or (math.nan, math.nan, math.nan)
        rows.append({
            "trial": k, "x_m": x_m, "y_m": y_m, "yaw_deg": math.degrees(yaw_rad),
            "reward": episode.reward, "e_trans_mm": episode.e_trans_mm, "e_rot_deg": episode.e_rot_deg,
            "success": float(episode.success), "failure": episode.failure or "",
        })  # fmt: skip
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    out = {}
    for m in METRICS:
        vals = np.array([r[m] for r in rows], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[m] = (float(vals.mean()), float(vals.std())) if vals.size else (math.nan, math.nan)
    return out


def markdown_table(results: dict[tuple[str, str], list[dict[str, Any]]], policy: str) -> str:
    lines = [
        f"Sim-to-real evaluation, policy `{policy}` (mean ± std over the fixed initial poses)",
        "",
        "| backend | task | trials | reward | e_trans (mm) | e_rot (deg) | success (%) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (backend, task), rows in results.items():
        s = summarise(rows)
        lines.append(
            f"| {backend} | {task} | {len(rows)} | {s['reward'][0]:.3f} ± {s['reward'][1]:.3f} | {s['e_trans_mm'][0]:.2f} ± {s['e_trans_mm'][1]:.2f} "
            f"| {s['e_rot_deg'][0]:.2f} ± {s['e_rot_deg'][1]:.2f} | {100 * s['success'][0]:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", nargs="+", choices=("sim", "real"), default=["sim"])
    parser.add_argument("--task", nargs="+", choices=("place", "shelf"), default=["place"])
    parser.add_argument("--config", help="real-cell TOML (needed for --backend real; its reset area is used for the poses)")
    parser.add_argument("--robot-ip", help="override robot.ip of the config")
    parser.add_argument("--policy", default="zero")
    parser.add_argument("--poses", type=int, default=10, help="number of fixed initial poses")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/sim_to_real", help="output prefix (.md and .csv are added)")
    args = parser.parse_args(argv)
    if "real" in args.backend and not args.config:
        parser.error("--backend real needs --config")

    overrides = {"robot_ip": args.robot_ip} if args.robot_ip else {}
    pairs = [(backend, task) for backend in args.backend for task in args.task]
    # the poses come from the reset region of the most constrained cell: the real one if asked for
    first = next((pair for pair in pairs if pair[0] == "real"), pairs[0])
    poses: np.ndarray | None = None
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for backend, task in [first, *(pair for pair in pairs if pair != first)]:
        env = make_env(backend, task, args.config, overrides)
        try:
            if poses is None:
                poses = fixed_poses(reset_region(env), args.poses, args.seed)
            results[(backend, task)] = evaluate(env, load_policy(args.policy, env), poses, args.seed)
        finally:
            env.close()
        print(f"{backend}/{task}: done {len(results[(backend, task)])} trials", file=sys.stderr)
    results = {pair: results[pair] for pair in pairs}

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = markdown_table(results, args.policy)
    out.with_suffix(".md").write_text(table)
    with out.with_suffix(".csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["backend", "task", "trial", "x_m", "y_m", "yaw_deg", *METRICS, "failure"])
        writer.writeheader()
        for (backend, task), rows in results.items():
            for row in rows:
                writer.writerow({"backend": backend, "task": task, **row})
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
