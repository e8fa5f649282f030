"""``CellPlatePlace-twin-v0`` / ``CellPlateShelf-twin-v0``: the real drivers, config, safety and
stager through the unmodified xArm SDK against the controller emulator and the MuJoCo cell."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rmrl_env.errors import ConfigError
from rmrl_env.perception.calibration import load_calibration
from rmrl_env.real.config import load_config
from rmrl_env.reward import reward_for_error_mm
from rmrl_env.twin.xarm_emulator.controller import POWER_UP_JOINTS_RAD

from .twin_env import make_twin, ran_to_its_end, twin_of

pytest.importorskip("xarm")
pytest.importorskip("pyrealsense2")
pytestmark = [pytest.mark.real, pytest.mark.slow]


def test_gym_make_with_no_arguments_builds_the_sims_spaces_writes_a_lab_folder_and_does_not_move():
    env = make_twin(time_scale=1.0)
    try:
        twin = twin_of(env)
        sim = gym.make("CellPlatePlace-sim-v0")
        assert env.observation_space == sim.observation_space and env.action_space == sim.action_space
        sim_target = sim.unwrapped.backend.targets["box"].pose  # measured the same way in the same (default) cell
        sim.close()
        # No motion at gym.make: the controller is still at its power-up joints.
        assert np.allclose(twin.emulator.controller.q, POWER_UP_JOINTS_RAD)
        # The folder holds what a lab has after its set-up day, in the real formats.
        cfg = load_config(twin.folder / "twin_cell.toml")
        assert cfg.robot.ip == twin.emulator.host and cfg.perception.localiser == "classical"
        cal = load_calibration(twin.folder / "calibration.json")
        target = cal.targets["box"]
        assert math.hypot(target["x_m"] - sim_target.x_m, target["y_m"] - sim_target.y_m) < 0.001
        assert cal.camera_to_base is not None
        assert np.linalg.norm(cal.camera_to_base.translation - twin.camera_to_base.translation) < 0.01
        folder = twin.folder
    finally:
        env.close()
    assert not twin.emulator.running and not Path(folder).exists()


@pytest.mark.parametrize("env_id", ["CellPlatePlace-twin-v0", "CellPlateShelf-twin-v0"])
def test_a_trial_carries_the_real_plate_and_is_scored_by_the_camera(env_id, tmp_path):
    env = make_twin(env_id, reset_log=tmp_path / "resets.jsonl")
    try:
        twin = twin_of(env)
        obs, info = env.reset(seed=3)
        requested = info["privileged"]["requested_pose"]
        true = twin.physics.plate_pose()
        assert math.hypot(true.x_m - requested[0], true.y_m - requested[1]) < 0.01  # the robot staged it
        # The real camera path saw it (off by the default cell's extrinsic calibration error, ~3.4 mm).
        assert np.allclose(obs["pose"][:2], [true.x_m, true.y_m], atol=0.006)
        _, reward, terminated, _, info = env.step(env.unwrapped.grid.zero_action())
        assert terminated and ran_to_its_end(info), info.get("message")
        priv = info["privileged"]
        assert priv["true_e_trans_mm"] < 10.0  # the plate really moved to the receptacle
        # the reward rule: a placement scores its measured error, a plate left on a rim scores 0
        expected = reward_for_error_mm(info["e_trans_mm"], info["e_rot_deg"], env.unwrapped.reward_length_m)
        assert reward == (pytest.approx(expected, rel=1e-6) if info["failure"] is None else 0.0)
        assert twin.emulator.unknown_registers == []  # every command the drivers sent is emulated
        assert twin.physics.collisions == 0
    finally:
        env.close()


def test_a_labs_config_is_rehearsed_with_its_own_speeds_and_workspace(tmp_path):
    lab = tmp_path / "lab.toml"
    text = Path("examples/real_cell.toml").read_text()
    lab.write_text(text)
    cfg = load_config(lab)
    assert cfg.robot.ip != "127.0.0.1"  # the twin replaces it with its emulator's address
    env = make_twin(config=lab, localiser="classical")
    try:
        twin = twin_of(env)
        arm = env.unwrapped.backend.drivers.arm
        assert arm.ip == twin.emulator.host
        assert arm.speeds.max_speed_m_s == cfg.speeds.max_speed_m_s
        assert arm.workspace == cfg.workspace
        assert cfg.robot.tcp_offset_m != arm.tcp_offset_m  # the TCP is the twin gripper's
        env.reset(seed=0)  # the example cell's resets and a trial run on the twin
        _, _, terminated, _, info = env.step(env.unwrapped.grid.zero_action())
        assert terminated and ran_to_its_end(info), info["message"]
    finally:
        env.close()


def test_the_twins_own_address_and_calibration_cannot_be_overridden():
    with pytest.raises(ConfigError, match="twin's own"):
        make_twin(robot_ip="192.168.1.185")
    with pytest.raises(TypeError, match="unknown keyword"):
        make_twin(robot_speed=3)
