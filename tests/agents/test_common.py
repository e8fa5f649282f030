"""The shared pieces of the agents: one evaluation loop, one algorithm map, the synthetic env's
contracts (rmrl_env's grid and reward, privileged ground truth under one key), and imports that
register nothing."""

from __future__ import annotations

import inspect
import json
import math
import typing

import numpy as np
import pytest

from rmrl_agents import ALGORITHMS, REINFORCE, RL100, RMRL, ReplayREINFORCE, algorithm_class
from rmrl_agents.calibration import OffsetCalibration
from rmrl_agents.common.envs import SyntheticPlateEnv
from rmrl_agents.common.evaluation import evaluate_policy, fixed_poses, reset_region
from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm
from rmrl_env.grid import CandidateGrid
from rmrl_env.info import privileged
from rmrl_env.reward import PlacementError, reward

PRIVILEGED_KEYS = {"true_pose", "requested_pose", "true_final_pose", "true_e_trans_mm", "true_e_rot_deg"}


def test_importing_the_agents_registers_no_env_of_their_own(run_python) -> None:
    # rmrl_agents imports rmrl_env (its exceptions), which decides for itself what importing it
    # registers; every id that appears must come from rmrl_env, none from the agents
    out = run_python(
        "import json, gymnasium\n"
        "before = set(gymnasium.registry)\n"
        "import rmrl_agents, rmrl_agents.cli, rmrl_agents.common.envs, rmrl_agents.bench.paper\n"
        "new = {i: str(gymnasium.registry[i].entry_point) for i in set(gymnasium.registry) - before}\n"
        "from rmrl_agents.common.envs import register_synthetic_env\n"
        "env_id = register_synthetic_env()\n"
        "print(json.dumps({'new': new, 'asked': env_id in gymnasium.registry}))\n"
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert result["asked"] is True
    assert {i: e for i, e in result["new"].items() if not e.startswith("rmrl_env.")} == {}


def test_the_synthetic_env_uses_the_envs_grid_and_reward() -> None:
    env = SyntheticPlateEnv()
    assert env.action_space == CandidateGrid().space()
    obs, info = env.reset(seed=3)
    assert set(privileged(info)) == {"true_pose", "requested_pose"}
    action = np.array([4, 17, 9])
    _, r, terminated, _, info = env.step(action)
    truth = privileged(info)
    assert set(truth) == PRIVILEGED_KEYS and terminated
    assert not PRIVILEGED_KEYS & set(info)  # ground truth only under "privileged"
    # the placement error is the adjustment minus the known correction
    error = env.action_to_adjustment(action) - (truth["true_pose"] - obs["pose"].astype(np.float64))
    assert info["e_trans_mm"] == pytest.approx(1000 * math.hypot(error[0], error[1]), abs=1e-3)
    assert r == pytest.approx(reward(PlacementError(info["e_trans_mm"] / 1000, math.radians(info["e_rot_deg"]))))
    assert truth["true_e_trans_mm"] == info["e_trans_mm"]


def test_the_synthetic_env_checks_reset_options_like_the_env() -> None:
    env = SyntheticPlateEnv()
    _, info = env.reset(seed=0, options={"initial_pose": [0.42, 0.05, 0.1]})
    np.testing.assert_allclose(privileged(info)["true_pose"], [0.42, 0.05, 0.1], atol=1e-12)
    with pytest.raises(ValueError, match="outside the reset region"):
        env.reset(options={"initial_pose": [0.9, 0.0, 0.0]})
    with pytest.raises(ValueError, match="not both"):
        env.reset(options={"initial_pose": [0.42, 0.05, 0.1], "scene": "same"})
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['pose'\]"):
        env.reset(options={"pose": [0.4, 0, 0]})


class _Oracle:
    """The optimal action of the synthetic env, through the ``predict`` interface."""

    def __init__(self, env: SyntheticPlateEnv) -> None:
        self.env = env

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        return self.env.optimal_action(observation["pose"]), None


def test_evaluate_policy_new_scenes_are_reproducible_and_rank_policies() -> None:
    env = SyntheticPlateEnv()
    zero_a = evaluate_policy(None, env, 20, seed=5)
    zero_b = evaluate_policy(None, SyntheticPlateEnv(), 20, seed=5)
    assert zero_a.columns() == zero_b.columns() and len(zero_a) == 20
    oracle = evaluate_policy(_Oracle(env), env, 20, seed=5).means()
    zero = zero_a.means()
    # the grid is 1 mm: the oracle lands within half a step per axis; no adjustment misses by the correction
    assert oracle["e_trans_mm"] < 0.75 < 2.0 < zero["e_trans_mm"]
    assert oracle["reward"] > zero["reward"]
    assert oracle["true_e_trans_mm"] == pytest.approx(oracle["e_trans_mm"])
    as_function = evaluate_policy(lambda obs: env.optimal_action(obs["pose"]), env, 20, seed=5)
    assert as_function.means() == oracle
    assert all(e.failure is None and e.initial_pose is None for e in as_function.episodes)


def test_evaluate_policy_on_fixed_poses() -> None:
    env = SyntheticPlateEnv()
    region = reset_region(env)
    poses = fixed_poses(region, 6, seed=1)
    result = evaluate_policy(None, env, poses=poses, seed=100)
    assert [e.initial_pose for e in result.episodes] == poses.tolist()
    assert result.columns() == evaluate_policy(None, SyntheticPlateEnv(), poses=poses, seed=100).columns()
    record = result.records()[0]
    assert record["action"] == env.grid.zero_action().tolist() and record["failure"] is None
    with pytest.raises(ValueError, match="either n_eval_episodes"):
        evaluate_policy(None, env, 3, poses=poses)
    with pytest.raises(ValueError, match="at least one"):
        evaluate_policy(None, env, 0)


def test_one_map_from_name_to_algorithm() -> None:
    expected = {"reinforce": REINFORCE, "replay": ReplayREINFORCE, "rmrl": RMRL, "rl100": RL100, "calibration": OffsetCalibration}
    assert expected == ALGORITHMS
    assert algorithm_class("rmrl") is RMRL and algorithm_class("ReplayREINFORCE") is ReplayREINFORCE
    with pytest.raises(ValueError, match=r"unknown algorithm 'ppo'.*'reinforce'"):
        algorithm_class("ppo")


@pytest.mark.parametrize("cls", list(ALGORITHMS.values()))
def test_algorithm_constructors_are_fully_typed(cls) -> None:
    params = inspect.signature(cls.__init__).parameters
    kinds = {p.kind for p in params.values()}
    assert inspect.Parameter.VAR_KEYWORD not in kinds and inspect.Parameter.VAR_POSITIONAL not in kinds
    assert all(p.annotation is not inspect.Parameter.empty for name, p in params.items() if name != "self")
    base = inspect.signature(OneStepAlgorithm.__init__).parameters
    # the calibration takes no gradient step: it has none of the step's parameters
    gradient = {"learning_rate", "reward_baseline", "baseline_decay", "max_grad_norm"} if cls is OffsetCalibration else set()
    for name, p in base.items():  # every base parameter, with the same default (each algorithm picks its own step size)
        if name in gradient:
            assert name not in params, name
            continue
        assert name in params, name
        assert name == "learning_rate" or params[name].default == p.default, name


@pytest.mark.parametrize("cls", list(ALGORITHMS.values()))
def test_each_algorithm_types_the_base_with_its_own_policy(cls) -> None:
    # the base is generic over its policy: every algorithm names the policy class it checks for,
    # and the one optimizer step lives in the base (RL100 has no copy of it)
    (policy_type,) = next(
        typing.get_args(base) for klass in cls.__mro__ for base in getattr(klass, "__orig_bases__", ())
        if typing.get_origin(base) is OneStepAlgorithm
    )  # fmt: skip
    assert policy_type is cls.policy_base
    steps = {name for klass in cls.__mro__ if klass is not OneStepAlgorithm for name in vars(klass) if "step" in name}
    assert not steps & {"_step", "_gradient_step", "_optimizer_step"}, steps
    assert hasattr(cls, "policy_gradient_update") == (cls not in (RL100, OffsetCalibration))


def test_the_trial_log_keeps_ground_truth_under_privileged(make_env, tiny_policy, tmp_path) -> None:
    model = REINFORCE("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path)
    model.learn(3)
    for rec in model.trial_log.records:
        assert set(rec["privileged"]) == PRIVILEGED_KEYS
        assert rec["privileged"]["true_e_trans_mm"] == pytest.approx(rec["e_trans_mm"])
        assert not PRIVILEGED_KEYS & set(rec["info"]) and "privileged" not in rec["reset_info"]


def test_learning_leaves_no_empty_sb3_log_folder_and_still_logs(make_env, tiny_policy, tmp_path, monkeypatch) -> None:
    """SB3 makes a /tmp/SB3-<date> folder per learn() when nothing goes to files; ours does not,
    and a TensorBoard folder, when asked for, is still written."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = REINFORCE("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path / "trials")
    model.learn(2)
    assert not list(tmp_path.glob("SB3-*"))
    model.logger.record("probe/value", 1.0)  # the logger works (records without a folder)
    tb = REINFORCE(
        "MultiInputPolicy",
        make_env(),
        seed=0,
        policy_kwargs=tiny_policy,
        data_dir=tmp_path / "t2",
        tensorboard_log=str(tmp_path / "tb"),
    )
    tb.learn(2, log_interval=1)
    assert list((tmp_path / "tb").glob("REINFORCE_*"))
