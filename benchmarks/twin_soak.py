"""An unattended soak of the twin: trials with autonomous resets and a fault about every 20 trials.

Usage: ``python benchmarks/twin_soak.py [--trials 200] [--fault-every 20] [--time-scale 5] [--log soak.jsonl]``

The twin (``CellPlatePlace-twin-v0``) runs the real drivers through the unmodified xArm SDK
against the controller emulator and the MuJoCo cell. Every trial is a seeded random grid
action followed by an autonomous reset; each outcome is appended to a JSON-lines log as it
happens (``--log``). About every ``--fault-every`` trials (jittered by ±5) the next fault of a
fixed rotation is injected:

==================  ==================================================  ==============================
fault               how                                                 what recovers
==================  ==================================================  ==============================
collision C31       latched half-way through the trial's first motion   the routine (recorded failure)
collision C22       the same with a self-collision code                 the routine (recorded failure)
no IK solution      the controller answers "no solution" for one trial  the routine (recorded failure)
camera time-out     no frame for 1.5 s at a reset's first capture       the camera driver's retries
camera unplugged    the D435 leaves the USB bus for 3 s at a capture    the driver waits for it
gripper fault       the BIO gripper latches error 5 before the trial    operator: clear, enable, retry
dropped connection  every SDK connection closed between trials          operator: reconnect, retry
silent reports      the report stream stops between trials              operator: reconnect, retry
plate taken away    the plate is moved out of the camera's view         operator: put it back, reset
==================  ==================================================  ==============================

"Operator" recoveries are what a person (or a supervisor script) does on the named error:
they never touch the trial log. When a reset fails (the plate not seen, or jammed on a rim so
that every grasp collides) the operator puts the plate back in the reset area by hand, and the
soak counts it. A trial is *lost* when a planned trial has no logged outcome
at the end (the target is 0); a step that raised is *interrupted* and is run again after the
recovery. Times are wall-clock at ``--time-scale`` (controller seconds per wall second); the
rate is also given per hour of controller time, i.e. what a real arm at these speeds would do.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np

import rmrl_env  # noqa: F401  (registers the ids)
from rmrl_env.errors import HardwareError, PlateNotFoundError, ResetError, RmrlError
from rmrl_env.protocols import PlanarPose

logger = logging.getLogger("twin_soak")

FAULTS = (
    "collision C31",
    "collision C22",
    "no IK solution",
    "camera time-out",
    "camera unplugged",
    "gripper fault",
    "dropped connection",
    "silent reports",
    "plate taken away",
)


class Soak:
    """The soak's state: the env, the twin, the counters and the trial log."""

    def __init__(self, env: gym.Env, log: Path, seed: int) -> None:
        self.env = env
        self.u: Any = cast(Any, env.unwrapped)  # a CellPlateEnv
        self.twin: Any = self.u.backend.handles["twin"]
        self.log = log
        self.rng = np.random.default_rng(seed)
        self.env.action_space.seed(seed)
        self.counts: Counter[str] = Counter()
        self.faults_met: Counter[str] = Counter()
        self.recovered: Counter[str] = Counter()
        self.pending: str | None = None  # the fault injected and not yet seen through

    # -- faults -------------------------------------------------------------------------------
    def inject(self, fault: str) -> None:
        emu, physics = self.twin.emulator, self.twin.physics
        self.counts["faults injected"] += 1
        self.pending = fault
        if fault == "collision C31":
            emu.error_mid_motion(31, fraction=0.5)
        elif fault == "collision C22":
            emu.error_mid_motion(22, fraction=0.5)
        elif fault == "no IK solution":
            emu.fail_ik(True)
        elif fault in ("camera time-out", "camera unplugged"):
            hold_s = 1.5 if fault == "camera time-out" else 3.0
            if fault == "camera time-out":
                physics.device.pause()
                _later(hold_s, physics.device.resume)
            else:
                physics.device.unplug(hold_s)
            t0 = time.monotonic()
            self.reset()  # an autonomous reset starts with a capture: it meets the fault at once
            if time.monotonic() - t0 >= hold_s:
                self.fault_seen("camera driver")
        elif fault == "gripper fault":
            emu.gripper_fault(5)
        elif fault == "dropped connection":
            emu.drop_connections()
        elif fault == "silent reports":
            emu.silence_reports(True)
            time.sleep(2.5)  # silent for longer than the driver's limit before the next command
        elif fault == "plate taken away":
            self.twin.put_plate(PlanarPose(1.5, 1.5, 0.0))
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def fault_seen(self, how: str) -> None:
        """The pending fault was met and handled by ``how``."""
        if self.pending is not None:
            self.faults_met[self.pending] += 1
            self.recovered[f"{self.pending} ({how})"] += 1
            if self.pending == "no IK solution":
                self.twin.emulator.fail_ik(False)
            self.pending = None

    # -- operator -----------------------------------------------------------------------------
    def operator(self, err: BaseException) -> None:
        """What a person does on a named error: fix the cause, reconnect, put the plate back."""
        emu, drivers = self.twin.emulator, self.u.backend.drivers
        text = str(err)
        logger.warning("operator: %s: %s", type(err).__name__, text.splitlines()[0][:200])
        if isinstance(err, (PlateNotFoundError, ResetError)):
            # The reset could not pick the plate up (not seen, or jammed on a rim so that every grasp
            # collides): as the error says, a person puts it back in the reset area.
            region = self.u.backend.layout.reset_region
            pose = PlanarPose(*(float(self.rng.uniform(*r)) for r in (region.x_m, region.y_m, region.yaw_rad)))
            self.twin.put_plate(pose)
            self.counts["plates put back by hand"] += 1
            return
        emu.silence_reports(False)
        if "BIO gripper reports an error" in text:
            drivers.gripper.clear_fault()
        else:
            drivers.arm.reconnect()
            drivers.gripper.enable()
        drivers.arm.recover()
        drivers.gripper.open()
        drivers.arm.go_home()

    def run_step(self, trial: int) -> dict[str, Any]:
        """One trial, retried after operator recovery until it yields an outcome."""
        for attempt in range(5):
            action = self.env.action_space.sample()
            try:
                _, reward, _, _, info = self.env.step(action)
            except (RmrlError, HardwareError) as err:
                self.counts["steps interrupted"] += 1
                self.operator(err)
                self.fault_seen("operator")
                self.reset()
                continue
            failure = info["failure"]
            if failure is not None and self.pending in ("collision C31", "collision C22", "no IK solution"):
                self.fault_seen("routine")
            return {
                "trial": trial,
                "attempt": attempt + 1,
                "reward": float(reward),
                "failure": None if failure is None else str(failure),
                "e_trans_mm": float(info["e_trans_mm"]),
                "true_e_trans_mm": float(info["privileged"].get("true_e_trans_mm", float("nan"))),
            }
        raise RuntimeError(f"trial {trial} could not be completed in 5 attempts")

    def reset(self) -> None:
        """An autonomous reset, with operator recovery until it succeeds."""
        for _ in range(5):
            try:
                self.env.reset()
                return
            except (RmrlError, HardwareError) as err:
                self.counts["resets interrupted"] += 1
                self.operator(err)
                self.fault_seen("operator")
        raise RuntimeError("the cell could not be reset in 5 attempts")

    def append(self, record: dict[str, Any]) -> None:
        with self.log.open("a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()


def _later(delay_s: float, action: Callable[[], None]) -> None:
    """Run ``action`` on a thread ``delay_s`` wall seconds from now."""

    def run() -> None:
        time.sleep(delay_s)
        action()

    threading.Thread(target=run, daemon=True).start()


def run_soak(
    trials: int, fault_every: int, time_scale: float, seed: int, log: Path, faults: tuple[str, ...] = FAULTS
) -> dict[str, Any]:
    """Run the soak; return its figures (see :func:`report`). ``log`` is started afresh."""
    if log.exists():
        log.unlink()
    t_make = time.monotonic()
    env = gym.make("CellPlatePlace-twin-v0", time_scale=time_scale)
    soak = Soak(env, log, seed)
    made_s = time.monotonic() - t_make
    sim0 = float(soak.twin.physics.world.data.time)
    t0 = time.monotonic()
    jitter = min(5, fault_every // 4)
    next_fault = int(soak.rng.integers(fault_every - jitter, fault_every + jitter + 1))
    fault_index = 0
    try:
        soak.reset()
        for trial in range(trials):
            if trial == next_fault:
                soak.inject(faults[fault_index % len(faults)])
                fault_index += 1
                next_fault += int(soak.rng.integers(fault_every - jitter, fault_every + jitter + 1))
            soak.append(soak.run_step(trial))
            soak.counts["trials completed"] += 1
            soak.reset()
            if (trial + 1) % 20 == 0:
                print(f"  {trial + 1} trials, {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        wall_s = time.monotonic() - t0
        sim_s = float(soak.twin.physics.world.data.time) - sim0
        env.close()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    logged = {r["trial"] for r in records}
    return {
        "trials": trials,
        "records": records,
        "lost": [t for t in range(trials) if t not in logged],
        "counts": dict(soak.counts),
        "faults_met": dict(soak.faults_met),
        "recovered": dict(soak.recovered),
        "made_s": made_s,
        "wall_s": wall_s,
        "sim_s": sim_s,
    }


def report(res: dict[str, Any], fault_every: int, time_scale: float) -> None:
    """Print the soak's figures."""
    records, counts = res["records"], res["counts"]
    failures = Counter(r["failure"] or "none" for r in records)
    true_err = np.array([r["true_e_trans_mm"] for r in records if r["failure"] is None])
    wall_s, sim_s, lost = res["wall_s"], res["sim_s"], res["lost"]
    print(f"\nTwin soak: {res['trials']} trials, a fault about every {fault_every}, time scale {time_scale:g}")
    print(f"  machine: {platform.processor() or platform.machine()}, env built in {res['made_s']:.1f} s")
    print(f"  trials completed:   {counts.get('trials completed', 0)} / {res['trials']} (logged: {len(records)})")
    print(f"  trials lost:        {len(lost)}{' ' + str(lost) if lost else ''}")
    print(f"  faults injected:    {counts.get('faults injected', 0)}, met: {sum(res['faults_met'].values())}, "
          f"recovered: {sum(res['recovered'].values())}")  # fmt: skip
    for key, n in sorted(res["recovered"].items()):
        print(f"    {key}: {n}")
    print(f"  steps interrupted by an error (retried): {counts.get('steps interrupted', 0)}, "
          f"resets interrupted: {counts.get('resets interrupted', 0)}")  # fmt: skip
    print(f"  plates put back by hand after a failed reset: {counts.get('plates put back by hand', 0)}")
    print(f"  trial outcomes:     {dict(failures)}")
    if true_err.size:
        print(f"  true e_trans of finished trials: median {np.median(true_err):.2f} mm (random grid actions)")
    print(f"  wall time:          {wall_s / 60:.1f} min; controller time {sim_s / 60:.1f} min "
          f"(ratio {sim_s / wall_s:.2f} of the requested {time_scale:g})")  # fmt: skip
    print(f"  trials per hour:    {3600 * len(records) / wall_s:.0f} wall-clock at this scale, "
          f"{3600 * len(records) / sim_s:.0f} per hour of controller time (a real arm at these speeds)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--fault-every", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", type=Path, default=Path("twin_soak.jsonl"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.WARNING)
    res = run_soak(args.trials, args.fault_every, args.time_scale, args.seed, args.log)
    report(res, args.fault_every, args.time_scale)


if __name__ == "__main__":
    main()
