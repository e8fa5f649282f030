"""Where the twin used to be easier than a real cell: stops brake instead of freezing, the
orientation moves at the SDK's default rotation acceleration, an old firmware makes the SDK poll
and send the legacy line move, and the driver uses only the SDK's public API."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from rmrl_env.protocols import ToolPose
from rmrl_env.real.bio_gripper import BioGripper
from rmrl_env.twin.xarm_emulator import NEWEST_FIRMWARE, OLD_FIRMWARE, Trapezoid
from rmrl_env.twin.xarm_emulator.controller import ROT_ACC_RAD_S2, ROT_SPEED_RAD_S, STOP_TOOL_DECEL_MM_S2

from .conftest import make_ready, wait_for
from .test_real_driver_on_emulator import BOX, HOME, LIMITS, TCP_OFFSET_M

pytestmark = pytest.mark.real

GET_STATE, MOTION_FEEDBACK_REGISTERS = 13, (253, 254)


def test_a_stop_brakes_along_the_path_instead_of_freezing(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    _code, start = api.get_position()
    speed = 200.0
    assert api.set_position(start[0] + 200.0, start[1], start[2], 180.0, 0.0, 0.0, speed=speed, mvacc=2000) == 0
    wait_for(lambda: emulator.controller.tcp_speed_mm_s > 0.95 * speed, 3.0, "the arm to cruise")
    t_stop = time.monotonic()
    assert api.set_state(4) == 0
    ctl = emulator.controller
    assert ctl.state == 4, "the controller reports the stop at once"
    assert ctl.stopping is not None, "the arm is still braking"
    at_stop = ctl.kin.forward(ctl.stopping.trajectory.joints_rad[0])
    stop_s = ctl.stopping.trajectory.duration_s
    wait_for(lambda: emulator.controller.stopping is None, 2.0, "the arm to come to rest")
    took_s = time.monotonic() - t_stop
    rest = emulator.controller.tcp_pose()
    braking_mm = rest[0] - at_stop[0]
    print(f"stop at {speed:.0f} mm/s: braked {braking_mm:.2f} mm in {stop_s:.3f} s (at rest {took_s:.3f} s after the command)")
    assert stop_s >= speed / STOP_TOOL_DECEL_MM_S2 - 1e-3, "no faster than the tool's stop deceleration"
    assert braking_mm == pytest.approx(speed * stop_s / 2.0, abs=1.0), "a uniform deceleration from the cruise speed"
    assert rest[1:3] == pytest.approx(at_stop[1:3], abs=0.5), "braking stays on the path"
    assert took_s < stop_s + 0.1
    assert emulator.controller.tcp_speed_mm_s == 0.0


def test_a_pure_rotation_takes_the_time_of_the_sdks_default_rotation_acceleration(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    _code, start = api.get_position()
    turn = math.radians(90.0)
    t0 = time.monotonic()
    assert api.set_position(*start[:5], start[5] + 90.0, speed=100, mvacc=2000, wait=True) == 0
    took = time.monotonic() - t0
    expected = Trapezoid(turn, ROT_SPEED_RAD_S, ROT_ACC_RAD_S2).duration
    print(f"90 deg turn: {took:.2f} s (trapezoid at {ROT_ACC_RAD_S2} rad/s2: {expected:.2f} s)")
    assert ROT_ACC_RAD_S2 == 2.7
    assert expected - 0.05 < took < expected + 0.4
    assert api.get_position()[1][5] == pytest.approx(start[5] + 90.0, abs=0.05)


@pytest.mark.parametrize(("firmware", "form", "feedback"), [(NEWEST_FIRMWARE, "common", True), (OLD_FIRMWARE, "legacy", False)])
def test_the_sdk_takes_each_firmwares_own_code_paths(emulator, sdk_factory, firmware, form, feedback):
    api = sdk_factory(emulator)
    assert ".".join(str(v) for v in api.version_number) == firmware
    make_ready(api)
    counts = emulator.handlers.register_counts
    polls_before = counts[GET_STATE]
    _code, start = api.get_position()
    assert api.set_position(start[0] + 60.0, *start[1:], speed=100, mvacc=1000, wait=True) == 0
    assert dict(emulator.handlers.line_move_forms) == {form: 1}
    assert any(counts[r] for r in MOTION_FEEDBACK_REGISTERS) is feedback
    if not feedback:  # the SDK's wait polls the state every 50 ms instead
        polls = counts[GET_STATE] - polls_before
        assert polls >= 5, f"{polls} state polls during a 0.7 s move"
    assert emulator.unknown_registers == []


class PublicOnly:
    """The SDK object, with every private attribute (a leading underscore) refused loudly."""

    def __init__(self, api: Any) -> None:
        object.__setattr__(self, "_api", api)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AssertionError(f"the driver read the SDK's private attribute {name!r}: use public API")
        return getattr(object.__getattribute__(self, "_api"), name)


def test_the_drivers_use_only_the_sdks_public_api(emulator):
    from xarm.wrapper import XArmAPI

    from rmrl_env.real.xarm_arm import XArmArm

    apis: list[Any] = []

    def factory(ip: str, **kwargs: Any) -> PublicOnly:
        apis.append(XArmAPI(ip, **kwargs))
        return PublicOnly(apis[-1])

    arm = XArmArm(emulator.host, BOX, LIMITS, HOME, tcp_offset_m=TCP_OFFSET_M, api_factory=factory)
    try:
        arm.check_reachable([ToolPose(0.35, 0.05, 0.15, 0.2)])
        arm.move_to(ToolPose(0.35, 0.05, 0.15, 0.2), 0.2)
        arm.go_home()
        gripper = BioGripper(arm, model="bio_g2", timeout_s=5.0)
        gripper.close()
        gripper.opening_m()
        emulator.silence_reports()
        time.sleep(arm.report_silence_s + 0.3)
        with pytest.raises(Exception, match="no report on port 30002"):
            arm.move_to(ToolPose(0.35, 0.0, 0.15, 0.0), 0.2)
    finally:
        arm.close()
