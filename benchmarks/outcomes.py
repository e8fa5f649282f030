"""Are trials scored for what happened? Random grid actions, each outcome against the sim's truth.

Usage: ``python benchmarks/outcomes.py [--trials N] [--workers W] [--cell-seed K] [--json PATH]``

For each task (box and shelf) ``N`` trials (default 400) with uniformly random grid actions from
new scenes. For every trial the routine's ``failure`` is set beside the truth the sim knows at
the end of the trial:

* **flat**: the plate lies flat (true tilt ≤ 1°) with its centre at a flat plate's height over
  the table, the box floor or the shelf floor (within 2 mm);
* **upside down**: the same, turned over (tilt ≥ 179°): no camera looking down at a plain box
  can tell it from a flat plate;
* **not flat**: anything else: leaning, on a rim, standing on an end.

Printed per task: the failure counts; the plates ending tilted more than 30° (the grasp's
fidelity: the target is ≤ 0.5 %); and the confusion counts of the routine's judgement ("ran to
its end" = failure ``None``, ``not_flat``, any other failure) against that truth.
Worker processes are spawned (a MuJoCo GL context does not survive fork).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import time
from collections import Counter
from typing import Any

import numpy as np

TASKS = ("place", "shelf")


def _truth(tilt_deg: float, centre_z_m: float, plate_height_m: float, surfaces_z_m: list[float]) -> str:
    """What the plate truly does at the end of a trial (see the module docstring)."""
    on_surface = min(abs(centre_z_m - s - plate_height_m / 2.0) for s in surfaces_z_m) <= 0.002
    if on_surface and tilt_deg <= 1.0:
        return "flat"
    if on_surface and tilt_deg >= 179.0:
        return "upside down"
    return "not flat"


def _run(job: tuple[str, int, int, int | None]) -> list[dict[str, Any]]:
    task, seed, n, cell_seed = job
    import gymnasium as gym

    import rmrl_env  # noqa: F401

    env_id = "CellPlatePlace-sim-v0" if task == "place" else "CellPlateShelf-sim-v0"
    env = gym.make(env_id, cell_seed=cell_seed) if cell_seed is not None else gym.make(env_id)
    u: Any = env.unwrapped
    world = u.backend.ground_truth.world
    surfaces = u.backend.layout.surfaces_z_m()
    rng = np.random.default_rng(seed)
    rows = []
    env.reset(seed=seed)
    for _ in range(n):
        action = np.array([rng.integers(k) for k in u.action_space.nvec])
        _, reward, _, _, info = env.step(action)
        p = info["privileged"]
        tilt = float(p["true_tilt_deg"])
        rows.append(
            {
                "task": task,
                "failure": str(info["failure"]) if info["failure"] is not None else "none",
                "reward": float(reward),
                "true_tilt_deg": tilt,
                "true_e_trans_mm": float(p["true_e_trans_mm"]),
                "truth": _truth(tilt, world.plate_height_z(), world.plate_type.height_m, surfaces),
                "plate_type": p["plate_type"],
                "success": bool(info["success"]),
            }
        )
        env.reset()
    env.close()
    return rows


def _judged(failure: str) -> str:
    return "ran to its end" if failure == "none" else "not_flat" if failure == "not_flat" else "other failure"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400, help="trials per task (default 400)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cell-seed", type=int, default=None, help="a drawn cell (default: the default cell)")
    parser.add_argument("--json", default=None, help="write every trial's row here")
    args = parser.parse_args()
    if args.trials < 2:
        parser.error("--trials must be >= 2")
    half = args.trials // 2
    jobs = [(task, seed, n, args.cell_seed) for task in TASKS for seed, n in ((1, half), (2, args.trials - half))]
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        rows = [row for part in pool.map(_run, jobs) for row in part]
    print(f"{len(rows)} trials in {time.perf_counter() - start:.0f} s ({args.workers} workers)")
    for task in TASKS:
        mine = [r for r in rows if r["task"] == task]
        tilted = sum(r["true_tilt_deg"] > 30.0 for r in mine)
        print(f"\n{task}: {len(mine)} trials, random grid actions")
        print("  failures: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["failure"] for r in mine).items())))
        print(f"  plates tilted > 30° at the end: {tilted} ({100.0 * tilted / len(mine):.2f} %)")
        print(
            f"  rewarded (failure none) with the plate not flat: {sum(r['failure'] == 'none' and r['truth'] != 'flat' for r in mine)}"
        )
        confusion = Counter((r["truth"], _judged(r["failure"])) for r in mine)
        cols = ("ran to its end", "not_flat", "other failure")
        print(f"  {'truth / judged':<16}" + "".join(f"{c:>16}" for c in cols))
        for truth in ("flat", "not flat", "upside down"):
            print(f"  {truth:<16}" + "".join(f"{confusion[truth, c]:>16}" for c in cols))
        rewards = np.array([r["reward"] for r in mine])
        print(
            f"  mean reward {rewards.mean():.3f}; seated {sum(r['success'] for r in mine)}; max true tilt {max(r['true_tilt_deg'] for r in mine):.1f}°"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh)
    assert all(math.isfinite(r["reward"]) for r in rows)


if __name__ == "__main__":
    main()
