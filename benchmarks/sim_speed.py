"""Wall time of the simulated cell: reset + step, split into physics, rendering and perception.

Usage: ``python benchmarks/sim_speed.py [--trials N] [--task place|shelf]``

Every part is timed in the same run by wrapping the drivers' methods, so the ratios are
measured together. Physics alone, the reference, is every call of the world's ``step``: MuJoCo's
``mj_step`` with the arm held on its trajectory, for every physics step of the trial (the hand's
settling, the arm's moves, the gripper's motions), which is the work a physics-only run of the
same trial would do; the engine's own share (``mj_step`` alone, without the Python that holds
the arm) is printed beside it. Rendering is MuJoCo's colour + depth render; sensor is the lens
distortion and noise applied to the frame; perception is segmentation and localisation;
kinematics is the IK of the arm's trajectory.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

import rmrl_env  # noqa: F401

#: Wall time of reset + step allowed, as a multiple of the physics alone (issue 17).
TARGET_RATIO = 1.5


def _timed(totals: dict[str, float], key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - t0

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--task", choices=["place", "shelf"], default="place")
    args = parser.parse_args()

    env = gym.make("CellPlatePlace-sim-v0" if args.task == "place" else "CellPlateShelf-sim-v0")
    u: Any = env.unwrapped  # the CellPlateEnv
    drivers = u.backend.drivers
    world = drivers.arm.world
    totals: dict[str, float] = defaultdict(float)
    world.step = _timed(totals, "physics", world.step)
    drivers.camera.render_ideal = _timed(totals, "render", drivers.camera.render_ideal)
    drivers.camera.capture = _timed(totals, "capture", drivers.camera.capture)
    drivers.localiser.localise = _timed(totals, "perception", drivers.localiser.localise)
    drivers.arm.kin.solve = _timed(totals, "kinematics", drivers.arm.kin.solve)

    env.reset(seed=0)
    env.step(env.action_space.sample())  # warm-up: renderer context, caches

    def trials() -> list[dict[str, float]]:
        rows = []
        rng = np.random.default_rng(0)
        for k in range(args.trials):
            totals.clear()
            t0 = time.perf_counter()
            env.reset(seed=1000 + k)
            env.step(rng.integers(0, u.action_space.nvec))
            wall = time.perf_counter() - t0
            row = dict(totals)
            row["sensor"] = row.get("capture", 0.0) - row.get("render", 0.0)
            row["total"] = wall
            rows.append(row)
        return rows

    rows = trials()
    # The engine's share, from a second pass over the same trials (the same trajectories) with
    # mj_step timed as well: timing each of its calls costs a little, kept out of the first pass.
    mujoco.mj_step = _timed(totals, "engine", mujoco.mj_step)  # the world calls it through the module
    for row, again in zip(rows, trials(), strict=True):
        row["engine"] = again["engine"] * row["physics"] / again["physics"]

    def med(key: str) -> float:
        return 1000.0 * float(np.median([r.get(key, 0.0) for r in rows]))

    print(
        f"rmrl sim speed: {args.task} task, {args.trials} trials (reset + step), 640x480 RGB-D, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, MUJOCO_GL={os.environ.get('MUJOCO_GL')}"
    )
    print(f"  simulated time per trial: {world.data.time:.2f} s at a {world.timestep * 1000:.0f} ms physics step")
    for key, label in [
        ("total", "reset + step (wall)"),
        ("physics", "physics (world step)"),
        ("engine", "  of which MuJoCo's mj_step"),
        ("kinematics", "arm IK"),
        ("render", "rendering (colour + depth)"),
        ("sensor", "sensor model (distortion, noise)"),
        ("perception", "perception (segment + localise)"),
    ]:
        print(f"  {label:34s} median {med(key):7.1f} ms   {med(key) / med('physics'):5.2f} x physics")
    ratio = med("total") / med("physics")
    print(f"  ratio total / physics alone: {ratio:.2f} ({med('total'):.1f} ms / {med('physics'):.1f} ms, both measured in")
    print("  this run; the ratio stays meaningful on a machine shared with other jobs, the absolute times do not)")
    print(f"  ratio total / mj_step alone: {med('total') / med('engine'):.2f}")
    print("  (the mj_step share is measured in a second pass and scaled to the first pass's physics time)")
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"  target reset + step <= {TARGET_RATIO} x physics alone: {verdict} ({ratio:.2f} x, {med('total'):.1f} ms)")


if __name__ == "__main__":
    main()
