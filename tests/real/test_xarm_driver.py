"""The xArm and BIO gripper drivers against a fake XArmAPI (no hardware)."""

from __future__ import annotations

import math
import time

import pytest

from rmrl_env.errors import ControllerError, HardwareError, SafetyError, UnreachableError, WorkspaceViolation
from rmrl_env.protocols import Arm, Gripper, ToolPose
from rmrl_env.real.bio_gripper import BioGripper
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox, explain_controller_error
from rmrl_env.real.xarm_arm import XArmArm
from rmrl_env.real.xarm_connect import check_tcp_reachable

from .fakes import fake_factory

BOX = WorkspaceBox((0.1, 0.7), (-0.4, 0.4), (0.0, 0.4))
LIMITS = SpeedLimits(0.3, 1.0)
HOME = ToolPose(0.2, 0.0, 0.3, 0.0)


def make_arm(port: int, **fake_settings):
    factory, made = fake_factory(**fake_settings)
    arm = XArmArm("127.0.0.1", BOX, LIMITS, HOME, home_speed_m_s=0.1, tcp_offset_m=(0, 0, 0.172), port=port, api_factory=factory)
    return arm, made[0]


def test_connect_runs_the_startup_sequence_and_sets_the_tcp_offset(listening_port):
    arm, api = make_arm(listening_port, error_code=24, warn_code=11)
    assert isinstance(arm, Arm)
    names = api.names()
    for call in ("clean_warn", "clean_error", "motion_enable", "set_mode", "set_state", "set_tcp_offset"):
        assert call in names
    assert api.mode == 0 and api.state == 0 and api.enabled and api.error_code == 0
    assert api.tcp_offset == pytest.approx([0, 0, 172, 0, 0, 0])


def test_move_converts_to_mm_and_degrees_top_down_with_config_speeds(listening_port):
    arm, api = make_arm(listening_port)
    arm.move_to(ToolPose(0.4, -0.1, 0.05, math.radians(30)), 0.2)
    _name, args, kwargs = [c for c in api.calls if c[0] == "set_position"][-1]
    assert args == pytest.approx((400.0, -100.0, 50.0, 180.0, 0.0, 30.0))
    assert kwargs["speed"] == pytest.approx(200.0) and kwargs["mvacc"] == pytest.approx(1000.0) and kwargs["wait"] is True
    assert "motion_type" not in kwargs
    pose = arm.tool_pose()
    assert (pose.x_m, pose.y_m, pose.z_m, pose.yaw_rad) == pytest.approx((0.4, -0.1, 0.05, math.radians(30)))
    arm.go_home()
    # a free-space move is a joint-space move at the configured joint speed (30 deg/s by default) or slower
    _name, (angles,), kwargs = [c for c in api.calls if c[0] == "set_servo_angle"][-1]
    assert api.forward(angles)[:3] == pytest.approx([200.0, 0.0, 300.0])
    assert 0.0 < kwargs["speed"] <= 30.0 and kwargs["wait"] is True


def test_pose_outside_workspace_is_refused_before_sending(listening_port):
    arm, api = make_arm(listening_port)
    n = len([c for c in api.calls if c[0] == "set_position"])
    with pytest.raises(WorkspaceViolation, match="z = -10.0 mm.*safety.workspace.z_m"):
        arm.move_to(ToolPose(0.4, 0.0, -0.01, 0.0), 0.1)
    with pytest.raises(UnreachableError):
        arm.check_reachable([ToolPose(0.4, 0.0, 0.1, 0.0), ToolPose(0.9, 0.0, 0.1, 0.0)])
    assert len([c for c in api.calls if c[0] == "set_position"]) == n


def test_speed_limit_is_enforced(listening_port):
    arm, api = make_arm(listening_port)
    with pytest.raises(SafetyError, match="max_speed_m_s"):
        arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.5)
    assert "set_position" not in api.names()[-3:]


def test_ik_failure_is_unreachable(listening_port):
    arm, _api = make_arm(listening_port, reach_mm=300.0)
    with pytest.raises(UnreachableError, match="inverse-kinematics"):
        arm.check_reachable([ToolPose(0.5, 0.0, 0.1, 0.0)])
    arm.check_reachable([ToolPose(0.25, 0.0, 0.1, 0.0)])


def test_controller_error_becomes_exception_with_meaning_and_recovery(listening_port):
    arm, api = make_arm(listening_port)
    api.error_code = 31  # collision
    with pytest.raises(ControllerError, match="C31: collision.*What to do") as info:
        arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.1)
    assert info.value.error_code == 31
    assert api.state == 4  # stopped
    with pytest.raises(SafetyError, match="recover"):
        arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.1)
    arm.recover()
    arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.1)


def test_emergency_stop_cannot_be_recovered_by_software(listening_port):
    arm, api = make_arm(listening_port)
    api.error_code = 1
    with pytest.raises(ControllerError, match="emergency-stop button"):
        arm.recover()


def test_injected_api_code_is_explained(listening_port):
    arm, api = make_arm(listening_port)
    api.fail["set_position"] = 100
    with pytest.raises(HardwareError, match="SDK code 100: waiting for the motion"):
        arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.1)


def test_dropped_connection_names_the_address(listening_port):
    arm, api = make_arm(listening_port)
    api.drop_connection_on = "set_position"
    with pytest.raises(HardwareError, match="connection to the xArm at 127.0.0.1 is lost"):
        arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.1)


def test_ctrl_c_mid_motion_stops_the_arm(listening_port):
    arm, api = make_arm(listening_port)
    api.interrupt_on_move = True
    with pytest.raises(KeyboardInterrupt):
        arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.1)
    assert api.names()[-1] == "set_state" and api.state == 4
    assert "open_bio_gripper" not in api.names()  # a held plate is not dropped


def test_arrival_is_verified(listening_port):
    arm, api = make_arm(listening_port)
    api.on_move = lambda pos: api.position.__setitem__(0, pos[0] - 10.0)  # blocked 10 mm short
    with pytest.raises(HardwareError, match="10.0 mm from the commanded pose"):
        arm.move_to(ToolPose(0.4, 0.0, 0.1, 0.0), 0.1)


def test_unreachable_robot_fails_fast_naming_the_address(closed_port):
    t0 = time.monotonic()
    with pytest.raises(HardwareError, match=rf"127\.0\.0\.1 \(port {closed_port}\) is unreachable"):
        check_tcp_reachable("127.0.0.1", closed_port, timeout_s=2.0)
    assert time.monotonic() - t0 < 15.0


def test_error_tables_say_what_to_do():
    assert "What to do" in explain_controller_error(22)
    assert "unknown" in explain_controller_error(9999) or "C9999" in explain_controller_error(9999)


def test_bio_gripper_open_close_status(listening_port):
    arm, api = make_arm(listening_port)
    gripper = BioGripper(arm, model="bio", open_width_m=0.13)
    assert isinstance(gripper, Gripper)
    assert api.gripper_enabled
    gripper.open()
    assert gripper.opening_m() == pytest.approx(0.13)
    assert gripper.close() is False and gripper.opening_m() == 0.0
    api.on_close = lambda: True
    assert gripper.close() is True and gripper.opening_m() == pytest.approx(0.08548)


def test_bio_g2_reads_its_position_and_reports_errors(listening_port):
    arm, api = make_arm(listening_port)
    gripper = BioGripper(arm, model="bio_g2", force=30)
    assert ("set_bio_gripper_force", (30,), {}) in api.calls
    gripper.open()
    assert gripper.opening_m() == pytest.approx(0.130)
    api.gripper_error = 1
    with pytest.raises(HardwareError, match="BIO gripper reports an error"):
        gripper.close()


def test_gripper_that_does_not_enable_is_reported(listening_port):
    arm, api = make_arm(listening_port)
    api.fail["set_bio_gripper_enable"] = 103
    with pytest.raises(HardwareError, match="end-effector"):
        BioGripper(arm)
