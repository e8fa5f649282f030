"""Role-model mechanics of RM-RL checked exactly (paper eq. 2-4, 7-8)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rmrl_agents import RMRL, select_role_model
from rmrl_agents.common.envs import SyntheticPlateEnv


class RecordingEnv(SyntheticPlateEnv):
    """Synthetic env that records reset options and can replace the reward."""

    def __init__(self, reward_fn=None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reset_options: list[Any] = []
        self.reward_fn = reward_fn

    def reset(self, *, seed=None, options=None):
        self.reset_options.append(None if options is None else options.get("scene"))
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, term, trunc, info = super().step(action)
        if self.reward_fn is not None:
            reward = self.reward_fn(np.asarray(action))
        return obs, reward, term, trunc, info


def _model(env: gym.Env, tmp_path, tiny: dict, **kwargs: Any) -> RMRL:
    kwargs.setdefault("scene_size", 3)
    return RMRL("MultiInputPolicy", env, seed=0, policy_kwargs=tiny, data_dir=tmp_path / "data", **kwargs)


def test_select_role_model_argmax_ties_and_nan() -> None:
    assert select_role_model([0.2, 0.9, 0.5]) == 1
    assert select_role_model([0.7, 0.9, 0.9, 0.1]) == 1  # tie: the earliest trial
    assert select_role_model([0.5, 0.5, 0.5]) == 0
    assert select_role_model([float("nan"), 0.1, float("nan")]) == 1  # no measurement never wins
    assert select_role_model([float("nan")]) is None
    assert select_role_model([]) is None


def test_scenes_ask_for_same_initial_state_and_label_every_state(tmp_path, tiny_policy) -> None:
    env = RecordingEnv()
    model = _model(env, tmp_path, tiny_policy, replay_freq=0)
    model.learn(9)
    # reset sequence: learn() resets for scene 0 (no option = new), then same, same, new, same, same, new, ...
    assert env.reset_options[:9] == [None, "same", "same", "new", "same", "same", "new", "same", "same"]
    log = model.trial_log
    scenes = [r["scene"] for r in log.records]
    assert scenes == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    poses = log.poses()
    for s in range(3):  # within a scene, P^e stays within the re-placement jitter
        assert np.abs(poses[3 * s : 3 * s + 3] - poses[3 * s]).max() < 0.003
    data = model.dataset
    assert len(data) == 9
    rewards, actions = log.rewards(), log.actions()
    labels = data.labels()
    for s in range(3):
        trials = [3 * s, 3 * s + 1, 3 * s + 2]
        best = trials[int(np.argmax(rewards[trials]))]
        recs = [r for r in data.records if r["scene"] == s]
        assert sorted(r["trial"] for r in recs) == trials  # every state of the scene, once
        for r in recs:
            assert r["role_model_trial"] == best
            assert r["role_model_reward"] == pytest.approx(rewards[best])
            np.testing.assert_array_equal(labels[r["i"]], actions[best])  # I_i = indices of a*_i
            np.testing.assert_array_equal(data.get("image", [r["i"]])[0], log.get("image", [r["trial"]])[0])
            np.testing.assert_allclose(data.poses()[r["i"]], poses[r["trial"]])


def test_tied_rewards_label_with_the_first_trial(tmp_path, tiny_policy) -> None:
    model = _model(RecordingEnv(reward_fn=lambda a: 0.5), tmp_path, tiny_policy, replay_freq=0)
    model.learn(6)
    actions = model.trial_log.actions()
    labels = model.dataset.labels()
    np.testing.assert_array_equal(labels[:3], np.repeat(actions[[0]], 3, 0))
    np.testing.assert_array_equal(labels[3:], np.repeat(actions[[3]], 3, 0))


def test_scene_where_everything_failed_is_not_labelled(tmp_path, tiny_policy) -> None:
    model = _model(RecordingEnv(reward_fn=lambda a: 0.0), tmp_path, tiny_policy)
    model.learn(6)
    assert len(model.trial_log) == 6 and len(model.dataset) == 0


def test_cross_entropy_on_scene_teaches_the_role_model(tmp_path, tiny_policy) -> None:
    """After a scene, the D_i update moves π to the role model's indices on the scene's states."""
    model = _model(RecordingEnv(), tmp_path, tiny_policy, scene_epochs=60, online_updates=False, replay_freq=0)
    model.learn(3)
    label = model.dataset.labels()[0]
    log = model.trial_log
    obs = model._obs_tensor(log.get("image", [0, 1, 2]), log.poses())
    predicted = model.policy(obs, deterministic=True).numpy()
    np.testing.assert_array_equal(predicted, np.repeat(label[None], 3, 0))


def test_replay_of_the_whole_dataset_every_replay_freq_trials(tmp_path, tiny_policy, monkeypatch) -> None:
    model = _model(RecordingEnv(), tmp_path, tiny_policy, replay_freq=4, replay_batch_size=5, replay_gradient_steps=2)
    calls: list[tuple[str, int]] = []
    original = model.cross_entropy_update

    def spy(images, poses, labels, learning_rate, key="train/ce_loss"):
        calls.append((key, len(labels), model.num_timesteps))
        return original(images, poses, labels, learning_rate, key)

    monkeypatch.setattr(model, "cross_entropy_update", spy)
    model.learn(12)
    scene = [c for c in calls if c[0] == "train/scene_ce_loss"]
    replay = [c for c in calls if c[0] == "train/replay_ce_loss"]
    epochs = model.scene_epochs  # cross-entropy steps per finished scene
    assert [c[2] for c in scene] == [t for t in (3, 6, 9, 12) for _ in range(epochs)] and all(c[1] == 3 for c in scene)
    # at trials 4, 8, 12 (D has 3, 6, 12 labels): 2 batches of min(5, |D|)
    assert [(c[2], c[1]) for c in replay] == [(4, 3), (4, 3), (8, 5), (8, 5), (12, 5), (12, 5)]


def test_relabelling_after_a_crash_is_idempotent(tmp_path, tiny_policy) -> None:
    model = _model(RecordingEnv(), tmp_path, tiny_policy, replay_freq=0)
    model.learn(3)
    assert len(model.dataset) == 3
    model._open_scene, model._open_scene_id = [0, 1, 2], 0  # the scene processed again
    model.close_scene()
    assert len(model.dataset) == 3


def test_partial_scene_is_closed_when_learn_resets_the_env(tmp_path, tiny_policy) -> None:
    model = _model(RecordingEnv(), tmp_path, tiny_policy, scene_size=4, replay_freq=0)
    model.learn(6)  # one full scene + two trials of the next
    assert len(model.dataset) == 4
    model.learn(2)  # reset_num_timesteps=True resets the env: the open scene ends with its 2 trials
    assert len(model.dataset) == 6
    assert [r["scene"] for r in model.trial_log.records] == [0, 0, 0, 0, 1, 1, 2, 2]
