"""Wall time of the simulated cell: reset + step, split into physics, rendering and perception.

Usage: ``python benchmarks/sim_speed.py [--trials N] [--task place|shelf]``

Every trial runs four times in a row, from the same seed with the same action (the same work:
a trial is fully determined by them): once untouched, for the wall time of reset + step; once
with the drivers' methods wrapped in timers, for the parts; once with MuJoCo's ``mj_step`` timed
as well, for the engine's share; once with the world's step timed on the process's CPU clock, for
the same ratio in CPU time, which a machine shared with other jobs hardly changes. The timers thus add nothing to the wall time, and every figure
comes from the same run, so the ratios are measured together. Physics alone, the reference, is every call of the world's ``step``: MuJoCo's
``mj_step`` with the arm held on its trajectory, for every physics step of the trial (the hand's
settling, the arm's moves, the gripper's motions), which is the work a physics-only run of the
same trial would do; the engine's own share (``mj_step`` alone, without the Python that holds
the arm) is printed beside it. Rendering is MuJoCo's colour + depth render; sensor is the lens
distortion and noise applied to the frame; perception is segmentation and localisation;
kinematics is the IK of the arm's trajectory; the collision check reads the robot's contact forces at
every control tick; the rest is the wall time that none of these covers.
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

#: Wall time of reset + step we aim for, as a multiple of the physics alone.
TARGET_RATIO = 1.5
#: The timed parts that do not overlap (capture holds the render); the rest of the wall time is the
#: routine's and the drivers' own Python (waypoints, trajectory ticks, the substep and settling
#: loops around the physics), the hand's staging and the env's observation and info.
ITEMISED = ("physics", "kinematics", "capture", "perception", "contacts")


def _timed(
    totals: dict[str, float], key: str, fn: Callable[..., Any], clock: Callable[[], float] = time.perf_counter
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += clock() - t0
            totals["calls:" + key] += 1

    return wrapper


def _clock_cost(clock: Callable[[], float], calls: int = 20000) -> float:
    """What one timed call of a function that does nothing adds to a total read on ``clock``."""
    totals: dict[str, float] = defaultdict(float)
    nothing = _timed(totals, "nothing", lambda: None, clock)
    for _ in range(calls):
        nothing()
    return totals["nothing"] / calls


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
    parts = [
        (world, "step", "physics"),
        (drivers.camera, "render_buffers", "render"),
        (drivers.camera, "capture", "capture"),
        (drivers.localiser, "localise", "perception"),
        (drivers.arm.kin, "solve", "kinematics"),
        (world, "robot_contact_force", "contacts"),
    ]
    mj_step = mujoco.mj_step

    def timers(on: bool, engine: bool = False) -> None:
        """Wrap the parts' methods in timers (instance attributes over the class's) or take them off."""
        for obj, name, key in parts:
            if on:
                setattr(obj, name, _timed(totals, key, getattr(type(obj), name).__get__(obj)))
            else:
                vars(obj).pop(name, None)
        # The world calls mj_step through the module.
        mujoco.mj_step = _timed(totals, "engine", mj_step) if engine else mj_step

    def trial(k: int, action: np.ndarray) -> dict[str, float]:
        totals.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        env.reset(seed=1000 + k)
        env.step(action)
        return {**totals, "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}

    env.reset(seed=0)
    env.step(env.action_space.sample())  # warm-up: renderer context, caches
    rng = np.random.default_rng(0)
    cpu_clock_cost = _clock_cost(time.process_time)
    rows: list[dict[str, float]] = []
    for k in range(args.trials):
        action = rng.integers(0, u.action_space.nvec)
        timers(False)
        plain = trial(k, action)
        timers(True)
        row = trial(k, action)
        timers(True, engine=True)
        again = trial(k, action)
        row["total"] = plain["wall"]
        row["sensor"] = row.get("capture", 0.0) - row.get("render", 0.0)
        row["engine"] = again["engine"] * row["physics"] / again["physics"]
        # CPU time, which other jobs on the machine hardly change: the untimed run's, and the physics'
        # in a run that times the world's step alone on the process clock, less that clock's own cost.
        timers(False)
        world.step = _timed(totals, "physics", type(world).step.__get__(world), time.process_time)
        cpu = trial(k, action)
        vars(world).pop("step")
        row["cpu_total"] = plain["cpu"]
        row["cpu_physics"] = cpu["physics"] - cpu["calls:physics"] * cpu_clock_cost
        # What no part covers: the routine, the drivers' per-tick Python outside the parts, staging, the env.
        # The untimed run's wall time less the parts: the timed run's own wall time would also hold the
        # timers' call overhead (about 1,700 wrapped calls a trial), which no untimed trial has.
        row["rest"] = row["total"] - sum(row.get(key, 0.0) for key in ITEMISED)
        rows.append(row)
    timers(False)

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
        ("contacts", "collision check (per control tick)"),
        ("rest", "the rest (routine, drivers, env)"),
    ]:
        print(f"  {label:34s} median {med(key):7.1f} ms   {med(key) / med('physics'):5.2f} x physics")
    ratio = med("total") / med("physics")
    print(f"  ratio total / physics alone: {ratio:.2f} ({med('total'):.1f} ms / {med('physics'):.1f} ms, both measured in")
    print("  this run; the ratio stays meaningful on a machine shared with other jobs, the absolute times do not)")
    print(f"  ratio total / mj_step alone: {med('total') / med('engine'):.2f}")
    print(
        f"  in CPU time (hardly changed by other jobs; the renderer's and OpenCV's worker threads count too): "
        f"{med('cpu_total'):.1f} ms / {med('cpu_physics'):.1f} ms = {med('cpu_total') / med('cpu_physics'):.2f}"
    )
    print("  (reset + step from untimed runs; each part, and mj_step's share, from timed runs of the same trials)")
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"  target reset + step <= {TARGET_RATIO} x physics alone: {verdict} ({ratio:.2f} x, {med('total'):.1f} ms)")


if __name__ == "__main__":
    main()
