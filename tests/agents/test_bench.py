"""The paper benchmark: its metrics computed exactly, its report, and the pipeline end to end."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from rmrl_agents.bench import paper, report
from rmrl_agents.common.evaluation import fixed_poses, reset_region
from rmrl_agents.metrics import ema, steps_to_threshold


def test_t10_counts_the_tenth_reward_above_tau():
    rewards = [0.9, 0.99, 0.98, 0.5] + [0.99] * 7 + [0.96, 0.99]
    # above 0.97 at trials 2, 3, 5..11 and 13 -> the 10th time at trial 13
    assert steps_to_threshold(rewards, 0.97) == 13
    assert steps_to_threshold(rewards, 0.97, count=3) == 5
    assert steps_to_threshold([0.97] * 20, 0.97) is None  # strictly greater than τ
    assert steps_to_threshold([], 0.5) is None


def test_ema_matches_the_recursion():
    out = ema([1.0, 0.0, 0.0, 1.0], alpha=0.5)
    assert out.tolist() == [1.0, 0.5, 0.25, 0.625]
    assert ema([0.3], alpha=0.1).tolist() == [0.3]


def _raw(train: dict[str, list[list[float]]], e_trans: dict[str, list[float]], shelf: dict[str, list[list[float]]]) -> dict:
    """A hand-made raw result: methods × seeds."""
    seeds = len(next(iter(e_trans.values())))
    per_seed = []
    for s in range(seeds):
        methods = {}
        for name in report.ROWS:
            methods[name] = {
                "train_rewards": train.get(name, [[]] * seeds)[s],
                "place": {
                    "reward": [math.exp(-e_trans[name][s] / 100)],
                    "e_trans_mm": [e_trans[name][s]],
                    "e_rot_deg": [0.5],
                    "success": [1.0],
                },
                "shelf": {"success": shelf[name][s]},
            }
        per_seed.append({"seed": s, "methods": methods})
    cfg = {**paper.asdict(paper.QUICK), "tau": 0.97, "seeds": seeds, "methods": list(paper.METHODS)}
    return {"config": cfg, "per_seed": per_seed, "source_run": {"seed": 10_000, "labels": 40}, "wall_s": 60.0}


def test_summary_statistics_over_seeds_exactly():
    good = [0.99] * 12
    never = [0.5] * 12
    train = {m: [good, never] for m in paper.METHODS}
    e = {m: [2.0, 4.0] for m in report.ROWS}
    e["RMRL"] = [1.0, 1.0]
    shelf = {m: [[1, 0, 1, 1], [0, 0, 0, 1]] for m in report.ROWS}
    res = report.summarize(_raw(train, e, shelf))
    t10 = res["methods"]["REINFORCE"]["t10"]
    assert t10["per_seed"] == [10, None] and t10["mean"] == 10 and t10["missing"] == 1
    assert res["methods"]["REINFORCE"]["avg_reward"]["per_seed"] == pytest.approx([0.99, 0.5])
    assert res["methods"]["REINFORCE"]["e_trans_mm"] == {"mean": 3.0, "std": 1.0, "per_seed": [2.0, 4.0], "missing": 0}
    assert res["methods"]["PPO"]["shelf_success"]["per_seed"] == [0.75, 0.25]
    assert res["methods"]["zero"]["t10"] is None
    text = report.markdown(res)
    assert "(1 of 2 seeds never)" in text and "| RMRL | 1.0 ± 0.0 | 35 |" not in text
    assert "RM-RL has a lower evaluation e_trans" in text


def test_the_report_says_so_when_rmrl_loses():
    train = {m: [[0.99] * 12] for m in paper.METHODS}
    e = {m: [2.0] for m in report.ROWS}
    e["RMRL"] = [3.0]
    shelf = {m: [[1.0]] for m in report.ROWS}
    text = report.markdown(report.summarize(_raw(train, e, shelf)))
    assert "RM-RL does **not** beat REINFORCE, ReplayREINFORCE, PPO" in text


def test_a_source_run_shorter_than_a_scene_is_refused():
    with pytest.raises(ValueError, match="pretrain_trials"):
        replace(paper.QUICK, pretrain_trials=3)


def test_fixed_evaluation_poses_are_fixed_and_inside_the_reset_region():
    pytest.importorskip("rmrl_env")
    import gymnasium as gym

    env = gym.make(paper.PLACE_ID)
    region = reset_region(env)
    env.close()
    a, b = fixed_poses(region, 12, paper.EVAL_POSES_SEED), fixed_poses(region, 12, paper.EVAL_POSES_SEED)
    assert np.array_equal(a, b) and a.shape == (12, 3)
    assert a[:, 0].min() >= region.x_m[0] and a[:, 0].max() <= region.x_m[1]
    assert a[:, 1].min() >= region.y_m[0] and a[:, 1].max() <= region.y_m[1]
    assert a[:, 2].min() >= region.yaw_rad[0] and a[:, 2].max() <= region.yaw_rad[1]
    assert not np.array_equal(a, fixed_poses(region, 12, paper.SHELF_POSES_SEED))


def test_quick_pipeline_end_to_end_on_a_tiny_budget(tmp_path):
    pytest.importorskip("rmrl_env")
    cfg = replace(paper.QUICK, train_trials=3, seeds=1, eval_poses=2, shelf_trials=2, pretrain_trials=5, workers=1)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.README_START}\nold\n{report.README_END}\n\nafter\n")
    raw = paper.run(cfg, tmp_path / "out", show_progress=False)
    results = report.write(raw, tmp_path / "out", readme=readme)
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(data["methods"]) == {*paper.METHODS, "zero"}
    for name in paper.METHODS:
        entry = data["methods"][name]
        for key in ("t10", "avg_reward", "e_trans_mm", "e_rot_deg", "shelf_success"):
            assert set(entry[key]) >= {"mean", "std", "per_seed"}
        assert len(entry["avg_reward"]["per_seed"]) == 1
        assert len(raw["per_seed"][0]["methods"][name]["train_rewards"]) == 3
    assert results["source_run"]["labels"] >= 1
    assert (tmp_path / "out" / "reward_curves.png").stat().st_size > 10_000
    assert "Table 3" in (tmp_path / "out" / "results.md").read_text()
    text = readme.read_text()
    assert "old" not in text and "after" in text and "Table 1" in text and "reward_curves.png" in text
