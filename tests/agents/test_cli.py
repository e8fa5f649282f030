"""The ``rmrl`` command line, resuming, and surviving ``kill -9``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rmrl_agents import RoleModelDataset, TrialLog
from rmrl_agents.cli import build_parser, main
from rmrl_agents.common.envs import SYNTHETIC_ENV_ID

from .conftest import TINY_POLICY_KWARGS as TINY_POLICY

REPO = Path(__file__).resolve().parents[2]
ENV = SYNTHETIC_ENV_ID


def _train_args(out: Path, agent: str = "rmrl", steps: int = 12, *extra: str) -> list[str]:
    return [
        "train",
        "--agent",
        agent,
        "--env",
        ENV,
        "--steps",
        str(steps),
        "--out",
        str(out),
        "--no-progress",
        "--policy-kwargs",
        json.dumps(TINY_POLICY),
        "--agent-kwargs",
        json.dumps({"scene_size": 3} if agent == "rmrl" else {}),
        *extra,
    ]


def _saved(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("data"))


def test_parser_has_subcommands_as_modules() -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "--agent", "replay", "--steps", "5", "--out", "x"])
    assert args.func.__module__ == "rmrl_agents.commands.train" and args.env == "CellPlatePlace-sim-v0"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--agent", "ppo", "--steps", "5", "--out", "x"])


def test_a_command_whose_module_is_missing_is_skipped_with_a_warning(monkeypatch, capsys) -> None:
    from importlib.metadata import EntryPoint

    import rmrl_agents.cli as cli

    broken = EntryPoint(name="broken", value="rmrl_agents.no_such_module", group=cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken])
    args = cli.build_parser().parse_args(["train", "--agent", "rmrl", "--steps", "1", "--out", "x"])
    assert args.func.__module__ == "rmrl_agents.commands.train"
    assert "skipping the command 'broken' (rmrl_agents.no_such_module)" in capsys.readouterr().err


def test_train_writes_everything_and_resumes(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(_train_args(out, "rmrl", 9, "--tensorboard")) == 0
    for rel in (
        "run.json",
        "model.zip",
        "checkpoints/latest.zip",
        "logs/progress.csv",
        "summary.json",
        "data/trials/index.jsonl",
        "data/role_model/index.jsonl",
    ):
        assert (out / rel).exists(), rel
    assert any((out / "logs").glob("events.out.tfevents*"))
    # the final model is for eval and deployment (no optimizer state); the checkpoint resumes exactly
    assert not any("optimizer" in n for n in zipfile.ZipFile(out / "model.zip").namelist())
    assert "policy.optimizer.pth" in zipfile.ZipFile(out / "checkpoints" / "latest.zip").namelist()
    text = capsys.readouterr().out
    assert "rmrl train" in text and "role-model labels" in text
    assert len(TrialLog(out / "data" / "trials", writable=False)) == 9
    assert len(RoleModelDataset.open(out / "data" / "role_model")) == 9
    # same command with a larger budget: continues from the checkpoint
    assert main(_train_args(out, "rmrl", 14)) == 0
    log = TrialLog(out / "data" / "trials", writable=False)
    assert len(log) == 14 and [r["timestep"] for r in log.records] == list(range(1, 15))
    assert _saved(out / "model.zip")["num_timesteps"] == 14
    # a run directory cannot be resumed with other settings
    assert main(_train_args(out, "reinforce", 20)) == 2
    assert "holds a different run" in capsys.readouterr().err


@pytest.mark.parametrize("agent", ["reinforce", "replay"])
def test_train_baselines_and_eval(agent, tmp_path, capsys) -> None:
    out = tmp_path / agent
    assert main(_train_args(out, agent, 6)) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "eval",
                "--model",
                str(out / ("model" if agent == "replay" else "model.zip")),  # SB3's load takes both
                "--episodes",
                "5",
                "--no-progress",
                "--json",
                str(tmp_path / "e.json"),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "mean reward" in text and "e_trans mean (mm)" in text
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["summary"]["episodes"] == 5 and len(result["trials"]) == 5


def test_pretrain_flag_and_bad_inputs(tmp_path, capsys) -> None:
    first = tmp_path / "first"
    assert main(_train_args(first, "rmrl", 6)) == 0
    assert main(_train_args(tmp_path / "second", "rmrl", 3, "--pretrain", str(first), "--pretrain-epochs", "2")) == 0
    assert "pretrained on 6 labels" in capsys.readouterr().err
    (first / "data" / "role_model" / "meta.json").write_text("{broken")
    assert main(_train_args(tmp_path / "third", "rmrl", 3, "--pretrain", str(first))) == 2
    assert "corrupt" in capsys.readouterr().err
    assert main(["eval", "--model", str(tmp_path / "none.zip")]) == 2
    # pretraining is RM-RL's: asking it of another agent is refused before anything is written
    assert main(_train_args(tmp_path / "fourth", "reinforce", 3, "--pretrain", str(first))) == 2
    assert "needs --agent rmrl" in capsys.readouterr().err and not (tmp_path / "fourth").exists()
    (tmp_path / "junk.zip").write_text("no zip")
    assert main(["eval", "--model", str(tmp_path / "junk.zip")]) == 2


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_sigkill_mid_run_loses_nothing_and_resumes(tmp_path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "rmrl_agents",
        *_train_args(out, "rmrl", 60, "--checkpoint-every", "10", "--threads", "1"),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": "1",
    }
    index = out / "data" / "trials" / "index.jsonl"
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 150
    while _lines(index) < 25:
        if proc.poll() is not None:
            pytest.fail(f"training ended before the kill: {proc.stdout.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("training too slow to reach 25 trials")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    log = TrialLog(out / "data" / "trials", writable=False)
    kept, records, images = len(log), [dict(r) for r in log.records], np.array(log.array("image"))
    data = RoleModelDataset.open(out / "data" / "role_model")
    labels_before = [dict(r) for r in data.records]
    checkpoint_step = _saved(out / "checkpoints" / "latest.zip")["num_timesteps"]
    assert kept >= 25 and labels_before and checkpoint_step <= kept and checkpoint_step % 10 == 0

    resumed = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming {out}: {kept} trials done" in resumed.stderr
    if kept > checkpoint_step:
        assert f"({kept - checkpoint_step} replayed from the trial log)" in resumed.stderr

    log = TrialLog(out / "data" / "trials", writable=False)
    assert len(log) == 60
    assert log.records[:kept] == records  # every completed trial kept, unchanged
    np.testing.assert_array_equal(log.array("image")[:kept], images)
    assert [r["timestep"] for r in log.records] == list(range(1, 61))  # the step counter continued
    data = RoleModelDataset.open(out / "data" / "role_model")
    assert data.records[: len(labels_before)] == labels_before  # every label kept
    labelled = {r["trial"] for r in data.records}
    assert len(labelled) == len(data)  # no trial labelled twice
    last_scene = log.records[-1]["scene"]
    closed = {r["trial"] for r in log.records if r["scene"] != last_scene}
    assert closed <= labelled  # every finished scene labelled, including those around the kill
    assert _saved(out / "model.zip")["num_timesteps"] == 60


def test_building_the_parser_loads_neither_torch_nor_scipy() -> None:
    """rmrl --help (and a mistyped option) answer without loading torch, SB3 or scipy: the commands
    import them when they run (benchmarks/cli_startup.py measures the start-up time)."""
    code = (
        "import sys\n"
        "from rmrl_agents.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('torch', 'stable_baselines3', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
