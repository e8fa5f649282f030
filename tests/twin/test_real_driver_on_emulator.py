"""The real drivers (:class:`XArmArm`, :class:`BioGripper`) through the unmodified xArm SDK
against the controller emulator: what the fake ``XArmAPI`` of ``tests/real`` cannot show."""

from __future__ import annotations

import math
import os
import signal
import threading
import time

import pytest

from rmrl_env.errors import ConfigError, ControllerError, HardwareError, SafetyError, UnreachableError
from rmrl_env.protocols import ToolPose
from rmrl_env.real.bio_gripper import BioGripper
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox
from rmrl_env.real.xarm_arm import XArmArm

from .conftest import wait_for
from .firmwares import firmware  # noqa: F401  (each test runs on every firmware)

pytestmark = pytest.mark.real


BOX = WorkspaceBox((0.1, 0.7), (-0.4, 0.4), (0.0, 0.4))
LIMITS = SpeedLimits(0.3, 1.0)
HOME = ToolPose(0.25, 0.0, 0.25, 0.0)
TCP_OFFSET_M = (0.0, 0.0, 0.172)


def make_arm(emu) -> XArmArm:
    return XArmArm(emu.host, BOX, LIMITS, HOME, home_speed_m_s=0.2, tcp_offset_m=TCP_OFFSET_M, motion_timeout_s=20.0)


@pytest.fixture
def arm(emulator):
    made = make_arm(emulator)
    yield made
    made.close()


@pytest.mark.slow
def test_driver_connects_moves_and_reads_back_the_pose(emulator, arm):
    assert emulator.controller.kin.tcp_offset[:3] == pytest.approx([0.0, 0.0, 172.0])
    target = ToolPose(0.40, -0.10, 0.12, math.radians(30))
    arm.move_to(target, 0.2)
    pose = arm.tool_pose()
    assert (pose.x_m, pose.y_m, pose.z_m) == pytest.approx((0.40, -0.10, 0.12), abs=2e-4)
    assert pose.yaw_rad == pytest.approx(math.radians(30), abs=1e-4)
    arm.go_home()
    home = arm.tool_pose()
    assert (home.x_m, home.y_m, home.z_m) == pytest.approx((HOME.x_m, HOME.y_m, HOME.z_m), abs=2e-4)
    assert emulator.unknown_registers == []


@pytest.mark.parametrize("code", [22, 31, 24])
def test_connect_clears_an_error_left_latched(emulator, code):
    """Audit defect 1: with an error latched the controller answers clean_warn with the error
    flag (SDK code 1); recover() must clean the error first and not take 1/2 for a failure."""
    emulator.latch_error(code)
    emulator.latch_warning(11)
    arm = make_arm(emulator)
    try:
        assert emulator.controller.error_code == 0 and emulator.controller.warn_code == 0
        assert emulator.controller.state == 2
        arm.move_to(ToolPose(0.35, 0.0, 0.15, 0.0), 0.2)
    finally:
        arm.close()


def test_recover_after_a_collision_mid_motion(emulator, arm):
    emulator.error_mid_motion(31, fraction=0.4)
    with pytest.raises(ControllerError, match="C31") as err:
        arm.move_to(ToolPose(0.45, 0.15, 0.10, 0.0), 0.2)
    assert err.value.error_code == 31
    assert emulator.controller.state == 4
    with pytest.raises(SafetyError, match="recover"):
        arm.move_to(ToolPose(0.35, 0.0, 0.15, 0.0), 0.2)
    arm.recover()
    arm.move_to(ToolPose(0.35, 0.0, 0.15, 0.0), 0.2)
    assert arm.tool_pose().x_m == pytest.approx(0.35, abs=2e-4)


def test_recover_names_an_emergency_stop_that_is_still_pressed(emulator, arm):
    emulator.press_estop()
    with pytest.raises(ControllerError, match="C1") as err:
        arm.recover()
    assert err.value.error_code == 1
    emulator.release_estop()
    arm.recover()
    arm.move_to(ToolPose(0.35, 0.0, 0.15, 0.0), 0.2)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "width_mm"), [("bio_g2", 60.0), ("bio", None)])
def test_bio_gripper_driver_on_the_emulator(emulator_factory, model, width_mm):
    emu = emulator_factory(gripper_model=model, object_width_mm=None if width_mm is None else 90.0)
    arm = make_arm(emu)
    try:
        gripper = BioGripper(arm, model=model, open_width_m=0.15, force=30, timeout_s=5.0)
        gripper.open()
        assert emu.controller.gripper.opening_mm == pytest.approx(149.7, abs=0.5)
        caught = gripper.close()
        if model == "bio_g2":
            assert caught is True and gripper.opening_m() == pytest.approx(0.090, abs=0.001)
        else:
            assert caught is False and gripper.opening_m() == 0.0
        emu.gripper_fault(7)
        with pytest.raises(HardwareError, match="code 7"):
            gripper.open()
    finally:
        arm.close()


def test_connect_without_a_report_stream_fails_in_bounded_time_naming_the_port(emulator):
    """Audit defect 10: without reports the SDK's set_position waits forever for its first sync;
    the driver must notice at connect, within its time-out, and say which port is silent."""
    emulator.silence_reports()
    t0 = time.monotonic()
    with pytest.raises(HardwareError, match=rf"{emulator.host}.*30002"):
        XArmArm(emulator.host, BOX, LIMITS, HOME, tcp_offset_m=TCP_OFFSET_M, connect_timeout_s=2.0)
    assert time.monotonic() - t0 < 8.0
    wait_for(lambda: emulator.client_count == 0, 5.0, "the failed connect to close its SDK connection")


def test_failed_construction_closes_the_sdk_connection(emulator):
    """Audit defect 11: when the start-up sequence raises (here: e-stop pressed), the driver
    disconnects instead of leaving the SDK connected with its threads running."""
    emulator.press_estop()
    with pytest.raises(ControllerError, match="C1"):
        make_arm(emulator)
    wait_for(lambda: emulator.client_count == 0, 5.0, "the failed connect to close its SDK connection")


def test_reachability_rejects_an_ik_answer_that_does_not_reach_the_pose(emulator_factory):
    """Audit defect 5: if the firmware flags "no solution" with a warning, the SDK maps the code
    to success and passes on meaningless angles; the driver must not accept them."""
    emu = emulator_factory(ik_failure_style="warning")
    arm = make_arm(emu)
    try:
        reachable = ToolPose(0.40, 0.05, 0.10, math.radians(20))
        arm.check_reachable([reachable])
        emu.fail_ik()
        with pytest.raises(UnreachableError, match="inverse-kinematics"):
            arm.check_reachable([reachable])
    finally:
        arm.close()


@pytest.mark.slow
def test_bio_g2_keeps_the_configured_force_and_the_controllers_speed(emulator):
    """Audit defect 8: the SDK's open/close write force 50 and speed 2000 unless told otherwise,
    overwriting the configured force, and "speed 0 keeps the controller's setting" was false."""
    emulator.controller.gripper.speed = 1500  # set on the gripper beforehand (e.g. in UFactory Studio)
    arm = make_arm(emulator)
    try:
        gripper = BioGripper(arm, model="bio_g2", speed=0, force=30, timeout_s=5.0)
        gripper.close()
        gripper.open()
        assert emulator.controller.gripper.force == 30
        assert emulator.controller.gripper.speed == 1500
        fast = BioGripper(arm, model="bio_g2", speed=3000, force=80, timeout_s=5.0)
        fast.close()
        assert (emulator.controller.gripper.force, emulator.controller.gripper.speed) == (80, 3000)
    finally:
        arm.close()


@pytest.mark.parametrize("address", ["xarm.local", "::1", "fe80::1", "127.1"])
def test_addresses_the_sdk_cannot_open_over_tcp_are_refused_clearly(address):
    """Audit defect 6: the SDK opens TCP only for a dotted IPv4 address or 'localhost'; any
    other string is opened as a serial port. The driver says so before trying anything."""
    with pytest.raises(ConfigError, match=r"IPv4 address.*serial port"):
        XArmArm(address, BOX, LIMITS, HOME, connect_timeout_s=0.5)


def test_ctrl_c_while_the_sdk_waits_for_a_reply_stops_the_arm(emulator, arm):
    """Audit defect 4: the SDK's reply reader swallows KeyboardInterrupt in a bare ``except``.
    Here Ctrl-C arrives exactly while the SDK waits for a reply during a move; the arm must
    stop at once and the interrupt must reach the caller."""
    start = arm.tool_pose()
    moving: list[bool] = []

    def interrupt_during_a_motion_poll(register: int) -> None:
        if register == 13 and emulator.controller.state == 1 and not moving:  # GET_STATE while moving
            moving.append(True)
            # a real Ctrl-C, half-way through the 0.2 s the reply takes: the SDK is blocked in its reader
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()

    emulator.reply_delay_s = 0.2  # the interrupt lands while the SDK waits in its reader
    emulator.request_hook = interrupt_during_a_motion_poll
    target = ToolPose(start.x_m + 0.25, start.y_m, start.z_m, 0.0)
    with pytest.raises(KeyboardInterrupt):
        arm.move_to(target, 0.1)
    emulator.request_hook = None
    emulator.reply_delay_s = 0.0
    assert moving, "the interrupt was never sent"
    assert emulator.controller.state == 4
    stopped_x_mm = emulator.controller.tcp_pose()[0]
    assert stopped_x_mm < 1000.0 * target.x_m - 50.0, "the arm must stop well short of the target"


def test_gripper_works_again_after_an_end_effector_communication_error(emulator):
    """The audit's gap "the gripper is never re-enabled after C19/C28": the SDK's open/close
    re-enable a gripper that reports itself disabled, so after recover() it works again."""
    arm = make_arm(emulator)
    try:
        gripper = BioGripper(arm, model="bio_g2", timeout_s=5.0)
        emulator.latch_error(19)
        assert not emulator.controller.gripper.enabled
        arm.recover()
        gripper.close()
        assert emulator.controller.gripper.enabled
        assert gripper.opening_m() == pytest.approx(0.071, abs=0.001)
    finally:
        arm.close()
