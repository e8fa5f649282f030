"""RL100 as an SB3-style algorithm on the continuous synthetic env."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback, StopTrainingOnMaxEpisodes
from stable_baselines3.common.logger import configure

from rmrl_agents import RL100, RMRL, DatasetError, IncompatibleEnvError, RoleModelDataset
from rmrl_agents.common.envs import SyntheticPlateEnv
from rmrl_agents.common.envs.synthetic import correction
from rmrl_agents.common.evaluation import evaluate_policy
from rmrl_agents.rl100.data import Transitions, grid_labels_to_actions
from rmrl_env.actions import ContinuousAdjustment

from .conftest import conditions

TINY = {"resnet_depth": 10, "resnet_width": 8, "denoiser_hidden": (128, 128), "critic_hidden": (64, 64)}


def _role_model_dataset(path: Path, n: int = 200, label_noise: int = 1, seed: int = 0) -> Path:
    """Role-model labels as an RM-RL run would leave them: the best grid action of each state,
    off by up to ``label_noise`` grid steps per axis (imperfect role models)."""
    env = SyntheticPlateEnv()
    rng = np.random.default_rng(seed)
    nvec = env.grid.nvec
    data = RoleModelDataset(path, image_shape=(32, 32, 3), action_nvec=[int(v) for v in nvec])
    obs, _ = env.reset(seed=seed)
    for i in range(n):
        label = np.clip(
            env.optimal_action(obs["pose"].astype(float)) + rng.integers(-label_noise, label_noise + 1, 3), 0, nvec - 1
        )
        data.add(obs["image"], obs["pose"], label, scene=i, trial=i, reward=0.97, role_model_trial=i, role_model_reward=0.99)
        obs, _ = env.reset()
    data.close()
    return path


def scenes(env: SyntheticPlateEnv, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The images (n, H, W, 3) and poses (n, 3) of ``n`` scenes of ``env`` from reset seed 0."""
    obs, _ = env.reset(seed=0)
    images, poses = [], []
    for _ in range(n):
        images.append(obs["image"])
        poses.append(obs["pose"])
        obs, _ = env.reset()
    return np.stack(images), np.stack(poses)


def _best_constant(env: SyntheticPlateEnv, n: int = 400) -> np.ndarray:
    """The constant continuous action nearest the median correction over new scenes."""
    obs, _ = env.reset(seed=2024)
    corrections = []
    for _ in range(n):
        corrections.append(correction(obs["pose"].astype(float)))
        obs, _ = env.reset()
    return env.adjustment_to_action(*np.median(corrections, axis=0))


def _e_trans_mm(policy, n: int = 100) -> float:
    return evaluate_policy(policy, SyntheticPlateEnv(action_type="continuous"), n_eval_episodes=n, seed=123).means()["e_trans_mm"]


@pytest.mark.slow
def test_rl100_ends_well_below_the_best_constant_action(tmp_path: Path) -> None:
    """Prior labels from imperfect role models, then offline and online RL within 32 trials:
    both samplers place with under 60 % of the best constant action's mean error (a constant
    policy cannot pass this: the optimal correction varies with the state)."""
    prior = _role_model_dataset(tmp_path / "role_model")
    env = SyntheticPlateEnv(action_type="continuous")
    const = _best_constant(env)
    e_const = _e_trans_mm(lambda obs: const)
    assert e_const > 2.0  # the state-dependent part of the correction is a few mm
    model = RL100(
        "MultiInputPolicy", env, prior_data=prior, seed=0, policy_kwargs=TINY, imitation_steps=800, offline_iterations=1,
        critic_steps=200, trials_per_iteration=16, online_batch_size=16, distill_steps=200, data_dir=tmp_path / "run",
    )  # fmt: skip
    model.learn(32)
    assert model.num_timesteps == 32 and len(model.trial_log) == 32
    for sampler in ("ddim", "consistency"):
        error = _e_trans_mm(lambda obs, s=sampler: model.predict(obs, deterministic=True, sampler=s)[0])
        assert error < 0.6 * e_const, (sampler, error, e_const)
    assert not _e_trans_mm(lambda obs: const) < 0.6 * e_const  # the criterion fails for a constant policy


def test_stages_log_losses_and_the_ope_decision(tmp_path: Path) -> None:
    prior = _role_model_dataset(tmp_path / "role_model", n=40)
    env = SyntheticPlateEnv(action_type="continuous")
    model = RL100(
        "MultiInputPolicy", env, prior_data=prior, seed=0, policy_kwargs=TINY, imitation_steps=5, offline_iterations=1,
        critic_steps=5, offline_ppo_epochs=1, trials_per_iteration=4, online_batch_size=4, distill_steps=5, data_dir=tmp_path / "run",
    )  # fmt: skip
    model.set_logger(configure(str(tmp_path / "logs"), ["csv"]))
    model.learn(8, log_interval=0)
    decision = model.ope_decisions[0]
    assert decision["delta"] == 0.0  # the default: the bound must exceed 0
    assert decision["accepted"] == (decision["lower"] > decision["delta"])
    with open(tmp_path / "logs" / "progress.csv") as fh:
        keys = set(next(csv.reader(fh)))
    for key in (
        "imitation/loss",
        "reimitation/loss",
        "distill/loss",
        "offline/critic_q_loss",
        "offline/ppo_loss",
        "offline/ope_accepted",
        "online/ppo_loss",
    ):
        assert key in keys, key
    actions = np.asarray(model.trial_log.column("action"), dtype=float)
    assert actions.shape == (8, 3) and np.all(np.abs(actions) <= 1.0) and not np.allclose(actions, np.round(actions))


def test_a_prior_kept_out_of_d_is_imitated_but_never_replayed(tmp_path: Path) -> None:
    """prior_in_offline_data=False: the labels train the imitation stage, but D (critics, OPE gate,
    re-imitation) holds this env's 8 trials alone; the default (the paper's) starts D with them."""
    env = SyntheticPlateEnv(action_type="continuous")
    prior = _role_model_dataset(tmp_path / "role_model", n=20)
    kwargs = {
        "imitation_steps": 5, "offline_iterations": 0, "online_batch_size": 4, "distill_steps": 2, "online_distill_steps": 1,
        "online_ppo_epochs": 1, "policy_kwargs": TINY, "seed": 0,
    }  # fmt: skip
    apart = RL100("MultiInputPolicy", env, prior_data=prior, prior_in_offline_data=False, data_dir=tmp_path / "a", **kwargs)
    apart.learn(8)
    assert apart.imitation_policy is not None and len(apart._prior_transitions()) == 20
    data = apart.offline_data()
    assert len(data) == 8
    np.testing.assert_array_equal(data.actions, apart.trial_log.actions().astype(np.float32))
    joined = RL100("MultiInputPolicy", env, prior_data=prior, data_dir=tmp_path / "j", **kwargs)
    joined.learn(8)
    assert len(joined.offline_data()) == 28


def test_the_ope_delta_can_scale_with_the_spread_of_the_logged_rewards(tmp_path: Path) -> None:
    env = SyntheticPlateEnv(action_type="continuous")
    prior = _role_model_dataset(tmp_path / "role_model", n=20)
    model = RL100(
        "MultiInputPolicy", env, prior_data=prior, seed=0, policy_kwargs=TINY, imitation_steps=5, offline_iterations=0,
        critic_steps=5, offline_ppo_epochs=1, online_batch_size=4, distill_steps=2, ope_delta_scale="reward_sd",
        ope_delta_rel=0.05, ope_confidence=None, data_dir=tmp_path / "run",
    )  # fmt: skip
    model.learn(8)  # logged trials with rewards of their own next to the prior labels' 0.99
    rewards = model.offline_data().rewards
    assert len(rewards) == 28 and np.std(rewards) > 0
    decision = model.offline_iteration()
    assert decision is not None and decision["delta"] == pytest.approx(0.05 * np.std(rewards), rel=1e-5)
    assert decision["accepted"] == (decision["value_new"] - decision["value_old"] >= decision["delta"])
    with pytest.raises(ValueError, match=r"ope_delta_scale must be one of \['value', 'reward_sd'\]"):
        RL100("MultiInputPolicy", env, ope_delta_scale="spread")  # type: ignore[arg-type]


def test_save_load_reproduces_deterministic_actions(tmp_path: Path) -> None:
    env = SyntheticPlateEnv(action_type="continuous")
    prior = _role_model_dataset(tmp_path / "role_model", n=20)
    model = RL100(
        "MultiInputPolicy", env, prior_data=prior, seed=1, policy_kwargs=TINY, n_denoising_steps=4, imitation_steps=10,
        offline_iterations=0, online_batch_size=2, distill_steps=5, data_dir=tmp_path / "run",
    )  # fmt: skip
    model.learn(2)
    model.save(tmp_path / "model.zip")
    model.close_storage()
    loaded = RL100.load(tmp_path / "model.zip", env=SyntheticPlateEnv(action_type="continuous"))
    assert loaded.policy.n_denoising_steps == 4 and loaded.imitated
    obs, _ = env.reset(seed=7)
    for sampler in ("ddim", "consistency"):
        a, _ = model.predict(obs, deterministic=True, sampler=sampler)
        b, _ = loaded.predict(obs, deterministic=True, sampler=sampler)
        assert a.shape == (3,) and np.array_equal(a, b)
    stochastic = [model.predict(obs, deterministic=False)[0] for _ in range(2)]
    assert not np.array_equal(*stochastic)


def test_a_loaded_model_continues_its_trial_log_without_imitating_again(tmp_path: Path) -> None:
    env = SyntheticPlateEnv(action_type="continuous")
    prior = _role_model_dataset(tmp_path / "role_model", n=10)
    kwargs = {"imitation_steps": 5, "offline_iterations": 0, "online_batch_size": 2, "distill_steps": 2}
    model = RL100("MultiInputPolicy", env, prior_data=prior, seed=0, policy_kwargs=TINY, data_dir=tmp_path / "run", **kwargs)
    model.learn(2)
    model.save(tmp_path / "model.zip")
    model.close_storage()
    loaded = RL100.load(tmp_path / "model.zip", env=SyntheticPlateEnv(action_type="continuous"))
    before = [p.detach().clone() for p in loaded.policy.encoder.parameters()]
    loaded.learn(3, reset_num_timesteps=False)
    assert len(loaded.trial_log) == 5 and loaded.num_timesteps == 5  # SB3: 3 more trials
    # no second imitation stage: the trunk (trained only by imitation) is unchanged
    assert all(th.equal(a, b) for a, b in zip(before, loaded.policy.encoder.parameters(), strict=True))


def test_a_callback_stops_learning(tmp_path: Path) -> None:
    env = SyntheticPlateEnv(action_type="continuous")
    model = RL100(
        "MultiInputPolicy", env, seed=0, policy_kwargs=TINY, offline_iterations=0, online_batch_size=2, distill_steps=0,
        data_dir=tmp_path,
    )  # fmt: skip
    model.learn(20, callback=StopTrainingOnMaxEpisodes(max_episodes=3))
    assert model.num_timesteps == 3 and len(model.trial_log) == 3


def test_a_trial_log_of_grid_actions_is_not_reused(tmp_path: Path) -> None:
    grid_model = RMRL(
        "MultiInputPolicy", SyntheticPlateEnv(), policy_kwargs={"resnet_depth": 10, "resnet_width": 8}, data_dir=tmp_path
    )
    grid_model.learn(1)
    grid_model.close_storage()
    model = RL100("MultiInputPolicy", SyntheticPlateEnv(action_type="continuous"), policy_kwargs=TINY, data_dir=tmp_path)
    with pytest.raises(DatasetError, match="logs grid actions, but this model takes continuous actions"):
        model.learn(1)


def test_a_grid_env_is_refused_with_the_fix_named() -> None:
    with pytest.raises(IncompatibleEnvError, match="action_type='continuous'"):
        RL100("MultiInputPolicy", SyntheticPlateEnv())


@pytest.mark.parametrize("k", [0, -3, 2.5])
def test_k_below_one_is_refused(k) -> None:
    with pytest.raises(ValueError, match=r"n_denoising_steps \(K\) must be an integer ≥ 1"):
        RL100("MultiInputPolicy", SyntheticPlateEnv(action_type="continuous"), n_denoising_steps=k)


def test_bad_sampler_and_parameters_are_refused(tmp_path: Path) -> None:
    env = SyntheticPlateEnv(action_type="continuous")
    with pytest.raises(ValueError, match="clip_eps"):
        RL100("MultiInputPolicy", env, clip_eps=0.0)
    model = RL100("MultiInputPolicy", env, policy_kwargs=TINY, data_dir=tmp_path)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="sampler must be one of"):
        model.predict(obs, sampler="ddpm")  # type: ignore[arg-type]


def test_prior_data_of_another_grid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "role_model"
    data = RoleModelDataset(path, image_shape=(32, 32, 3), action_nvec=[11, 11, 11])
    data.add(np.zeros((32, 32, 3), np.uint8), [0.4, 0.0, 0.0], [5, 5, 5], scene=0, trial=0, reward=0.9, role_model_reward=0.9)
    data.close()
    model = RL100("MultiInputPolicy", SyntheticPlateEnv(action_type="continuous"), prior_data=path, policy_kwargs=TINY)
    with pytest.raises(DatasetError, match="action grid"):
        model.learn(1)


def test_grid_labels_map_to_the_same_adjustment() -> None:
    env = SyntheticPlateEnv()
    last = env.grid.nvec - 1  # the last index of each axis; the middle one is zero
    mid = last // 2
    labels = np.array([[0, mid[1], last[2]], [last[0], 0, mid[2]], [13, 7, 3]])
    actions = grid_labels_to_actions(labels, env.grid)
    assert np.allclose(actions[0], [-1, 0, 1]) and np.allclose(actions[1], [1, -1, 0])
    continuous = ContinuousAdjustment(env.grid)
    for label, action in zip(labels, actions, strict=True):
        assert np.allclose(continuous.to_adjustment(action), env.grid.to_adjustment(label), atol=1e-7)
    with pytest.raises(DatasetError, match="outside the grid"):
        grid_labels_to_actions(np.array([[last[0] + 1, 0, 0]]), env.grid)


def test_continuous_synthetic_env_checks_actions() -> None:
    env = SyntheticPlateEnv(action_type="continuous")
    assert env.action_space.shape == (3,)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"outside \[-1, 1\]"):
        env.step(np.array([1.5, 0.0, 0.0]))
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.array([0.1, -0.2, 0.3], np.float32))
    xy_m, yaw_rad = env.grid.max_xy_mm / 1000.0, np.radians(env.grid.max_yaw_deg)  # the action's scale: the grid's ranges
    assert terminated and np.allclose(info["adjustment"], [0.1 * xy_m, -0.2 * xy_m, 0.3 * yaw_rad])


def test_behaviour_noise_spans_the_cells_correction_early_and_narrows_later(imitation_policy) -> None:
    """The per-state sd of the behaviour policy's actions, in mm on the default ±12 mm grid, from a
    denoiser that imitates a deterministic map (so the spread is the sampler's alone): 3–7 mm at the
    start of the RL stages (0.3 mm with the old floor σ_min = 0.01), less at the end."""
    env = SyntheticPlateEnv(action_type="continuous")
    model = RL100("MultiInputPolicy", env, seed=0, policy_kwargs=TINY)
    sampler = model.policy.sampler
    cond = conditions(16, seed=5).repeat_interleave(256, dim=0)

    def sd_mm(progress_remaining: float) -> float:
        model._current_progress_remaining = progress_remaining
        model._explore()
        with th.no_grad():
            actions, _ = sampler.sample(imitation_policy.model, cond, 3, generator=th.Generator().manual_seed(0))
        return float(actions[:, :2].reshape(16, 256, 2).std(dim=1).mean()) * env.grid.max_xy_mm

    early, late = sd_mm(1.0), sd_mm(0.0)
    assert 3.0 <= early <= 7.0, early
    assert late < early / 2, (early, late)


def test_the_first_trials_explore_when_d_is_too_small_for_an_offline_iteration(tmp_path: Path) -> None:
    """No prior data in D (none given, or kept out of it): the first offline iteration has nothing
    to learn from and collects first. Those trials are sampled with the schedule's σ floor, not the
    sampler's default 0.01 (which left a run's first 25 trials at one action per state)."""
    env = SyntheticPlateEnv(action_type="continuous")
    floors: list[float] = []

    class Floor(BaseCallback):
        def _on_step(self) -> bool:
            floors.append(self.model.policy.sampler.sigma_min)
            return True

    model = RL100(
        "MultiInputPolicy", env, seed=0, policy_kwargs=TINY, offline_iterations=1, trials_per_iteration=4,
        critic_steps=1, offline_ppo_epochs=1, distill_steps=0, reimitation_steps=0, online_batch_size=2,
        online_ppo_epochs=1, explore_sigma=(0.4, 0.2), data_dir=tmp_path,
    )  # fmt: skip
    model.learn(6, callback=Floor())
    assert len(floors) == 6
    assert floors[0] == pytest.approx(0.4) and all(0.2 <= f <= 0.4 for f in floors), floors


@pytest.mark.parametrize(
    "n_good, good_reward, bad_reward", [(32, 0.9, 0.1), (8, 0.97, 0.0)], ids=["better half", "few successes"]
)
def test_reimitation_follows_the_better_transitions_of_d(
    tmp_path: Path, n_good: int, good_reward: float, bad_reward: float
) -> None:
    """D holds two actions per state: A rewarded well, B badly. Re-imitation (from an untrained
    denoiser) filters by reward and lands on A: from the better half, and also when A is rewarded in
    only a quarter of D (most trials failed: the median reward is a failure's, which is not kept)."""
    env = SyntheticPlateEnv(action_type="continuous")
    model = RL100("MultiInputPolicy", env, seed=0, policy_kwargs=TINY, reimitation_steps=300, data_dir=tmp_path / "run")
    images, poses = scenes(env, 32)
    a, b = np.array([0.5, -0.4, 0.2], np.float32), np.array([-0.5, 0.4, -0.2], np.float32)
    model._prior = Transitions(
        np.concatenate([images[:n_good], images]),
        np.concatenate([poses[:n_good], poses]),
        np.stack([a] * n_good + [b] * 32),
        np.array([good_reward] * n_good + [bad_reward] * 32, np.float32),
    )
    model.reimitate()
    actions, _ = model.predict({"image": images, "pose": poses}, deterministic=True)
    assert np.abs(actions - a).mean() < 0.1 and np.abs(actions - b).mean() > 0.5, actions.mean(0)


@pytest.mark.parametrize("minimum, expect_update", [(0, True), (3, True), (4, False)])
def test_reimitation_waits_for_enough_successes_when_asked(tmp_path: Path, minimum: int, expect_update: bool) -> None:
    """reimitation_min_transitions: 3 successes among 32 failures pass the filter; with a minimum
    above 3 re-imitation leaves the denoiser as it was (and says so), at or below it re-imitates."""
    env = SyntheticPlateEnv(action_type="continuous")
    model = RL100(
        "MultiInputPolicy", env, seed=0, policy_kwargs=TINY, reimitation_steps=5, reimitation_min_transitions=minimum,
        data_dir=tmp_path / "run",
    )  # fmt: skip
    images, poses = scenes(env, 35)
    actions = np.random.default_rng(0).uniform(-1, 1, (35, 3)).astype(np.float32)
    model._prior = Transitions(images, poses, actions, np.array([0.98] * 3 + [0.0] * 32, np.float32))
    before = [p.detach().clone() for p in model.policy.denoiser.parameters()]
    result = model.reimitate()
    changed = any(not th.equal(p, q) for p, q in zip(before, model.policy.denoiser.parameters(), strict=True))
    assert changed is expect_update and (result is not None) is expect_update


def test_a_negative_reimitation_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="reimitation_min_transitions"):
        RL100("MultiInputPolicy", SyntheticPlateEnv(action_type="continuous"), reimitation_min_transitions=-1, policy_kwargs=TINY)
