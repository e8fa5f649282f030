"""The durability suite (issue 12): kill -9 at random points, every file of a store damaged in turn,
two processes on one folder, read-only folders — asserting exactly which trials and labels survive."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rmrl_agents import RoleModelDataset, TrialLog
from rmrl_agents.cli import main

from .test_cli import REPO, _train_args

TRIALS, LABELS = Path("data/trials"), Path("data/role_model")


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": "1",
    }


def _cmd(out: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "rmrl_agents", *_train_args(out, "rmrl", steps, "--checkpoint-every", "4", "--threads", "1")]


def _on_disk(store: Path) -> list[dict]:
    """The records whose index line is complete, read straight from the file (what must survive)."""
    raw = (store / "index.jsonl").read_bytes()
    return [json.loads(line) for line in raw.split(b"\n")[:-1]]


def _count(store: Path) -> int:
    try:
        return (store / "index.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _kill_after(out: Path, steps: int, n_trials: int, extra_s: float) -> None:
    proc = subprocess.Popen(_cmd(out, steps), env=_env(), cwd=out.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while _count(out / TRIALS) < n_trials:
        if proc.poll() is not None:
            pytest.fail(f"training ended before the kill: {proc.stdout.read().decode() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"training too slow to reach {n_trials} trials")
        time.sleep(0.005)
    time.sleep(extra_s)  # a random point inside the next trial, update, labelling or checkpoint
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _assert_consistent(out: Path) -> tuple[list[dict], list[dict]]:
    """The stores open with exactly the complete records on disk; counters and labels are coherent."""
    trials, labels = _on_disk(out / TRIALS), _on_disk(out / LABELS)
    log = TrialLog(out / TRIALS, writable=False)
    data = RoleModelDataset.open(out / LABELS)
    assert log.records == trials and data.records == labels
    assert [r["timestep"] for r in trials] == list(range(1, len(trials) + 1))
    labelled = [r["trial"] for r in labels]
    assert len(labelled) == len(set(labelled)) and set(labelled) <= set(range(len(trials)))
    assert all(r["trial_time"] == trials[r["trial"]]["time"] for r in labels)
    for r in labels:  # a label is the action of its scene's role model, which is in the log
        assert r["label"] == trials[r["role_model_trial"]]["action"]
    return trials, labels


@pytest.mark.slow
def test_repeated_sigkill_at_random_points_keeps_exactly_the_finished_trials(tmp_path) -> None:
    rng = random.Random(2026)
    out, steps = tmp_path / "run", 36
    survivors: tuple[list[dict], list[dict]] = ([], [])
    for _ in range(3):
        _kill_after(out, steps, _count(out / TRIALS) + rng.randint(3, 8), rng.uniform(0.0, 0.08))
        trials, labels = _assert_consistent(out)
        assert trials[: len(survivors[0])] == survivors[0]  # no finished trial ever lost or changed
        assert labels[: len(survivors[1])] == survivors[1]  # nor any label
        survivors = (trials, labels)
    done = subprocess.run(_cmd(out, steps), env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    trials, labels = _assert_consistent(out)
    assert len(trials) == steps and trials[: len(survivors[0])] == survivors[0] and labels[: len(survivors[1])] == survivors[1]
    last_scene = trials[-1]["scene"]
    closed = {i for i, r in enumerate(trials) if r["scene"] != last_scene}
    assert closed <= {r["trial"] for r in labels}  # every finished scene labelled, including those around the kills


def _flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def _damage(store: Path, name: str, record: int) -> None:
    path = store / name
    if name == "meta.json":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # half-written
    elif name == "index.jsonl":
        lines = path.read_bytes().split(b"\n")
        _flip(path, sum(len(line) + 1 for line in lines[:record]) + len(lines[record]) // 2)
    elif name == "image.bin":
        _flip(path, record * (path.stat().st_size // _count(store)) + 5)
    else:  # .lock: its content does not matter
        path.write_bytes(b"\xff garbage")


@pytest.mark.slow
@pytest.mark.parametrize("store", [TRIALS, LABELS])
@pytest.mark.parametrize("name", ["meta.json", "index.jsonl", "image.bin", ".lock"])
def test_each_file_of_a_store_damaged_in_turn(tmp_path, capsys, store, name) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "rmrl", 6), "--checkpoint-every", "3"]) == 0
    before = {s: _on_disk(out / s) for s in (TRIALS, LABELS)}
    _damage(out / store, name, record=3)
    damaged = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}
    capsys.readouterr()
    code = main([*_train_args(out, "rmrl", 9), "--checkpoint-every", "3"])
    err = capsys.readouterr().err
    if name == ".lock":
        assert code == 0 and _on_disk(out / TRIALS)[:6] == before[TRIALS]
        return
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(out / store / name) in err
    assert {p: p.read_bytes() for p in damaged} == damaged  # a refusal writes nothing
    if name == "meta.json":
        assert "restore meta.json from a backup" in err and main(["repair", str(out / store)]) == 2
        assert "restore it from a backup" in capsys.readouterr().err
        return
    assert f"rmrl repair {out / store}" in err
    assert main(["repair", str(out / store), "--apply"]) == 0
    assert main([*_train_args(out, "rmrl", 9), "--checkpoint-every", "3"]) == 0
    trials, labels = _on_disk(out / TRIALS), _on_disk(out / LABELS)
    # every record but the damaged one survives (issue 18): 0..2 as they were, 4.. renumbered after the gap
    assert (trials if store == TRIALS else labels)[:3] == before[store][:3]
    survivors = [{k: v for k, v in r.items() if k not in ("i", "trial", "logged_as", "crc32")} for r in before[store][4:]]
    after_gap = (trials if store == TRIALS else labels)[3 : len(before[store]) - 1]
    assert [{k: v for k, v in r.items() if k not in ("i", "trial", "logged_as", "crc32")} for r in after_gap] == survivors
    labelled = [(r["trial"], r["trial_time"]) for r in labels]
    assert len(labelled) == len(set(labelled))  # no trial labelled twice
    assert all(trials[t]["time"] == when for t, when in labelled)  # every label labels a trial of the log
    if store == TRIALS:  # the checkpoint had seen the lost trial: the model was rebuilt from the 5 kept ones
        assert "rebuilding the model from the 5 logged trials" in err + capsys.readouterr().err
        assert len(trials) == 9 and [r["timestep"] for r in trials[5:]] == [6, 7, 8, 9]
    else:  # the checkpoint is still good: the run resumed from it
        assert [r["timestep"] for r in trials] == list(range(1, 10))


@pytest.mark.slow
def test_two_processes_on_one_folder(tmp_path) -> None:
    out = tmp_path / "run"
    first = subprocess.Popen(_cmd(out, 5000), env=_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _count(out / TRIALS) < 12 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    csv_path = out / "logs" / "progress.csv"
    csv_before = csv_path.read_text()
    second = subprocess.run(_cmd(out, 5000), env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert first.poll() is None, "the first run ended before the second started"
    assert second.returncode == 2
    assert f"in use by process {first.pid}" in second.stderr and len(second.stderr.strip().splitlines()) == 1
    first.send_signal(signal.SIGKILL)
    first.wait()
    trials, _ = _assert_consistent(out)  # the refused process wrote nothing: one run's trials, in order
    csv = csv_path.read_text()
    assert "\0" not in csv and csv.startswith(csv_before) and len(csv.splitlines()) >= 1 + len(trials) // 10 - 1
    header = csv.splitlines()[0].split(",")
    assert "time/total_timesteps" in header and len(set(header)) == len(header)


def test_read_only_opening_changes_no_byte(tmp_path) -> None:
    out = tmp_path / "run"
    assert main(_train_args(out, "rmrl", 6)) == 0
    index = out / TRIALS / "index.jsonl"
    with open(index, "a") as fh:
        fh.write('{"i": 6, "trial": 6, "po')  # a record in flight at a crash
    files = {p: p.read_bytes() for p in (out / "data").rglob("*") if p.is_file() and p.name != ".lock"}
    assert len(TrialLog(out / TRIALS, writable=False)) == 6
    assert len(RoleModelDataset.open(out / LABELS)) == 6
    assert {p: p.read_bytes() for p in files} == files


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folders(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(_train_args(out, "rmrl", 6)) == 0
    modes = {p: p.stat().st_mode for p in [out, *out.rglob("*")]}
    try:
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        capsys.readouterr()
        assert main(_train_args(out, "rmrl", 9)) == 2
        err = capsys.readouterr().err
        assert "permissions" in err and len(err.strip().splitlines()) == 1
        assert main(["eval", "--model", str(out / "model.zip"), "--episodes", "2", "--no-progress"]) == 0
        assert main(_train_args(tmp_path / "second", "rmrl", 3, "--pretrain", str(out), "--pretrain-epochs", "1")) == 0
        assert len(TrialLog(out / TRIALS, writable=False)) == 6
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    np.testing.assert_equal(len(RoleModelDataset.open(out / LABELS)), 6)


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only bind mount needs root (others: test_read_only_folders)")
def test_read_only_folders_as_root(tmp_path, capsys) -> None:
    """As root, chmod does not stop writes: a read-only bind mount of the run folder does."""
    import subprocess

    out = tmp_path / "run"
    assert main(_train_args(out, "rmrl", 6)) == 0
    try:
        subprocess.run(["mount", "--bind", str(out), str(out)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"cannot bind-mount here: {err}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(out)], check=True, capture_output=True)
        capsys.readouterr()
        assert main(_train_args(out, "rmrl", 9)) == 2
        err = capsys.readouterr().err
        assert "read-only" in err.lower() and len(err.strip().splitlines()) == 1
        assert main(["eval", "--model", str(out / "model.zip"), "--episodes", "2", "--no-progress"]) == 0
        assert main(_train_args(tmp_path / "second", "rmrl", 3, "--pretrain", str(out), "--pretrain-epochs", "1")) == 0
        assert len(TrialLog(out / TRIALS, writable=False)) == 6
    finally:
        subprocess.run(["umount", str(out)], check=False, capture_output=True)
    assert len(RoleModelDataset.open(out / LABELS)) == 6
