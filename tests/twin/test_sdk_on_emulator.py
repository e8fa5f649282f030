"""The unmodified xArm SDK against the controller emulator: connection, motions with their
timing, latched errors, collisions, the gripper, and the faults the twin injects."""

from __future__ import annotations

import math
import socket
import time

import numpy as np
import pytest

from rmrl_env.twin.xarm_emulator import FIRMWARE_VERSION, Trapezoid, XArmEmulator

from .conftest import make_ready, wait_for

pytestmark = pytest.mark.real

HAS_ERROR, EMERGENCY_STOP, END_EFFECTOR_HAS_FAULT, IK_INVALID = 1, -9, 102, 10


def test_sdk_connects_reads_version_state_and_reports(emulator, sdk_factory):
    api = sdk_factory(emulator)
    assert api.version == FIRMWARE_VERSION
    assert api.version_number == (2, 7, 103)
    assert api.get_state() == (0, 4)  # powered up stopped: needs set_state(0)
    assert api.get_err_warn_code() == (0, [0, 0])
    wait_for(lambda: emulator.reports_sent >= 2, 2.0, "the report stream")
    assert api.axis == 6 and api.state == 4
    make_ready(api)
    assert api.state == 2 or api.get_state() == (0, 2)
    assert emulator.unknown_registers == []


def test_cartesian_move_arrives_on_a_straight_line_in_the_trapezoid_time(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    assert api.set_tcp_offset([0, 0, 172, 0, 0, 0]) == 0
    code, start = api.get_position()
    assert code == 0
    target = [350.0, 120.0, 150.0, 180.0, 0.0, 25.0]
    speed, acc = 150.0, 600.0
    expected_s = Trapezoid(math.dist(start[:3], target[:3]), speed, acc).duration
    t0 = time.monotonic()
    assert api.set_position(*target, speed=speed, mvacc=acc, wait=True) == 0
    wall_s = time.monotonic() - t0
    code, reached = api.get_position()
    assert code == 0 and reached[:3] == pytest.approx(target[:3], abs=0.05)
    assert reached[3] % 360 == pytest.approx(180.0, abs=0.01) and reached[5] == pytest.approx(25.0, abs=0.01)
    # the SDK waits for the controller's motion-finish feedback: within polling latency of the plan
    assert 0.95 <= wall_s / expected_s <= 1.6, (wall_s, expected_s)
    # every emitted sample sits on the straight line where the trapezoid puts it at its time:
    # the start time each sample implies (its time minus the profile's time to its distance)
    # is the same for all, whatever the clock thread's jitter
    times, joints = emulator.sink.samples()
    kin = emulator.controller.kin
    a, b = np.array(start[:3]), np.array(target[:3])
    tcp = np.array([kin.forward(q)[:3] for q in joints])
    along = (tcp - a) @ (b - a) / np.linalg.norm(b - a)
    inside = (along > 1.0) & (along < np.linalg.norm(b - a) - 1.0)
    assert inside.sum() > 20, "too few samples during the motion"
    profile = Trapezoid(float(np.linalg.norm(b - a)), speed, acc)
    table_t = np.linspace(0.0, profile.duration, 4001)
    table_d = np.array([profile.position(t) for t in table_t])
    implied_start = times[inside] - np.interp(along[inside], table_d, table_t)
    assert np.ptp(implied_start) < 0.005, f"samples disagree with the trapezoid by up to {np.ptp(implied_start):.4f} s"
    for p in tcp[inside]:
        off_line = np.linalg.norm(np.cross(p - a, b - a)) / np.linalg.norm(b - a)
        assert off_line < 0.5, f"TCP {p} is {off_line:.2f} mm off the straight line"


def test_a_tilted_tool_pose_is_reached_as_a_real_controller_would(emulator, sdk_factory):
    """Hand-eye views tilt the tool: the controller solves any orientation, not only top-down."""
    api = sdk_factory(emulator)
    make_ready(api)
    assert api.set_tcp_offset([0, 0, 172, 0, 0, 0]) == 0
    target = [330.0, -60.0, 220.0, 160.0, 15.0, -20.0]
    code, angles = api.get_inverse_kinematics(target, input_is_radian=False, return_is_radian=False)
    assert code == 0 and len(angles) >= 6
    assert api.set_position(*target, speed=150.0, mvacc=600.0, wait=True) == 0
    code, reached = api.get_position()
    assert code == 0 and reached[:3] == pytest.approx(target[:3], abs=0.05)
    assert [reached[3] % 360, reached[4], reached[5]] == pytest.approx(target[3:], abs=0.01)


def test_joint_move_arrives_in_the_trapezoid_time(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    code, start = api.get_servo_angle()
    target = [20.0, -20.0, -40.0, 0.0, 60.0, 10.0]
    speed, acc = 40.0, 200.0
    expected_s = Trapezoid(max(abs(t - s) for t, s in zip(target, start[:6], strict=True)), speed, acc).duration
    t0 = time.monotonic()
    assert api.set_servo_angle(angle=target, speed=speed, mvacc=acc, wait=True) == 0
    wall_s = time.monotonic() - t0
    code, angles = api.get_servo_angle()
    assert code == 0 and angles[:6] == pytest.approx(target, abs=0.01)
    assert 0.95 <= wall_s / expected_s <= 1.6, (wall_s, expected_s)
    code, pose = api.get_forward_kinematics(angles)
    assert code == 0 and pose[:3] == pytest.approx(api.get_position()[1][:3], abs=0.01)


def test_error_latched_at_connect_is_reported_and_clean_error_clears_it(emulator, sdk_factory):
    emulator.latch_error(31)
    emulator.latch_warning(11)
    api = sdk_factory(emulator)
    assert api.get_err_warn_code() == (0, [31, 11])
    wait_for(lambda: api.error_code == 31, 2.0, "the report to carry C31")
    # the status byte of every reply carries the error: clean_warn answers 1 ("has an error")
    assert api.clean_warn() == HAS_ERROR
    assert api.set_position(x=300, y=0, z=200, roll=180, pitch=0, yaw=0, speed=50, wait=True) != 0
    assert api.clean_error() == 0
    assert api.get_err_warn_code() == (0, [0, 0])
    assert api.get_state() == (0, 4)  # cleaned but still stopped until enabled and started
    make_ready(api)
    assert api.set_position(x=300, y=0, z=200, roll=180, pitch=0, yaw=0, speed=200, wait=True) == 0


def test_collision_mid_motion_stops_the_arm_and_is_reported(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    _code, start = api.get_position()
    target = [start[0] + 150.0, start[1], start[2], 180.0, 0.0, 0.0]
    emulator.error_mid_motion(22, fraction=0.5)
    code = api.set_position(*target, speed=150, mvacc=1000, wait=True)
    assert code in (HAS_ERROR, EMERGENCY_STOP)
    assert api.get_err_warn_code() == (0, [22, 0])
    assert api.get_state() == (0, 4)
    wait_for(lambda: emulator.controller.stopping is None, 2.0, "the arm to finish braking")
    _code, stopped = api.get_position()
    assert start[0] + 20.0 < stopped[0] < target[0] - 20.0, "the arm should stop part-way"
    time.sleep(0.3)
    assert api.get_position()[1][0] == pytest.approx(stopped[0], abs=1e-3), "a stopped arm must not move"


def test_emergency_stop_cannot_be_cleaned_until_released(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    emulator.press_estop()
    assert api.clean_error() == HAS_ERROR
    assert api.get_err_warn_code() == (0, [1, 0])
    emulator.release_estop()
    assert api.clean_error() == 0
    make_ready(api)


@pytest.mark.parametrize(("model", "closed_mm"), [("bio_g2", 90), ("bio", 71)])
def test_bio_gripper_closes_on_the_object_and_opens(emulator_factory, sdk_factory, model, closed_mm):
    emu = emulator_factory(gripper_model=model, object_width_mm=90.0)
    api = sdk_factory(emu)
    make_ready(api)
    assert api.set_bio_gripper_enable(True, wait=True) == 0
    code, status = api.get_bio_gripper_status()
    assert code == 0 and (status >> 2) & 0x03 == 2
    assert api.close_bio_gripper(wait=True) == 0
    code, status = api.get_bio_gripper_status()
    assert code == 0 and status & 0x03 == 2  # stopped on the object
    assert emu.controller.gripper.opening_mm == pytest.approx(90.0)
    # the G2 reports its jaw opening; for the original BIO the SDK maps the last command to 150 / 71
    assert api.get_bio_gripper_g2_position() == (0, closed_mm)
    assert api.open_bio_gripper(wait=True) == 0
    assert api.get_bio_gripper_g2_position() == (0, 150)
    assert api.get_bio_gripper_status()[1] & 0x03 == 0
    assert emu.unknown_registers == []


def test_gripper_fault_is_reported(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    assert api.set_bio_gripper_enable(True, wait=True) == 0
    emulator.gripper_fault(7)
    assert api.close_bio_gripper(wait=True) == END_EFFECTOR_HAS_FAULT
    assert api.get_bio_gripper_error() == (0, 7)
    assert api.clean_bio_gripper_error() == 0
    assert api.get_bio_gripper_status()[1] & 0x03 != 3


def test_ik_no_solution_styles(emulator_factory, sdk_factory):
    emu = emulator_factory()
    api = sdk_factory(emu)
    reachable = [300.0, 0.0, 200.0, 180.0, 0.0, 0.0]
    code, angles = api.get_inverse_kinematics(reachable)
    assert code == 0 and len(angles) == 7
    assert api.get_forward_kinematics(angles)[1][:3] == pytest.approx(reachable[:3], abs=0.01)
    assert api.get_inverse_kinematics([2000.0, 0.0, 200.0, 180.0, 0.0, 0.0])[0] == IK_INVALID
    emu.fail_ik()
    assert api.get_inverse_kinematics(reachable)[0] == IK_INVALID
    # with a warning-style firmware the SDK turns "no solution" into success (audit defect 5)
    emu.handlers.ik_failure_style = "warning"
    code, angles = api.get_inverse_kinematics(reachable)
    assert code == 0 and api.get_err_warn_code() == (0, [0, 14])


@pytest.mark.slow
def test_report_stream_going_silent_is_seen_by_the_sdk(emulator, sdk_factory):
    api = sdk_factory(emulator)
    events: list[dict] = []
    api.register_connect_changed_callback(events.append)
    emulator.silence_reports()
    wait_for(lambda: any(e.get("reported") is False for e in events), 8.0, "the SDK to notice the silent report stream")
    assert api.connected  # the command connection is still up


def test_dropped_connection_is_seen_by_the_sdk(emulator, sdk_factory):
    api = sdk_factory(emulator)
    emulator.drop_connections()
    wait_for(lambda: not api.connected, 5.0, "the SDK to notice the dropped connection")
    assert api.get_state()[0] == -1  # NOT_CONNECTED


def test_pause_holds_the_motion_and_resume_finishes_it(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    _code, start = api.get_position()
    target = [start[0] + 100.0, start[1], start[2], 180.0, 0.0, 0.0]
    assert api.set_position(*target, speed=100, mvacc=1000, wait=False) == 0
    time.sleep(0.4)
    assert api.set_state(3) == 0
    assert api.get_state() == (0, 3)
    held = api.get_position()[1][0]
    time.sleep(0.4)
    assert api.get_position()[1][0] == pytest.approx(held, abs=1e-3) and start[0] < held < target[0]
    assert api.set_state(0) == 0
    wait_for(lambda: api.get_state() == (0, 2), 3.0, "the resumed motion to finish")
    assert api.get_position()[1][0] == pytest.approx(target[0], abs=0.05)


def test_emulator_listens_on_loopback_only_and_stops_by_itself(emulator_factory):
    with pytest.raises(ValueError, match="loopback only"):
        XArmEmulator(host="0.0.0.0")
    emu = emulator_factory(lifetime_s=0.5)
    assert emu.host.startswith("127.") and emu.running
    wait_for(lambda: not emu.running, 3.0, "the emulator to stop after its lifetime")
    with pytest.raises(OSError), socket.create_connection((emu.host, 502), timeout=1.0):
        pass


def test_warning_mid_motion_is_latched_without_stopping_the_arm(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    _code, start = api.get_position()
    target = [start[0] + 60.0, start[1] - 40.0, start[2], 180.0, 0.0, 0.0]
    emulator.warning_mid_motion(12, fraction=0.3)
    assert api.set_position(*target, speed=200, mvacc=2000, wait=True) == 0
    assert api.get_position()[1][:3] == pytest.approx(target[:3], abs=0.05)
    assert api.get_err_warn_code() == (0, [0, 12])
    assert api.clean_warn() == 0 and api.get_err_warn_code() == (0, [0, 0])


def test_tcp_load_and_collision_sensitivity_are_set_and_reported(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    assert api.set_tcp_load(0.82, [0.0, 0.0, 48.0]) == 0
    assert api.set_collision_sensitivity(2) == 0
    wait_for(lambda: api.collision_sensitivity == 2, 2.0, "the report to carry the collision sensitivity")
    wait_for(lambda: api.tcp_load[0] == pytest.approx(0.82), 2.0, "the report to carry the TCP load")
    assert api.tcp_load[1] == pytest.approx([0.0, 0.0, 48.0])
    assert api.get_state() == (0, 2)  # set_collision_sensitivity restarts the arm with set_state(0)


def test_queued_moves_run_in_order_and_unset_coordinates_keep_the_last_target(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    _code, start = api.get_position()
    first = [start[0] + 80.0, start[1], start[2] - 30.0, 180.0, 0.0, 0.0]
    assert api.set_position(*first, speed=200, mvacc=2000, wait=False) == 0
    assert api.get_cmdnum()[1] >= 1
    # x, z and the orientation are left out: the controller keeps those of the last command
    assert api.set_position(y=start[1] + 60.0, speed=200, mvacc=2000, wait=True) == 0
    assert api.get_position()[1][:3] == pytest.approx([first[0], start[1] + 60.0, first[2]], abs=0.05)
    times, joints = emulator.sink.samples()
    kin = emulator.controller.kin
    tcp = np.array([kin.forward(q)[:3] for q in joints])
    passed_first = np.min(np.linalg.norm(tcp - first[:3], axis=1))
    assert passed_first < 0.5, "the path must pass through the first target"
    steps = np.linalg.norm(np.diff(tcp, axis=0), axis=1)
    assert np.all(steps <= 200.0 * np.diff(times) + 2.0), "the TCP must not jump between samples"


def test_emulator_refuses_to_start_beside_an_sdk_unix_socket(monkeypatch, tmp_path):
    """The SDK prefers /tmp/xarmcontroller_uds_<port> for any IP: with such a file present it
    would bypass the emulator, so the emulator refuses to start and names the file."""
    from rmrl_env.twin.xarm_emulator import server

    stale = tmp_path / "xarmcontroller_uds_502"
    stale.write_bytes(b"")
    monkeypatch.setattr(server, "UDS_PATHS", (str(stale),))
    emu = XArmEmulator()
    with pytest.raises(RuntimeError, match="xarmcontroller_uds_502 exists"):
        emu.start()
    assert not emu.running


def test_move_home_goes_to_the_zero_joint_pose(emulator, sdk_factory):
    api = sdk_factory(emulator)
    make_ready(api)
    assert api.move_gohome(speed=60, mvacc=600, wait=True) == 0
    assert api.get_servo_angle()[1][:6] == pytest.approx([0.0] * 6, abs=1e-3)
    assert api.get_position()[1][:3] == pytest.approx([207.0, 0.0, 112.0], abs=0.01)  # the xArm 6's zero pose
