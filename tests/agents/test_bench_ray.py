"""The benchmark's jobs as Ray tasks: a local Ray instance on loopback runs a tiny benchmark."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rmrl_agents.bench import config, paper
from rmrl_agents.bench.config import BenchConfig, Job


def test_a_tiny_benchmark_runs_as_ray_tasks_on_a_local_instance(tmp_path):
    pytest.importorskip("rmrl_env")
    ray = pytest.importorskip("ray")
    cfg = BenchConfig(
        train_trials=4,
        seeds=2,
        cells=(None,),
        eval_poses=1,
        shelf_trials=1,
        pretrain_trials=5,
        fit_scenes=2,
        random_trials=2,
        methods=("REINFORCE",),
        policy_kwargs={"resnet_depth": 10, "resnet_width": 8, "encoder_input_size": (30, 40), "head_hidden": (16,)},
    )
    ray.init(address="local", include_dashboard=False, num_cpus=2, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        raw = paper.run(cfg, tmp_path / "out", show_progress=False, ray_address="local")
        assert ray.is_initialized()  # the benchmark leaves a Ray it did not start running
    finally:
        ray.shutdown()
    assert set(raw["jobs"]) == {j.key for j in config.jobs(cfg)}
    for s in range(2):
        assert len(raw["jobs"][Job("REINFORCE", s, None).key]["train_rewards"]) == 4
    assert raw["machine"]["backend"] == "ray local"
    # the tasks wrote their results where a re-run finds them
    assert {p.stem for p in (tmp_path / "out" / "jobs").glob("*.json")} == set(raw["jobs"])
    assert paper.run(replace(cfg, workers=1), tmp_path / "out", show_progress=False)["jobs"] == raw["jobs"]
