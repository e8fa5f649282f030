"""The grid agents' learning core: a local start at zero, ordinal readouts and labels, normalised
advantages, an entropy bonus, collapse diagnostics, and the paper's recipe kept reachable."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch as th

from rmrl_agents import REINFORCE, RMRL, ReplayREINFORCE
from rmrl_agents.common.exploration import as_grid_actions, commonest_share, exploration_summary, exploration_windows
from rmrl_agents.common.losses import RewardBaseline, label_targets, multi_head_cross_entropy
from rmrl_agents.policies import read_out, start_logits
from rmrl_agents.recipes import paper_kwargs


def test_heads_start_around_the_zero_adjustment(make_env, tiny_policy, tmp_path) -> None:
    env = make_env()
    zero = env.unwrapped.grid.zero_action()
    model = REINFORCE("MultiInputPolicy", env, seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert np.array_equal(action, zero)
    # samples stay local: within a few grid steps of zero, not spread over the whole grid
    samples = np.array([model.predict(obs, deterministic=False)[0] for _ in range(300)])
    assert np.abs(samples - zero).mean() < 3.5
    assert len({tuple(s) for s in samples}) > 20  # but they explore
    paper = REINFORCE("MultiInputPolicy", make_env(), seed=0, data_dir=tmp_path / "p", **paper_kwargs("REINFORCE", tiny_policy))
    spread = np.array([paper.predict(obs, deterministic=False)[0] for _ in range(300)])
    assert np.abs(spread - zero).mean() > 4.0  # the paper's uniform start spreads over the grid


def test_start_logits_are_a_normalised_gaussian_at_the_middle_bin() -> None:
    p = th.softmax(start_logits(25, 3.0), 0)
    assert p.argmax().item() == 12 and abs(p.sum().item() - 1) < 1e-6
    assert abs(float((p * (th.arange(25) - 12) ** 2).sum()) - 9.0) < 0.2
    assert th.equal(start_logits(25, None), th.zeros(25))


def test_readouts_respect_the_grids_order() -> None:
    # a broad, two-peaked head: argmax jumps to the taller far peak, the mean and median do not
    p = th.zeros(1, 11)
    p[0, [2, 3, 4]] = th.tensor([0.2, 0.2, 0.2])
    p[0, 9] = 0.4
    assert read_out([p], "argmax").item() == 9
    assert read_out([p], "mean").item() == round(float((p * th.arange(11)).sum()))
    assert read_out([p], "median").item() == 4


def test_smoothed_labels_share_weight_with_neighbouring_bins() -> None:
    q = label_targets(th.tensor([5]), 11, 2.0)[0]
    assert q.argmax().item() == 5 and q[4] == q[6] and q[4] > q[2] > q[0] > 0
    assert th.equal(label_targets(th.tensor([5]), 11, 0.0)[0], th.nn.functional.one_hot(th.tensor(5), 11).float())
    # a prediction one bin off the label costs less than one five bins off (one-hot: the same)
    near = th.full((1, 11), -10.0)
    near[0, 6] = 10.0
    far = th.full((1, 11), -10.0)
    far[0, 10] = 10.0
    label = th.tensor([[5]])
    assert multi_head_cross_entropy(near, [11], label, 2.0)[0] < multi_head_cross_entropy(far, [11], label, 2.0)[0]
    assert th.isclose(multi_head_cross_entropy(near, [11], label)[0], multi_head_cross_entropy(far, [11], label)[0])


def test_advantages_are_measured_in_reward_standard_deviations() -> None:
    small, large = RewardBaseline("mean", normalize=True), RewardBaseline("mean", normalize=True)
    rng = np.random.default_rng(0)
    for r in rng.normal(0.95, 0.01, 200):
        small.update(r)
    for r in rng.normal(0.95, 0.10, 200):
        large.update(r)
    assert 0.007 < small.scale < 0.013 and 0.07 < large.scale < 0.13
    # one sd above the mean is about +1 on either scale
    assert small.advantages([small.value + 0.01])[0] == pytest.approx(1.0, abs=0.35)
    assert large.advantages([large.value + 0.10])[0] == pytest.approx(1.0, abs=0.35)
    raw = RewardBaseline("mean")
    raw.update(0.9)
    assert raw.advantages([0.95])[0] == pytest.approx(0.05)


def test_the_entropy_bonus_slows_collapse(make_env, tiny_policy, tmp_path) -> None:
    """The same trials at a high learning rate: with the bonus, the heads keep more entropy."""
    entropies = {}
    for coef in (0.0, 0.2):
        model = REINFORCE(
            "MultiInputPolicy",
            make_env(),
            seed=0,
            policy_kwargs=tiny_policy,
            data_dir=tmp_path / str(coef),
            ent_coef=coef,
            learning_rate=3e-3,
        )
        model.learn(60)
        env = make_env()
        obs, _ = env.reset(seed=3)
        with th.no_grad():
            dist = model.policy.get_distribution(model.policy.obs_to_tensor(obs)[0])
        entropies[coef] = float(dist.entropy().mean())
    assert entropies[0.2] > entropies[0.0] + 0.05, entropies


def test_collapse_diagnostics_in_the_log_and_the_records(make_env, tiny_policy, tmp_path) -> None:
    from stable_baselines3.common.logger import configure

    model = RMRL("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path)
    model.set_logger(configure(str(tmp_path / "log"), ["csv"]))
    model.learn(30, log_interval=10)
    with open(tmp_path / "log" / "progress.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and all(0 < float(r["explore/commonest_share_25"]) <= 1 for r in rows)
    assert all(float(r["explore/entropy_dx_nats"]) > 0 for r in rows)
    records = model.trial_log.records
    assert all(len(r["policy_entropy"]) == 3 and all(v > 0 for v in r["policy_entropy"]) for r in records)
    summary = exploration_summary(records)
    assert 0 < summary["commonest_share"] <= 1 and summary["trials"] == 25
    assert {"entropy_dx_nats", "entropy_dy_nats", "entropy_dpsi_nats"} <= set(summary)
    windows = exploration_windows(model.trial_log.actions())
    assert [w["trials"] for w in windows] == [25, 5]
    # a collapsed policy shows as such
    same = np.tile([[3, 4, 5]], (25, 1))
    assert commonest_share(same) == 1.0 and exploration_windows(same)[0]["distinct_actions"] == 1


def test_paper_recipe_is_reachable_and_distinct(make_env, tiny_policy, tmp_path) -> None:
    kwargs = paper_kwargs("RMRL", tiny_policy)
    model = RMRL("MultiInputPolicy", make_env(), seed=0, data_dir=tmp_path, **kwargs)
    assert model.label_sigma == 0 and model.scene_epochs == 1 and model.ent_coef == 0
    assert model.baseline.kind == "none" and not model.normalize_advantage
    assert model.policy.readout == "argmax" and model.policy.init_spread_bins is None
    assert model.policy.resnet_width == tiny_policy["resnet_width"]
    improved = RMRL("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path / "i")
    assert improved.label_sigma > 0 and improved.ent_coef > 0 and improved.policy.readout != "argmax"
    with pytest.raises(ValueError, match="no paper recipe"):
        paper_kwargs("RL100")


@pytest.mark.parametrize("algo", [REINFORCE, ReplayREINFORCE, RMRL])
def test_new_settings_survive_save_and_load(algo, make_env, tiny_policy, tmp_path) -> None:
    model = algo(
        "MultiInputPolicy",
        make_env(),
        seed=0,
        policy_kwargs={**tiny_policy, "readout": "median"},
        ent_coef=0.03,
        data_dir=tmp_path,
    )
    model.learn(6)
    model.save(tmp_path / "m")
    loaded = algo.load(tmp_path / "m", env=make_env())
    assert loaded.policy.readout == "median" and loaded.ent_coef == 0.03 and loaded.normalize_advantage
    obs, _ = make_env().reset(seed=4)
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_a_model_saved_before_the_new_core_predicts_as_before(make_env, tiny_policy, tmp_path) -> None:
    """A file without ``policy_format`` was a uniform-start, argmax policy: it loads as one."""
    model = RMRL("MultiInputPolicy", make_env(), seed=0, policy_kwargs=tiny_policy, data_dir=tmp_path)
    del model.policy_format  # what an older file holds: no such field, no readout in policy_kwargs
    model.save(tmp_path / "old")
    loaded = RMRL.load(tmp_path / "old", env=make_env())
    assert loaded.policy.readout == "argmax" and loaded.policy.init_spread_bins is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ent_coef": -0.1}, "ent_coef"),
        ({"label_sigma": -1.0}, "label_sigma"),
        ({"policy_kwargs": {"readout": "mode"}}, "readout"),
    ],
)
def test_bad_settings_are_named(kwargs, match, make_env, tmp_path) -> None:
    with pytest.raises(ValueError, match=match):
        RMRL("MultiInputPolicy", make_env(), data_dir=tmp_path, **kwargs)


def test_rmrl_train_recipe_paper(tmp_path, capsys) -> None:
    import json

    from rmrl_agents.cli import main
    from rmrl_agents.common.envs import SYNTHETIC_ENV_ID

    from .conftest import TINY_POLICY_KWARGS

    base = [
        "train",
        "--env",
        SYNTHETIC_ENV_ID,
        "--steps",
        "6",
        "--no-progress",
        "--policy-kwargs",
        json.dumps(TINY_POLICY_KWARGS),
    ]
    assert (
        main([*base, "--agent", "rmrl", "--out", str(tmp_path / "p"), "--recipe", "paper", "--agent-kwargs", '{"scene_size": 3}'])
        == 0
    )
    model = RMRL.load(tmp_path / "p" / "model.zip")
    assert model.label_sigma == 0 and model.ent_coef == 0 and model.policy.readout == "argmax"
    assert model.scene_size == 3 and model.policy.resnet_width == TINY_POLICY_KWARGS["resnet_width"]
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert 0 < summary["commonest action share, last 6 trials"] <= 1
    capsys.readouterr()
    assert main([*base, "--agent", "rl100", "--out", str(tmp_path / "r"), "--recipe", "paper"]) == 2
    assert "no recipe for rl100" in capsys.readouterr().err


def test_continuous_actions_count_as_their_nearest_grid_action() -> None:
    """Floats are continuous actions (fractions of the default grid's ±12 steps, ±12 steps, ±10
    steps), rounded to the nearest grid offset; integers are grid indices, kept as they are."""
    grid = as_grid_actions(np.array([[3, 12, 10], [0, 24, 20]]))
    np.testing.assert_array_equal(grid, [[3, 12, 10], [0, 24, 20]])
    cont = as_grid_actions(np.array([[0.0, 1.0, -1.0], [0.04, 0.96, -0.96], [0.5, -2.0, 0.0]]))
    np.testing.assert_array_equal(cont, [[0, 12, -10], [0, 12, -10], [6, -12, 0]])
    assert commonest_share(cont) == pytest.approx(2 / 3)
