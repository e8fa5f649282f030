"""RL100's offline iteration: which actions its PPO learns from, and what its OPE gate is fitted on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch as th

from rmrl_agents import RL100
from rmrl_agents.common.envs import SyntheticPlateEnv
from rmrl_agents.rl100.data import Transitions

from .test_rl100 import TINY, scenes

GOOD = np.array([0.5, -0.4, 0.2], np.float32)
BAD = np.array([-0.5, 0.4, -0.2], np.float32)


def _two_action_model(tmp_path: Path, **kwargs) -> tuple[RL100, np.ndarray, np.ndarray]:
    """A model whose D holds two actions per state of 24 scenes, GOOD rewarded 0.97 and BAD 0,
    imitated on both (so that its action lies between them)."""
    env = SyntheticPlateEnv(action_type="continuous")
    model = RL100(
        "MultiInputPolicy", env, seed=0, policy_kwargs=TINY, imitation_steps=150, critic_steps=200, distill_steps=0,
        data_dir=tmp_path / "run",
        **kwargs,
    )  # fmt: skip
    images, poses = scenes(env, 24)
    model._prior = Transitions(
        np.concatenate([images, images]),
        np.concatenate([poses, poses]),
        np.stack([GOOD] * 24 + [BAD] * 24),
        np.array([0.97] * 24 + [0.0] * 24, np.float32),
    )
    model._setup_learn(10, None, True, "test", False)
    model.imitation_stage()
    return model, images, poses


def _actions_q_is_asked_about(model: RL100) -> list[np.ndarray]:
    """Record every batch of actions the critics' advantage is asked about from now on."""
    asked: list[np.ndarray] = []
    advantage = model.policy.critics.advantage

    def spy(features: th.Tensor, actions: th.Tensor) -> th.Tensor:
        asked.append(actions.detach().cpu().numpy())
        return advantage(features, actions)

    model.policy.critics.advantage = spy  # type: ignore[method-assign]
    return asked


def test_offline_ppo_on_logged_actions_asks_q_only_about_the_data_and_moves_towards_the_rewarded_one(tmp_path: Path) -> None:
    model, images, poses = _two_action_model(tmp_path, offline_actions="logged")
    asked = _actions_q_is_asked_about(model)
    obs = {"image": images, "pose": poses}
    before, _ = model.predict(obs, deterministic=True)
    record = model.offline_iteration()
    after, _ = model.predict(obs, deterministic=True)
    queried = np.concatenate(asked)
    assert len(queried) == 48 and all(np.allclose(a, GOOD) or np.allclose(a, BAD) for a in queried)
    assert record is not None and record["accepted"]
    to_good_before, to_good_after = np.abs(before - GOOD).mean(), np.abs(after - GOOD).mean()
    assert to_good_after < to_good_before - 0.05, (to_good_before, to_good_after)


def test_offline_ppo_on_sampled_actions_asks_q_about_actions_outside_the_data(tmp_path: Path) -> None:
    """The default ("sampled"): Q scores the behaviour policy's own samples, which D never holds."""
    model, _, _ = _two_action_model(tmp_path)
    asked = _actions_q_is_asked_about(model)
    model.offline_iteration()
    queried = np.concatenate(asked)
    assert not any(np.allclose(a, GOOD) or np.allclose(a, BAD) for a in queried)


def test_the_gate_is_fitted_and_scored_on_a_held_out_share_spread_over_the_rewards(tmp_path: Path) -> None:
    model, _, _ = _two_action_model(tmp_path, ope_holdout=0.5)
    rewards = model.offline_data().rewards
    fit, held = model._gate_split(rewards)
    assert len(np.intersect1d(fit, held)) == 0 and sorted(np.concatenate([fit, held]).tolist()) == list(range(48))
    assert len(held) == 24 and int((rewards[held] > 0).sum()) == 12  # half of each reward level
    record = model.offline_iteration()
    assert record is not None and record["n_gate_transitions"] == 24 and record["n_transitions"] == 48


def test_without_a_holdout_the_gate_scores_all_of_d_with_the_candidates_critics(tmp_path: Path) -> None:
    model, _, _ = _two_action_model(tmp_path)
    fit, held = model._gate_split(model.offline_data().rewards)
    assert np.array_equal(fit, np.arange(48)) and np.array_equal(held, fit)
    record = model.offline_iteration()
    assert record is not None and record["n_gate_transitions"] == 48


@pytest.mark.parametrize(
    "kwargs, name", [({"ope_holdout": 1.0}, "ope_holdout"), ({"offline_actions": "mine"}, "offline_actions")]
)
def test_bad_offline_settings_are_refused(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        RL100("MultiInputPolicy", SyntheticPlateEnv(action_type="continuous"), policy_kwargs=TINY, **kwargs)
