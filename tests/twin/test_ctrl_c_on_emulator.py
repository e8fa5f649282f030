"""Ctrl-C at random times while the real drivers talk to the unmodified SDK and the emulator.

The SDK's reply reader swallows KeyboardInterrupt in a bare ``except``; the drivers must stop
the arm from another thread and raise the interrupt anyway, whatever SDK call the main thread
is in (motions, queries, gripper calls). Each round runs one kind of work in a loop, so the
interrupt always lands inside it, then checks that the interrupt reached the caller and that the
arm stood still within :data:`STILL_WITHIN_S` of the signal.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable

import pytest

from rmrl_env.protocols import ToolPose
from rmrl_env.real.bio_gripper import BioGripper

from .conftest import wait_for
from .firmwares import firmware  # noqa: F401  (each test runs on every firmware)
from .test_real_driver_on_emulator import make_arm

pytestmark = [pytest.mark.real, pytest.mark.slow]


ROUNDS = 56
#: The arm must be still (no motion queued or running, zero speed) this soon after the SIGINT, s.
STILL_WITHIN_S = 0.5
#: A round whose work goes on this long after its SIGINT counts the interrupt as swallowed, s.
SWALLOWED_AFTER_S = 3.0

A = ToolPose(0.35, -0.08, 0.15, 0.0)
B = ToolPose(0.42, 0.08, 0.12, 0.3)


def _linear(arm, gripper) -> None:
    arm.move_to(B if arm.tool_pose().y_m < 0 else A, 0.2)


def _joint(arm, gripper) -> None:
    arm.move_to(B if arm.tool_pose().y_m < 0 else A, 0.2, linear=False)


def _queries(arm, gripper) -> None:
    arm.tool_pose()
    arm.check_reachable([A, B])
    arm.tcp_pose_mm_deg()


def _gripper(arm, gripper) -> None:
    gripper.close()
    gripper.opening_m()
    gripper.open()


WORK: dict[str, Callable] = {"linear move": _linear, "joint move": _joint, "queries": _queries, "gripper": _gripper}


def _interrupt(sent: list[float]) -> None:
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)


def _still(emulator) -> bool:
    ctl = emulator.controller
    with ctl.lock:
        return ctl.state != 1 and ctl.current is None and ctl.stopping is None and not ctl.queue and ctl.tcp_speed_mm_s == 0.0


def test_every_ctrl_c_reaches_the_caller_and_stops_the_arm(emulator_factory):
    emu = emulator_factory(gripper_model="bio_g2", object_width_mm=None, lifetime_s=240.0)
    emu.reply_delay_s = 0.002  # a controller on a LAN answers in milliseconds, not microseconds
    arm = make_arm(emu)
    rng = random.Random(23)
    swallowed: list[str] = []
    still_after_s: list[float] = []
    try:
        gripper = BioGripper(arm, model="bio_g2", timeout_s=5.0)
        for n in range(ROUNDS):
            kind = list(WORK)[n % len(WORK)]
            sent: list[float] = []
            timer = threading.Timer(rng.uniform(0.02, 0.6), _interrupt, (sent,))
            start = time.monotonic()
            timer.start()
            try:
                while time.monotonic() - start < 0.6 + SWALLOWED_AFTER_S:
                    WORK[kind](arm, gripper)
                swallowed.append(kind)
            except KeyboardInterrupt:
                pass
            finally:
                timer.join()
            wait_for(lambda: _still(emu), 5.0, f"the arm to stand still after Ctrl-C during {kind}")
            still_after_s.append(time.monotonic() - sent[0])
            arm.recover()
    finally:
        arm.close()
    worst = max(still_after_s)
    print(f"{ROUNDS} SIGINTs: {len(swallowed)} swallowed, arm still after at most {worst:.3f} s")
    assert swallowed == [], f"Ctrl-C was swallowed during {swallowed}"
    assert worst <= STILL_WITHIN_S, f"the arm stood still only {worst:.3f} s after Ctrl-C"
