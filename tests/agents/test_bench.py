"""The paper benchmark: its metrics and aggregation on constructed runs, and the pipeline end to end with resume."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from rmrl_agents.bench import config, paper, report, tables
from rmrl_agents.bench.config import BenchConfig, Job
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


def test_bad_configurations_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="pretrain_trials"):
        replace(paper.QUICK, pretrain_trials=3)
    with pytest.raises(ValueError, match=r"train_trials \(40\) must be above 40"):
        replace(paper.QUICK, pretrain_trials=40, train_trials=40)
    with pytest.raises(ValueError, match="unknown methods"):
        replace(paper.QUICK, methods=("DQN",))
    with pytest.raises(ValueError, match="source runs"):
        replace(paper.QUICK, cells=(config.SOURCE_CELL0,))


def test_every_method_runs_on_the_same_pairs_and_sources_lie_on_other_cells():
    cfg = replace(paper.QUICK, seeds=3, cells=(None, 4), ablations=True)
    todo = config.jobs(cfg)
    pairs = {m: {(j.seed, j.cell) for j in todo if j.method == m} for m in cfg.all_methods if m != "RMRL-transfer"}
    assert all(p == {(s, c) for s in range(3) for c in (None, 4)} for p in pairs.values())
    assert {j.key for j in todo if j.method == "source"} == {f"source__s{s}__cdefault" for s in range(3)}
    assert all(config.source_cell(s) not in cfg.cells for s in range(3))
    assert len({j.key for j in todo}) == len(todo)
    assert cfg.online_trials("RMRL-pretrained-equal") + cfg.pretrain_trials == cfg.online_trials("REINFORCE")
    job = Job("RMRL", 0, None)
    fp = config.job_fingerprint
    assert fp(replace(cfg, workers=1), job) == fp(cfg, job) != fp(replace(cfg, train_trials=41), job)


def test_rl100_and_sac_run_on_every_pair_and_rl100_waits_for_its_source_run():
    cfg = replace(paper.QUICK, seeds=3, cells=(None, 4))
    todo = config.jobs(cfg)
    every = {(s, c) for s in range(3) for c in (None, 4)}
    for method in ("RL100", "SAC"):
        assert method in config.METHODS and method in config.CONTINUOUS
        assert {(j.seed, j.cell) for j in todo if j.method == method} == every
    assert "RL100" in config.USES_SOURCE and "SAC" not in config.USES_SOURCE
    # without a pretrained RM-RL, RL100 alone still gets its seed's source run
    only = replace(cfg, methods=("RL100",))
    assert {j.key for j in config.jobs(only) if j.method == "source"} == {f"source__s{s}__cdefault" for s in range(3)}
    assert cfg.online_trials("RL100") == cfg.online_trials("SAC") == cfg.train_trials


def test_the_papers_two_methods_run_by_default_in_the_papers_recipe_beside_the_improved_one(tmp_path):
    import gymnasium as gym

    from rmrl_agents.bench.models import make_model
    from rmrl_agents.recipes import paper_kwargs

    assert {"RMRL", "RMRL-paper", "RMRL-pretrained", "RMRL-pretrained-paper"} <= set(config.DEFAULT_METHODS)
    assert "RMRL-pretrained-paper" in config.USES_SOURCE and "RMRL-paper" not in config.USES_SOURCE
    network = BenchConfig().learner_policy_kwargs
    assert config.method_kwargs("RMRL-pretrained-paper", network) == paper_kwargs("RMRL", network)
    assert config.method_kwargs("RMRL-pretrained", network) == {}
    # the same recipe in the model: it differs from the improved default where the recipe says so
    env = gym.make(paper.PLACE_ID)
    try:
        cfg = replace(paper.QUICK, methods=("RMRL-pretrained", "RMRL-pretrained-paper"))
        improved, literal = (make_model(m, env, 0, cfg, tmp_path / m) for m in cfg.methods)
        assert (literal.ent_coef, literal.label_sigma) == (0.0, 0.0) != (improved.ent_coef, improved.label_sigma)
    finally:
        env.close()
    cfg = replace(paper.QUICK, seeds=2, methods=("RMRL-pretrained-paper",))
    assert {j.key for j in config.jobs(cfg) if j.method == "source"} == {"source__s0__cdefault", "source__s1__cdefault"}
    assert config.job_fingerprint(cfg, Job("RMRL-pretrained-paper", 0, None)) != config.job_fingerprint(
        cfg, Job("RMRL-pretrained", 0, None)
    )


def test_a_job_fingerprint_changes_only_with_what_changes_that_job():
    base = BenchConfig(methods=("REINFORCE", "RMRL-pretrained", "PPO"))
    fp = config.job_fingerprint
    rf, pre, ref, src = (
        Job("REINFORCE", 3, None),
        Job("RMRL-pretrained", 3, 0),
        Job("references", None, 0),
        Job("source", 3, None),
    )
    rl100, sac = Job("RL100", 3, None), Job("SAC", 3, 0)
    more = replace(base, methods=(*base.methods, "RL100", "SAC"), seeds=25, cells=(None, 0, 7), workers=1)
    # more methods, seeds, cells or workers: every job of the first run keeps its fingerprint
    assert all(fp(more, j) == fp(base, j) for j in (rf, pre, ref, src))
    # the job's identity is part of it
    assert fp(base, rf) != fp(base, Job("REINFORCE", 4, None)) != fp(base, Job("REINFORCE", 4, 0))
    # training trials: the learners, not the references or the source runs
    longer = replace(base, train_trials=120)
    assert fp(longer, rf) != fp(base, rf) and fp(longer, pre) != fp(base, pre)
    assert fp(longer, ref) == fp(base, ref) and fp(longer, src) == fp(base, src)
    # the source run's budget: the source runs and everything that starts from them
    src_longer = replace(more, pretrain_trials=40)
    assert all(fp(src_longer, j) != fp(more, j) for j in (src, pre, rl100))
    assert fp(src_longer, rf) == fp(more, rf) and fp(src_longer, sac) == fp(more, sac)
    # a method's own settings: only that method
    rl_changed = replace(more, rl100_kwargs={**more.rl100_kwargs, "imitation_steps": 7})
    assert fp(rl_changed, rl100) != fp(more, rl100)
    assert all(fp(rl_changed, j) == fp(more, j) for j in (rf, pre, ref, src, sac))
    sac_changed = replace(more, sac_kwargs={**more.sac_kwargs, "batch_size": 8})
    assert fp(sac_changed, sac) != fp(more, sac) and fp(sac_changed, rl100) == fp(more, rl100)
    # evaluation poses change every evaluated job; the network every trained one
    assert all(fp(replace(base, eval_poses=3), j) != fp(base, j) for j in (rf, pre, ref))
    assert fp(replace(base, policy_kwargs={"resnet_depth": 18}), src) != fp(base, src)
    # ablations add a transfer evaluation to the source runs only
    abl = replace(base, ablations=True)
    assert fp(abl, src) != fp(base, src) and fp(abl, rf) == fp(base, rf) and fp(abl, pre) == fp(base, pre)


def _columns(e_trans: float, success: float, n: int = 2) -> dict[str, list[float]]:
    return {
        "reward": [math.exp(-e_trans / 100)] * n,
        "e_trans_mm": [e_trans] * n,
        "true_e_trans_mm": [e_trans + 0.5] * n,
        "e_rot_deg": [0.5] * n,
        "true_e_rot_deg": [0.1] * n,
        "success": [success] * n,
    }


def _raw(e: dict[str, list[float]], t10_at: dict[str, list[int | None]], seeds: int = 4) -> dict:
    """Constructed results for REINFORCE and RMRL on seeds × (default, cell 0), and the references.

    ``e[method]`` per run (seed-major), ``t10_at``: the trial of the 10th reward above τ (None: never).
    """
    cfg = BenchConfig(train_trials=30, seeds=seeds, cells=(None, 0), pretrain_trials=5, methods=("REINFORCE", "RMRL"))
    jobs: dict[str, dict] = {}
    i = 0
    for s in range(seeds):
        for c in cfg.cells:
            for m in cfg.methods:
                t = t10_at[m][i]
                rewards = [0.5] * 30 if t is None else [0.5] * (t - 10) + [0.999] * 10 + [0.5] * (30 - t)
                col = _columns(e[m][i], 1.0 if e[m][i] < 2 else 0.0)
                budget = {"online_trials": 30, "gradient_steps": 30 + i, "samples_per_step": "1 trial"}
                jobs[Job(m, s, c).key] = {"train_rewards": rewards, "place": col, "shelf": col, "budget": budget}
                if m == "RMRL":  # the grid agents' exploration windows: collapsed on seed 0 only
                    jobs[Job(m, s, c).key]["exploration"] = [
                        {"commonest_share": 0.04},
                        {
                            "commonest_share": 1.0 if s == 0 else 0.08,
                            "entropy_dx_nats": 0.0 if s == 0 else 2.0,
                            "entropy_dy_nats": 0.0 if s == 0 else 3.0,
                            "entropy_dpsi_nats": 1.0,
                        },
                    ]
            i += 1
    for k, c in enumerate(cfg.cells):
        refs = {
            name: {"place": _columns(v + k, 1.0), "shelf": _columns(v + k, 1.0)}
            for name, v in (
                ("zero", 5.0),
                ("random", 6.0),
                ("mean-oracle constant", 1.1),
                ("reward-optimal constant", 1.0),
                ("error-optimal constant", 0.95),
                ("geometric oracle", 0.8),
                ("reward-optimal oracle", 0.5),
            )
        }
        jobs[Job("references", None, c).key] = {**refs, "random_p_above_tau": 0.1}
    conf = {**dataclasses.asdict(cfg), "tau": 0.98, "all_methods": list(cfg.all_methods)}
    return {"config": json.loads(json.dumps(conf)), "jobs": jobs, "wall_s": 60.0}


def test_aggregation_over_paired_runs_exactly():
    e = {"REINFORCE": [3.0, 5.0, 3.0, 5.0, 3.0, 5.0, 3.0, 5.0], "RMRL": [2.9, 4.8, 3.2, 5.1, 2.8, 5.0, 3.1, 4.9]}
    t10: dict[str, list[int | None]] = {"REINFORCE": [12, 14, None, 16, 18, 20, 22, 24], "RMRL": [11] * 8}
    res = report.summarize(_raw(e, t10))
    rf = res["rows"]["REINFORCE"]
    assert rf["e_trans_mm"]["per_run"] == e["REINFORCE"]
    assert rf["e_trans_mm"]["mean"] == pytest.approx(4.0)
    assert rf["e_trans_mm"]["std"] == pytest.approx(np.std(e["REINFORCE"], ddof=1))  # sample std
    assert rf["true_e_trans_mm"]["mean"] == pytest.approx(4.5)
    # intervals redraw seeds within each cell (two cells are kept): here every run of a cell is alike, so nothing varies
    assert rf["e_trans_mm"]["ci"] == [4.0, 4.0] and "within each of the 2 cells" in res["interval"]
    rm = res["rows"]["RMRL"]["e_trans_mm"]
    assert rm["ci"][0] < rm["mean"] < rm["ci"][1]
    # T^10: the run that never got there is censored at the budget, not dropped
    assert rf["t10"]["per_run"] == t10["REINFORCE"]
    assert rf["t10"]["restricted_mean"] == pytest.approx((12 + 14 + 30 + 16 + 18 + 20 + 22 + 24) / 8)
    assert rf["t10"]["reached_share"] == pytest.approx(7 / 8)
    # references are per cell, repeated over seeds (cell 0 is 1 mm worse in this construction)
    assert res["rows"]["reward-optimal constant"]["e_trans_mm"]["per_run"] == [1.0, 2.0] * 4
    # table 2c keeps the cells apart, with the range of each cell's runs
    per_cell = res["rows"]["REINFORCE"]["per_cell"]
    assert per_cell["default"]["per_run"] == [e["REINFORCE"][i] + 0.5 for i in (0, 2, 4, 6)]
    assert "| reward-optimal constant | 1.50 [1.50, 1.50] (1.50–1.50) | 2.50 [2.50, 2.50] (2.50–2.50) |" in tables.markdown(res)
    assert res["random_t10"]["p_above_tau"] == pytest.approx(0.1)
    text = tables.markdown(res)
    assert "never: 1 of 8" in text and not any("**" in c["sentence"] for c in res["comparisons"])
    sentences = {(c["a"], c["b"], c["metric"]): c["sentence"] for c in res["comparisons"]}
    # RMRL and REINFORCE differ by ~0.05 mm at random: no winner
    assert "no detectable difference between RMRL and REINFORCE" in sentences["RMRL", "REINFORCE", "e_trans_mm"]
    # both are clearly worse than the best constant on every pair
    assert sentences["RMRL", "reward-optimal constant", "true_e_trans_mm"].startswith(
        "true_e_trans_mm: reward-optimal constant is better than RMRL"
    )
    assert res["budget"]["REINFORCE"]["gradient_steps"] == pytest.approx(np.mean([30 + i for i in range(8)]))
    # the last exploration window's commonest-action share, mean over runs; none where a job has no windows
    assert res["budget"]["RMRL"]["last_commonest_share"] == pytest.approx((2 * 1.0 + 6 * 0.08) / 8)
    assert res["budget"]["REINFORCE"]["last_commonest_share"] is None
    assert "| 0.31 |" in text and "last-25 commonest share" in text
    # and the policy's entropy per head over that window, mean over runs (seed 0's two runs collapsed)
    assert res["budget"]["RMRL"]["last_entropy_nats"] == pytest.approx([6 * 2.0 / 8, 6 * 3.0 / 8, 1.0])
    assert res["budget"]["REINFORCE"]["last_entropy_nats"] is None
    assert "| 0.31 | 1.50 / 2.25 / 1.00 |" in text


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


TINY = BenchConfig(
    train_trials=6,
    seeds=2,
    cells=(None,),
    eval_poses=1,
    shelf_trials=1,
    eval_checkpoints=(3,),
    pretrain_trials=5,
    fit_scenes=2,
    oracle_max_trials=4,
    constant_max_candidates=3,
    random_trials=3,
    methods=("REINFORCE", "RMRL-pretrained-equal"),
    policy_kwargs={"resnet_depth": 10, "resnet_width": 8, "encoder_input_size": (30, 40), "head_hidden": (16,)},
    workers=2,
)


def test_tiny_benchmark_end_to_end_and_a_rerun_skips_finished_jobs(tmp_path):
    from rmrl_agents.stores.dataset import as_dataset

    pytest.importorskip("rmrl_env")
    out = tmp_path / "out"
    raw = paper.run(TINY, out, show_progress=False)
    assert set(raw["jobs"]) == {j.key for j in config.jobs(TINY)}
    for s in range(2):
        job = raw["jobs"][Job("RMRL-pretrained-equal", s, None).key]
        # pretrained on every label of its source run (none when each source scene scored 0: then it starts from scratch)
        source_labels = len(as_dataset(out / "runs" / f"source__s{s}__cdefault"))
        assert job["pretrain"]["n_labels"] == source_labels and ("skipped" in job["pretrain"]) == (source_labels == 0)
        assert len(job["train_rewards"]) == 1 and job["budget"]["source_trials"] == 5
        reinforce = raw["jobs"][Job("REINFORCE", s, None).key]
        assert len(reinforce["train_rewards"]) == 6
        # the learning curve's point after 3 of 6 trials; RMRL-pretrained-equal trains 1 trial: no checkpoint below it
        assert list(reinforce["checkpoints"]) == ["3"] and len(reinforce["checkpoints"]["3"]["true_e_trans_mm"]) == 1
        assert job["checkpoints"] == {}
    assert raw["jobs"]["source__s0__cdefault"]["cell"] == config.source_cell(0)

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.README_START}\nold\n{report.README_END}\n\nafter\n")
    results = report.write(raw, out, readme=readme)
    assert set(results["rows"]) == {"REINFORCE", "RMRL-pretrained-equal", *config.REFERENCES}
    refs = raw["jobs"][Job("references", None, None).key]
    # the searched rows are never worse than where their searches start, on the scenes they searched
    assert refs["searches"]["reward-optimal oracle"]["place"]["trials_per_scene"] <= TINY.oracle_max_trials
    oracle, geometric = refs["reward-optimal oracle"]["place"], refs["geometric oracle"]["place"]
    assert oracle["success"][0] >= geometric["success"][0]
    if oracle["success"][0] == geometric["success"][0] == 1.0:
        assert oracle["true_e_trans_mm"][0] <= geometric["true_e_trans_mm"][0]
    assert refs["searches"]["reward-optimal constant"]["candidates"] <= TINY.constant_max_candidates
    assert results["budget"]["RMRL-pretrained-equal"]["online_trials"] + 5 == results["budget"]["REINFORCE"]["online_trials"]
    assert (out / "reward_curves.png").stat().st_size > 10_000 and (out / "error_curves.png").stat().st_size > 10_000
    # the true error's learning curve: the checkpoint after 3 trials, then the final evaluation after 6
    assert [p["trials"] for p in results["curves"]["REINFORCE"]["points"]] == [3, 6]
    row = results["rows"]["REINFORCE"]
    assert set(row["plate_types"]) == {"deep_well"} and row["eval_commonest_share"]["mean"] == 1.0  # one scene, one action
    assert "within each of the 1 cell" in results["interval"]
    text = readme.read_text()
    assert "old" not in text and "after" in text and "Table 3" in text and "Budgets" in text and "Table 2b" in text
    assert "](out/error_curves.png)" in text and "](out/reward_curves.png)" in text

    # resume: a job without a result file (killed) runs again; the finished ones are not touched
    files = {p.name: p.stat().st_mtime_ns for p in (out / "jobs").glob("*.json")}
    killed = out / "jobs" / f"{Job('REINFORCE', 1, None).key}.json"
    killed.unlink()
    again = paper.run(TINY, out, show_progress=False)
    assert killed.exists() and again["jobs"].keys() == raw["jobs"].keys()
    after = {p.name: p.stat().st_mtime_ns for p in (out / "jobs").glob("*.json")}
    assert {k for k in files if files[k] != after[k]} == {killed.name}
    assert again["jobs"][Job("REINFORCE", 0, None).key] == raw["jobs"][Job("REINFORCE", 0, None).key]

    # two more methods: the finished jobs are reused (their files untouched), only the new ones run
    more = replace(
        TINY,
        methods=(*TINY.methods, "RL100", "SAC"),
        rl100_kwargs={"imitation_steps": 5, "offline_iterations": 1, "trials_per_iteration": 2, "critic_steps": 5,
                      "distill_steps": 5, "online_batch_size": 2, "batch_size": 8},
        sac_kwargs={"learning_starts": 2, "batch_size": 4},
    )  # fmt: skip
    third = paper.run(more, out, show_progress=False)
    final = {p.name: p.stat().st_mtime_ns for p in (out / "jobs").glob("*.json")}
    assert {k for k in after if after[k] != final[k]} == set()
    assert set(final) - set(after) == {f"{Job(m, s, None).key}.json" for m in ("RL100", "SAC") for s in range(2)}
    assert third["reused_jobs"] == len(after) and again["reused_jobs"] == len(files) - 1
    for s in range(2):
        rl100 = third["jobs"][Job("RL100", s, None).key]
        assert len(rl100["train_rewards"]) == 6 and rl100["budget"]["source_trials"] == 5
        if len(as_dataset(out / "runs" / f"source__s{s}__cdefault")):  # with prior data, D is large enough for a gate
            assert len(rl100["ope"]) == 1
        else:
            assert rl100["pretrain"]["n_labels"] == 0 and len(rl100["ope"]) <= 1
        sac = third["jobs"][Job("SAC", s, None).key]
        assert len(sac["train_rewards"]) == 6 and "source_trials" not in sac["budget"] and len(sac["place"]["reward"]) == 1
        # their training actions are recorded too: the end-of-training collapse diagnostic of every method
        for job in (rl100, sac):
            (window,) = job["exploration"]
            assert window["trials"] == 6 and 1 <= window["distinct_actions"] <= 6
            top = window["commonest_share"] * 6  # trials on the commonest action: the others hold the other actions
            assert top == pytest.approx(round(top), abs=1e-3) and 1 <= round(top) <= 7 - window["distinct_actions"]
    results = report.write(third, out)
    for m in ("RL100", "SAC"):
        row = results["rows"][m]
        assert row["e_trans_mm"]["n"] == 2 and all(math.isfinite(x) for x in row["e_trans_mm"]["ci"])
        assert len(row["t10"]["per_run"]) == 2
    assert results["budget"]["RL100"]["source_trials"] == 5 and results["budget"]["SAC"]["source_trials"] == 0
    assert results["budget"]["RL100"]["online_trials"] == results["budget"]["SAC"]["online_trials"] == 6
    text = tables.markdown(results)
    assert "| RL100 |" in text and "| SAC |" in text and f"({len(after)} of {len(final)} jobs reused" in text


def test_the_training_action_recorder_keeps_grid_indices_apart_from_continuous_actions():
    """PPO's and the calibration's grid indices reach the collapse diagnostic as the grid actions
    they are; SAC's and RL100's continuous actions as their nearest grid action."""
    from rmrl_agents.bench.jobs import _recorder
    from rmrl_agents.common.exploration import as_grid_actions

    grid, continuous = _recorder(10), _recorder(10)
    for step in range(3):
        grid.locals = {"rewards": [0.5], "actions": np.array([[3 + step, 15, 7]], dtype=np.int64)}
        continuous.locals = {"rewards": [0.5], "actions": np.array([[0.5, -1.0, 0.0]], dtype=np.float32)}
        assert grid._on_step() and continuous._on_step()
    np.testing.assert_array_equal(as_grid_actions(grid.actions), [[3, 15, 7], [4, 15, 7], [5, 15, 7]])
    np.testing.assert_array_equal(as_grid_actions(continuous.actions), [[6, -12, 0]] * 3)


def test_cells_on_the_command_line():
    import argparse

    from rmrl_agents.commands.bench import parse_cells, parse_methods

    assert parse_cells("default,0,3") == (None, 0, 3)
    assert parse_cells(None) is None
    with pytest.raises(argparse.ArgumentTypeError, match="cell_seed"):
        parse_cells("default,-1")
    assert parse_methods("RMRL, RL100,SAC") == ("RMRL", "RL100", "SAC")
    with pytest.raises(argparse.ArgumentTypeError, match="unknown methods \\['DQN'\\]; known: REINFORCE"):
        parse_methods("RMRL,DQN")
    assert paper.config_for(True, methods=("RL100",)).methods == ("RL100",)


def test_the_evaluation_collapse_share_counts_continuous_actions_by_their_nearest_grid_action():
    # grid actions: exact
    assert report.commonest_share([[3, 12, 11]] * 3 + [[4, 12, 11]]) == 0.75
    # continuous actions 0.1 mm apart share a grid action (±12 mm in 1 mm steps); 1 mm apart they do not
    near = [[0.500, 0.0, 0.0], [0.504, 0.0, 0.0], [0.498, 0.001, 0.0], [0.5 + 1 / 12, 0.0, 0.0]]
    assert report.commonest_share(near) == 0.75
    assert report.commonest_share([[k / 12, 0.0, 0.0] for k in range(-12, 13)]) == 1 / 25
    assert math.isnan(report.commonest_share([]))


def test_the_report_says_how_far_the_reference_searches_looked():
    oracle = {
        "trials_per_scene": 38.9,
        "share_of_grid": 0.003,
        "share_of_box": 0.054,
        "box_radius_steps": 4,
        "converged_share": 0.48,
    }
    searches = {
        "reward-optimal constant": {"candidates": 60, "converged": False},
        "reward-optimal oracle": {"place": oracle},
    }
    text = "\n".join(tables._search_note({"searches": {"default": searches}}))
    assert "reward-optimal constant after 60 candidates (stopped at the cap)" in text
    assert "39 actions a scene, 0.30 % of the grid and 5.4 % of the box ±4 steps" in text and "48 % of the scenes" in text
    assert "not proven optima" in text
    assert tables._search_note({"searches": {}}) == []


def test_no_two_methods_share_a_look_in_the_plots():
    from rmrl_agents.bench.plots import _styles

    names = [*config.DEFAULT_METHODS, "REINFORCE-paper", "ReplayREINFORCE-paper"]
    style = _styles(names)
    assert len(set(style.values())) == len(names)
    assert style["RMRL-paper"] == (style["RMRL"][0], "--") and style["RMRL"][1] == "-"
    # a paper recipe run without its twin keeps a colour of its own, drawn solid
    alone = _styles(["REINFORCE", "RMRL-paper"])
    assert alone["RMRL-paper"][1] == "-" and alone["RMRL-paper"][0] != alone["REINFORCE"][0]
