"""The env as a Gymnasium user sees it: registration, spaces, checker, seeds, scenes, kwargs."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rmrl_env  # noqa: F401


@pytest.mark.parametrize("env_id", ["CellPlatePlace-sim-v0", "CellPlateShelf-sim-v0"])
def test_both_ids_make_and_pass_the_env_checker(env_id):
    env = gym.make(env_id, image_size=(60, 80))
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert obs["image"].shape == (60, 80, 3) and obs["image"].dtype == np.uint8
    assert obs["pose"].shape == (3,) and obs["pose"].dtype == np.float32
    assert isinstance(env.action_space, gym.spaces.MultiDiscrete)
    assert env.action_space.nvec.tolist() == [25, 25, 21]
    assert info["privileged"]["true_pose"].shape == (3,)
    env.close()


def test_kwargs_override_defaults():
    env = gym.make(
        "CellPlatePlace-sim-v0",
        image_size=(48, 64),
        grid_max_xy_mm=6,
        grid_step_xy_mm=2,
        grid_max_yaw_deg=2,
        grid_step_yaw_deg=1,
        reward_length_m=0.05,
        scene_jitter_m=0.0005,
        tcp_offset_mm=(0.0, 0.0, 0.0),
    )
    u = env.unwrapped
    assert env.observation_space["image"].shape == (48, 64, 3)
    assert env.action_space.nvec.tolist() == [7, 7, 5]
    assert u.action_to_adjustment([6, 0, 2]) == pytest.approx([0.006, -0.006, 0.0])
    assert u.adjustment_to_action(0.0021, 0.0, math.radians(-1.2)).tolist() == [4, 3, 1]
    with pytest.raises(ValueError, match=r"Δx = 500 mm.* outside the grid's ±6 mm"):  # metres that look like millimetres
        u.adjustment_to_action(0.5, 0.0, 0.0)
    assert u.reward_length_m == 0.05 and u.scene_jitter_m == 0.0005
    env.close()


def test_the_same_seed_gives_the_same_trial():
    def run():
        env = gym.make("CellPlatePlace-sim-v0", image_size=(30, 40))
        obs, info = env.reset(seed=11)
        _, r, _, _, step_info = env.step(np.array([12, 9, 10]))
        env.close()
        return obs, info, r, step_info

    (o1, i1, r1, s1), (o2, i2, r2, s2) = run(), run()
    assert np.array_equal(o1["image"], o2["image"]) and np.array_equal(o1["pose"], o2["pose"])
    assert np.array_equal(i1["privileged"]["true_pose"], i2["privileged"]["true_pose"])
    assert r1 == r2 and s1["e_trans_mm"] == s2["e_trans_mm"]


def test_same_scene_repeats_the_initial_pose_within_the_jitter(place_env):
    _obs, info = place_env.reset(seed=5)
    first = info["privileged"]["true_pose"]
    jitter_m, jitter_rad = place_env.unwrapped.scene_jitter_m, place_env.unwrapped.scene_jitter_rad
    for _ in range(3):
        _, info = place_env.reset(options={"scene": "same"})
        assert info["scene"] == "same"
        assert np.abs(info["privileged"]["true_pose"][:2] - first[:2]).max() <= jitter_m + 3e-4  # + settling
        assert abs(info["privileged"]["true_pose"][2] - first[2]) <= jitter_rad + math.radians(0.1)
    _, info = place_env.reset(options={"scene": "new"})
    assert np.linalg.norm(info["privileged"]["true_pose"][:2] - first[:2]) > 0.005
    assert info["scene_id"] >= 1


def test_explicit_initial_pose(place_env):
    _, info = place_env.reset(options={"initial_pose": [0.40, -0.2, 0.1]})
    assert info["privileged"]["true_pose"] == pytest.approx([0.40, -0.2, 0.1], abs=5e-4)


def test_stable_baselines3_ppo_learns_on_the_env():
    from stable_baselines3 import PPO

    env = gym.make("CellPlatePlace-sim-v0", image_size=(48, 64))
    model = PPO("MultiInputPolicy", env, n_steps=4, batch_size=4, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=8)
    action, _ = model.predict(env.reset(seed=1)[0], deterministic=True)
    assert env.action_space.contains(action)
    env.close()


def test_config_hash_identifies_the_mdp():
    a = gym.make("CellPlatePlace-sim-v0").unwrapped
    b = gym.make("CellPlatePlace-sim-v0").unwrapped
    c = gym.make("CellPlatePlace-sim-v0", tcp_offset_mm=(0.0, 0.0, 0.0)).unwrapped
    d = gym.make("CellPlateShelf-sim-v0").unwrapped
    assert a.config_hash == b.config_hash
    assert len({a.config_hash, c.config_hash, d.config_hash}) == 3
    _, info = a.reset(seed=0)
    assert info["config_hash"] == a.config_hash
    _, _, _, _, step_info = a.step(a.grid.zero_action())
    assert step_info["config_hash"] == a.config_hash
