"""Faults injected through the emulator and the MuJoCo cell while the twin env runs trials.

Each fault ends in a named error or a recorded failure, with the arm left stopped (or recovered
where the routine recovers it) and the reset log written before the fault intact.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from rmrl_env.errors import HardwareError, PlateNotFoundError, ResetError
from rmrl_env.protocols import PlanarPose
from rmrl_env.routine import Failure
from rmrl_env.twin.xarm_emulator.controller import IDLE, MOVING, STOPPED

from .conftest import wait_for
from .twin_env import after, log_lines, make_twin, ran_to_its_end, twin_of

pytest.importorskip("xarm")
pytest.importorskip("pyrealsense2")
pytestmark = [pytest.mark.real, pytest.mark.slow]


@pytest.fixture
def twin_env(tmp_path):
    """A twin env after one autonomous reset (one line in its reset log)."""
    env = make_twin(reset_log=tmp_path / "resets.jsonl")
    env.reset(seed=1)
    yield env
    env.close()


def logged(tmp_path) -> list[dict]:
    return log_lines(tmp_path / "resets.jsonl")


def test_a_collision_latched_mid_motion_takes_the_collision_path_and_the_next_trial_runs(twin_env, tmp_path):
    emu = twin_of(twin_env).emulator
    emu.error_mid_motion(31, fraction=0.5)
    _, _, terminated, _, info = twin_env.step(twin_env.unwrapped.grid.zero_action())
    assert terminated and info["failure"] == Failure.COLLISION and "C31" in info["message"]
    assert np.isfinite(info["final_pose"]).all()  # the plate was re-localised after the collision
    assert emu.controller.error_code == 0 and emu.controller.state in (IDLE, MOVING)  # recovered
    before = logged(tmp_path)
    twin_env.reset()
    _, _, _, _, again = twin_env.step(twin_env.unwrapped.grid.zero_action())
    assert ran_to_its_end(again), again["message"]
    assert logged(tmp_path)[: len(before)] == before


def test_fingers_driven_into_the_table_latch_a_collision_from_the_physics(tmp_path):
    """A gripper mounted 10 mm lower than configured pushes its pads into the table at the grasp:
    the cell's contact force (not a scheduled fault) latches C31 and the routine recovers."""
    env = make_twin(tcp_offset_mm=(0.0, 0.0, 10.0), reset_log=tmp_path / "resets.jsonl")
    try:
        twin = twin_of(env)
        with pytest.raises(ResetError, match="collision"):  # the first reset's own grasp hits the table
            env.reset(seed=2)
        assert twin.physics.collisions == 1  # backing off after the recovery latched nothing more
        (record,) = log_lines(tmp_path / "resets.jsonl")
        assert record["attempts"][0]["failure"] == "collision" and "C31" in record["attempts"][0]["message"]
        c = twin.emulator.controller
        assert c.error_code == 0 and c.state in (IDLE, MOVING)  # recovered
        home, at = env.unwrapped.backend.layout.home, env.unwrapped.backend.drivers.arm.tool_pose()
        assert abs(at.z_m - home.z_m) < 0.002 and abs(at.x_m - home.x_m) < 0.002  # and sent home
    finally:
        env.close()


def test_an_error_left_latched_before_connect_is_cleared_at_connect():
    env = make_twin(before_connect=lambda twin: twin.emulator.latch_error(24))
    try:
        c = twin_of(env).emulator.controller
        assert c.error_code == 0 and c.state in (IDLE, MOVING)
    finally:
        env.close()


def test_a_dropped_connection_mid_trial_is_a_named_error_and_the_log_is_kept(twin_env, tmp_path):
    emu = twin_of(twin_env).emulator
    before = logged(tmp_path)
    after(1.0, emu.drop_connections)
    with pytest.raises(HardwareError, match="connection to the xArm at .* is lost"):
        twin_env.step(twin_env.unwrapped.grid.zero_action())
    wait_for(lambda: emu.controller.state != MOVING, 10.0, "the arm to stop moving")
    assert logged(tmp_path) == before


def test_a_connection_dropped_between_trials_is_named_and_a_reconnect_carries_on(twin_env):
    """The trial's first SDK call is the reachability check's IK query: a lost connection there
    must not read as "no IK solution" (an unreachable trial)."""
    emu = twin_of(twin_env).emulator
    emu.drop_connections()
    with pytest.raises(HardwareError, match="connection to the xArm at .* is lost"):
        twin_env.step(twin_env.unwrapped.grid.zero_action())
    drivers = twin_env.unwrapped.backend.drivers
    drivers.arm.reconnect()
    drivers.gripper.enable()
    twin_env.reset()
    _, _, terminated, _, info = twin_env.step(twin_env.unwrapped.grid.zero_action())
    assert terminated and ran_to_its_end(info), info["message"]


def test_a_silent_report_stream_stops_the_arm_with_a_named_error(twin_env, tmp_path):
    emu = twin_of(twin_env).emulator
    before = logged(tmp_path)
    after(0.5, emu.silence_reports)
    with pytest.raises(HardwareError, match="no report on port 30002"):
        twin_env.step(twin_env.unwrapped.grid.zero_action())
    assert emu.controller.state == STOPPED
    assert logged(tmp_path) == before


def test_a_gripper_fault_is_named_with_its_code_and_the_arm_stopped(twin_env):
    emu = twin_of(twin_env).emulator
    emu.gripper_fault(5)
    with pytest.raises(HardwareError, match=r"BIO gripper reports an error \(code 5\)"):
        twin_env.step(twin_env.unwrapped.grid.zero_action())
    assert emu.controller.state == STOPPED


def test_no_inverse_kinematics_solution_is_an_unreachable_trial_without_motion(twin_env):
    emu = twin_of(twin_env).emulator
    q = emu.controller.q.copy()
    emu.fail_ik()
    _, reward, terminated, _, info = twin_env.step(twin_env.unwrapped.grid.zero_action())
    assert terminated and info["failure"] == Failure.UNREACHABLE and "inverse-kinematics" in info["message"]
    assert reward == 0.0
    assert np.allclose(emu.controller.q, q)  # nothing moved


def test_a_camera_that_stops_sending_frames_is_named_and_recovers_when_frames_return(twin_env):
    device = twin_of(twin_env).physics.device
    device.pause()
    t0 = time.monotonic()
    with pytest.raises(HardwareError, match="no frame from the RealSense camera"):
        twin_env.reset()
    assert time.monotonic() - t0 < 30.0
    device.resume()
    obs, _ = twin_env.reset()
    assert np.isfinite(obs["pose"]).all()


def test_a_camera_that_drops_off_the_usb_bus_is_waited_for_until_it_re_enumerates(twin_env):
    device = twin_of(twin_env).physics.device
    device.unplug(2.5)
    t0 = time.monotonic()
    obs, _ = twin_env.reset()  # the capture times out, the driver waits for the camera to come back
    assert time.monotonic() - t0 >= 2.5
    assert np.isfinite(obs["pose"]).all() and device.find("") is not None


def test_a_plate_the_camera_cannot_find_is_named_and_the_arm_does_not_move(twin_env):
    twin = twin_of(twin_env)
    twin.put_plate(PlanarPose(1.5, 1.5, 0.0))  # off the table, out of view
    q = twin.emulator.controller.q.copy()
    with pytest.raises(PlateNotFoundError, match="not found in 3 captures"):
        twin_env.reset()
    assert np.allclose(twin.emulator.controller.q, q)
