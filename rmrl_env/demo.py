"""A short tour of the simulated cell: a few scenes placed with no adjustment and with the oracle.

Run ``python -m rmrl_env.demo [--scenes N] [--task place|shelf] [--seed S]``. For every scene
the plate is staged, localised, picked at the estimated pose (zero adjustment) and placed;
then the same scene again with the oracle adjustment (:mod:`rmrl_env.sim.oracle`: the grid
action that puts the true grasp centre on the true plate pose, through every error source,
the arm's kinematic error included), the correction a perfect policy would make. The table
shows what the policy has to learn.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

import rmrl_env  # noqa: F401  (registers the env ids)
from rmrl_env.info import privileged
from rmrl_env.sim.oracle import oracle_action


def summary_lines(results: dict[str, list[float]]) -> list[str]:
    """The demo's figures (the README shows them as printed with the defaults; a test compares)."""
    return [f"{name:>6}: mean e_trans {np.nanmean(e):.2f} mm, median {np.nanmedian(e):.2f} mm" for name, e in results.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=5, help="number of scenes (default 5)")
    parser.add_argument("--task", choices=["place", "shelf"], default="place")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.scenes < 1:
        parser.error("--scenes must be >= 1")

    console = Console(width=None if Console().is_terminal else 120)
    env_id = "CellPlatePlace-sim-v0" if args.task == "place" else "CellPlateShelf-sim-v0"
    t0 = time.perf_counter()
    env = gym.make(env_id)
    u: Any = env.unwrapped  # the CellPlateEnv
    console.print(
        f"[bold]{env_id}[/bold]: MuJoCo cell built in {time.perf_counter() - t0:.2f} s; action space {env.action_space}"
    )

    table = Table(title=f"{args.scenes} scenes, zero adjustment vs oracle adjustment")
    for col in (
        "scene",
        "pick error (mm)",
        "policy",
        "adjustment (mm, °)",
        "e_trans (mm)",
        "e_rot (°)",
        "reward",
        "seated",
        "failure",
    ):
        table.add_column(col, justify="right")
    results: dict[str, list[float]] = {"zero": [], "oracle": []}
    steps = []
    for k in range(args.scenes):
        obs, info = env.reset(seed=args.seed + k)
        pick_error_mm = 1000.0 * np.linalg.norm(privileged(info)["true_pose"][:2] - obs["pose"][:2])
        for name in ("zero", "oracle"):
            if name == "oracle":
                obs, info = env.reset(options={"scene": "same"})
                action, _ = oracle_action(env, obs, info)
            else:
                action = u.adjustment_to_action(0.0, 0.0, 0.0)
            adj = u.action_to_adjustment(action)
            t = time.perf_counter()
            _, reward, _, _, step_info = env.step(action)
            steps.append(time.perf_counter() - t)
            results[name].append(step_info["e_trans_mm"])
            table.add_row(
                str(k) if name == "zero" else "",
                f"{pick_error_mm:.1f}" if name == "zero" else "",
                name,
                f"{1000 * adj[0]:+.0f}, {1000 * adj[1]:+.0f}, {math.degrees(adj[2]):+.1f}",
                f"{step_info['e_trans_mm']:.2f}",
                f"{step_info['e_rot_deg']:.2f}",
                f"{reward:.4f}",
                "yes" if step_info["success"] else "no",
                step_info["failure"] or "",
            )
    console.print(table)
    for line in summary_lines(results):
        console.print(line)
    console.print(f"median wall time of one step (pick, place, re-localise): {1000 * float(np.median(steps)):.0f} ms")
    env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
