"""Each agent measurably improves on the synthetic env (optimal action known), in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from rmrl_agents import REINFORCE, RMRL, ReplayREINFORCE, RoleModelDataset
from rmrl_agents.common.envs import SyntheticPlateEnv
from rmrl_agents.common.evaluation import evaluate_policy

from .conftest import EVAL_SEED

N_TRIALS = 300
# a uniformly random grid action misses c(P^e) by ~8.7 mm on average (reward ≈ 0.915)
RANDOM_E_TRANS_MM = 8.7


@pytest.mark.parametrize("algo", [REINFORCE, ReplayREINFORCE, RMRL])
def test_agent_improves_mean_reward(algo, make_env, tiny_policy, tmp_path) -> None:
    model = algo("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path)
    model.learn(N_TRIALS)
    rewards = model.trial_log.rewards()
    assert len(rewards) == N_TRIALS
    first, last = rewards[:75].mean(), rewards[-75:].mean()
    assert last > first + 0.015, f"training reward {first:.4f} -> {last:.4f}"
    result = evaluate_policy(model, make_env(), 100, seed=EVAL_SEED).means()
    assert result["e_trans_mm"] < 7.0, result
    assert result["reward"] > 0.93, result


def _optimal_dataset(path, n: int = 200, seed: int = 0) -> RoleModelDataset:
    """Labels an oracle role model would give: the optimal action of each state."""
    env = SyntheticPlateEnv()
    data = RoleModelDataset(path, image_shape=(32, 32, 3), action_nvec=env.action_space.nvec.tolist())
    obs, _ = env.reset(seed=seed)
    for i in range(n):
        data.add(obs["image"], obs["pose"], env.optimal_action(obs["pose"]), scene=i, trial=i)
        obs, _ = env.reset()
    return data


def test_pretraining_on_role_model_labels(make_env, tiny_policy, tmp_path) -> None:
    _optimal_dataset(tmp_path / "earlier").close()
    fresh = RMRL("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path / "a")
    before = evaluate_policy(fresh, make_env(), 100, seed=EVAL_SEED).means()
    model = RMRL("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path / "b")
    stats = model.pretrain(tmp_path / "earlier", n_epochs=30, learning_rate=3e-3)
    after = evaluate_policy(model, make_env(), 100, seed=EVAL_SEED).means()
    assert stats["n_labels"] == 200 and stats["accuracy"] > 0.1
    assert after["e_trans_mm"] < 4.0 < before["e_trans_mm"], (before, after)
    # Pretrained RM-RL then trains as RM-RL
    model.learn(10)
    assert len(model.dataset) == 10 and model.num_timesteps == 10


def test_pretrain_rejects_incompatible_or_corrupt_data(make_env, tiny_policy, tmp_path) -> None:
    from rmrl_agents import DatasetError

    model = RMRL("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path / "m")
    other_grid = RoleModelDataset(tmp_path / "grid", image_shape=(32, 32, 3), action_nvec=[11, 11, 11])
    other_grid.add(np.zeros((32, 32, 3), np.uint8), [0.4, 0, 0], [1, 1, 1])
    other_grid.close()
    with pytest.raises(DatasetError, match="action grid"):
        model.pretrain(tmp_path / "grid")
    other_size = RoleModelDataset(tmp_path / "size", image_shape=(64, 64, 3), action_nvec=model.action_space.nvec.tolist())
    other_size.add(np.zeros((64, 64, 3), np.uint8), [0.4, 0, 0], [1, 1, 1])
    other_size.close()
    with pytest.raises(DatasetError, match="images of shape"):
        model.pretrain(tmp_path / "size")
    _optimal_dataset(tmp_path / "bad", n=5).close()
    lines = (tmp_path / "bad" / "index.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "bad" / "index.jsonl").write_text("".join([*lines[:2], "{oops\n", *lines[3:]]))
    weights = {k: v.clone() for k, v in model.policy.state_dict().items()}
    with pytest.raises(DatasetError, match="line 3"):
        model.pretrain(tmp_path / "bad")
    assert all((model.policy.state_dict()[k] == v).all() for k, v in weights.items())  # nothing half-learned
    with pytest.raises(FileNotFoundError):
        model.pretrain(tmp_path / "missing")
