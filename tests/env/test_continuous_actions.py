"""``action_type="continuous"``: a Box action scaled to the grid's ranges, same routine and reward."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.actions import ContinuousAdjustment
from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid


def test_scaling_maps_the_unit_box_onto_the_grid_ranges():
    space = ContinuousAdjustment(CandidateGrid(max_xy_mm=8.0, step_xy_mm=1.0, max_yaw_deg=4.0, step_yaw_deg=0.5))
    assert space.to_adjustment([1.0, -0.5, 0.25]) == pytest.approx([0.008, -0.004, math.radians(1.0)])
    assert space.to_action(0.002, -0.0084, math.radians(-4.2)) == pytest.approx([0.25, -1.0, -1.0])  # half a step beyond
    assert space.to_action(0.002, -0.02, 0.0, clip=True) == pytest.approx([0.25, -1.0, 0.0])
    with pytest.raises(ValueError, match=r"outside the grid's ±8 mm and ±4°"):
        space.to_action(0.002, -0.02, 0.0)
    assert space.to_adjustment(space.zero_action()) == pytest.approx([0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        ([np.nan, 0.0, 0.0], "not finite"),
        ([1.5, 0.0, 0.0], r"outside \[-1, 1\]"),
        ([0.0, 0.0], "3 numbers"),
        ("left", "3 numbers"),
    ],
)
def test_invalid_actions_name_the_valid_range(action, problem):
    with pytest.raises(ValueError, match=rf"{problem}.*Box\(-1, 1, \(3,\), float32\): Δx, Δy = a·12 mm and Δψ = a·5°"):
        ContinuousAdjustment().to_adjustment(action)


def test_unknown_action_type_is_a_config_error():
    with pytest.raises(ConfigError, match="action_type must be one of"):
        gym.make("CellPlatePlace-sim-v0", action_type="discrete")


def test_the_continuous_env_picks_at_the_estimate_plus_the_scaled_action():
    env = gym.make("CellPlatePlace-sim-v0", image_size=(30, 40), action_type="continuous", grid_max_xy_mm=6)
    try:
        assert env.action_space == gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        obs, _ = env.reset(seed=2)
        _, reward, terminated, _, info = env.step(np.array([0.5, -1.0, 0.2], dtype=np.float32))
        assert terminated and 0.0 <= reward <= 1.0
        assert info["adjustment"] == pytest.approx([0.003, -0.006, math.radians(1.0)])
        assert info["pick_pose"][:2] == pytest.approx(obs["pose"][:2].astype(float) + np.array([0.003, -0.006]), abs=1e-6)
        assert (
            env.unwrapped.config_hash
            != gym.make("CellPlatePlace-sim-v0", image_size=(30, 40), grid_max_xy_mm=6).unwrapped.config_hash
        )
    finally:
        env.close()


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["SAC", "PPO"])
def test_sb3_continuous_algorithms_train_on_it(algo):
    import stable_baselines3 as sb3

    env = gym.make("CellPlatePlace-sim-v0", image_size=(36, 48), action_type="continuous")
    kwargs = (
        {"learning_starts": 2, "batch_size": 4, "buffer_size": 64}
        if algo == "SAC"
        else {"n_steps": 4, "batch_size": 4, "n_epochs": 1}
    )
    model = getattr(sb3, algo)("MultiInputPolicy", env, seed=0, device="cpu", **kwargs)
    model.learn(6)
    obs, _ = env.reset(seed=9)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action.astype(np.float32))
    _, reward, *_ = env.step(action)
    assert 0.0 <= reward <= 1.0
    env.close()
