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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

AGENTS = {
    "reinforce": ("rmrl_agents.reinforce", "REINFORCE"),
    "replay": ("rmrl_agents.replay_reinforce", "ReplayREINFORCE"),
    "rmrl": ("rmrl_agents.rmrl", "RMRL"),
}
METRICS = ("reward", "e_trans_mm", "e_rot_deg", "success")


def fixed_poses(region: Any, n: int, seed: int) -> list[list[float]]:
    """``n`` initial poses ``[x_m, y_m, yaw_rad]`` drawn uniformly in the region, reproducibly."""
    rng = np.random.default_rng(seed)
    return [
        [float(rng.uniform(*region.x_m)), float(rng.uniform(*region.y_m)), float(rng.uniform(*region.yaw_rad))] for _ in range(n)
    ]


def load_policy(spec: str, env: Any) -> Callable[[dict], np.ndarray]:
    """A deterministic policy: observation → grid action."""
    if spec == "zero":
        zero = env.unwrapped.grid.zero_action()
        return lambda obs: zero
    algo, _, path = spec.partition(":")
    if algo not in AGENTS or not path:
        raise SystemExit(f"--policy must be 'zero' or ALGO:PATH with ALGO in {sorted(AGENTS)}, got {spec!r}")
    import importlib

    module, cls = AGENTS[algo]
    model = getattr(importlib.import_module(module), cls).load(path, env=None)
    return lambda obs: np.asarray(model.predict(obs, deterministic=True)[0])


def make_env(backend: str, task: str, config: str | None, overrides: dict[str, Any]) -> Any:
    if backend == "sim":
        from rmrl_env.make import make_sim_env

        return make_sim_env(task)
    from rmrl_env.make import make_real_env

    return make_real_env(task, config=config, **overrides)


def evaluate(
    env: Any, policy: Callable[[dict], np.ndarray], poses: Sequence[Sequence[float]], seed: int
) -> list[dict[str, float]]:
    """One deterministic trial per initial pose; returns the per-trial metrics."""
    rows = []
    for k, pose in enumerate(poses):
        obs, _ = env.reset(seed=seed + k, options={"initial_pose": list(pose)})
        _, reward, _, _, info = env.step(policy(obs))
        rows.append({
            "trial": k, "x_m": pose[0], "y_m": pose[1], "yaw_deg": math.degrees(pose[2]),
            "reward": float(reward), "e_trans_mm": float(info["e_trans_mm"]), "e_rot_deg": float(info["e_rot_deg"]),
            "success": float(bool(info["success"])), "failure": info.get("failure") or "",
        })  # fmt: skip
    return rows


def summarise(rows: Sequence[dict[str, float]]) -> dict[str, tuple[float, float]]:
    out = {}
    for m in METRICS:
        vals = np.array([r[m] for r in rows], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[m] = (float(vals.mean()), float(vals.std())) if vals.size else (math.nan, math.nan)
    return out


def markdown_table(results: dict[tuple[str, str], list[dict[str, float]]], policy: str) -> str:
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
    if args.config:
        from rmrl_env.real.config import load_config

        region = load_config(args.config).reset.region
    else:
        from rmrl_env.sim.world import DEFAULT_RESET_REGION as region  # type: ignore[assignment]
    poses = fixed_poses(region, args.poses, args.seed)

    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for backend in args.backend:
        for task in args.task:
            env = make_env(backend, task, args.config, overrides)
            try:
                results[(backend, task)] = evaluate(env, load_policy(args.policy, env), poses, args.seed)
            finally:
                env.close()
            print(f"{backend}/{task}: done {len(poses)} trials", file=sys.stderr)

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
