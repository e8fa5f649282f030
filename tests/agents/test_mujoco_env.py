"""The agents on the MuJoCo cell-plate envs (skipped until rmrl_env is installed and registers them)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rmrl_agents import REINFORCE, RMRL, ReplayREINFORCE
from rmrl_agents.common.evaluation import evaluate_policy

rmrl_env = pytest.importorskip("rmrl_env")


def _make(env_id: str) -> gym.Env:
    if env_id not in gym.registry:
        pytest.skip(f"{env_id} is not registered by rmrl_env yet")
    return gym.make(env_id)


@pytest.mark.parametrize("algo", [REINFORCE, ReplayREINFORCE, RMRL])
def test_agent_runs_on_cellplate_place(algo, tiny_policy, tmp_path) -> None:
    env = _make("CellPlatePlace-sim-v0")
    kwargs = {"scene_size": 2, "replay_freq": 2} if algo is RMRL else {}
    model = algo("MultiInputPolicy", env, seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path, **kwargs)
    model.learn(4)
    log = model.trial_log
    assert len(log) == 4
    assert log.array("image").shape[1:] == env.observation_space["image"].shape
    for rec in log.records:
        assert 0.0 <= rec["reward"] <= 1.0
        assert "e_trans_mm" in rec and "success" in rec
    if algo is RMRL:
        assert len(model.dataset) == 4
        # the scene's second trial started from the same initial pose (within the re-placement jitter)
        poses = log.poses()
        assert np.abs(poses[1, :2] - poses[0, :2]).max() < 0.01
    model.save(tmp_path / "m.zip")
    loaded = algo.load(tmp_path / "m.zip", env=env)
    obs, _ = env.reset(seed=1)
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    result = evaluate_policy(loaded, env, n_eval_episodes=1).means()
    assert 0.0 <= result["reward"] <= 1.0


def test_shelf_env_runs(tiny_policy, tmp_path) -> None:
    env = _make("CellPlateShelf-sim-v0")
    model = RMRL("MultiInputPolicy", env, seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path, scene_size=2)
    model.learn(2)
    assert len(model.trial_log) == 2


def test_an_agent_learns_on_the_plate_crop(tiny_policy, tmp_path) -> None:
    """The crop as the agents' image: the log, the signature and a saved model all hold the crop."""
    from rmrl_agents.common.env_signature import env_signature
    from rmrl_agents.common.wrappers import PlateCropAsImage

    env = PlateCropAsImage(gym.make("CellPlatePlace-sim-v0", plate_crop=True))
    crop_shape = env.observation_space["image"].shape
    assert crop_shape == (75, 100, 3) and set(env.observation_space.spaces) == {"image", "pose"}
    model = RMRL("MultiInputPolicy", env, seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path, scene_size=2)
    model.learn(2)
    assert model.trial_log.array("image").shape[1:] == crop_shape
    assert env_signature(env)["image_shape"] == list(crop_shape)
    model.save(tmp_path / "m")
    obs, _ = env.reset(seed=1)
    assert np.array_equal(
        RMRL.load(tmp_path / "m", env=env).predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
    )
    with pytest.raises(ValueError, match="plate_crop=True"):
        PlateCropAsImage(gym.make("CellPlatePlace-sim-v0"))
