"""One ``rmrl bench`` per ``--out`` folder: a second one fails at once instead of deleting the first's runs (issue 18, item 6)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmrl_agents.bench.lock import LOCK_NAME, lock_bench_folder
from rmrl_agents.commands._shared import UsageError

from .test_cli import REPO


def _bench(out: Path) -> list[str]:
    return [
        sys.executable, "-m", "rmrl_agents", "bench", "paper", "--quick", "--seeds", "1", "--trials", "40",
        "--cells", "default", "--methods", "REINFORCE", "--workers", "1", "--no-progress", "--out", str(out),
    ]  # fmt: skip


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}


def _files(out: Path) -> set[Path]:
    """The first bench's files, without the temporary file an atomic write renames into place
    (``NAME.tmp<pid>``): a job finishing between two looks moves it, and deletes nothing."""
    return {p for p in out.rglob("*") if p.is_file() and not re.search(r"\.tmp\d+$", p.name)}


@pytest.mark.slow
def test_a_second_bench_on_a_folder_in_use_fails_at_once_and_touches_nothing(tmp_path) -> None:
    out = tmp_path / "bench"
    first = subprocess.Popen(
        _bench(out), env=_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "jobs").is_dir():  # the first bench is under way (its jobs folder exists)
            assert first.poll() is None, f"the first bench ended early: {first.stderr.read().decode() if first.stderr else ''}"
            assert time.monotonic() < deadline, "the first bench did not start within 120 s"
            time.sleep(0.05)
        before = _files(out)
        t0 = time.monotonic()
        second = subprocess.run(_bench(out), env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first bench ended before the second was refused"
        lines = second.stderr.strip().splitlines()
        assert second.returncode == 2 and len(lines) == 1, second.stderr
        assert f"in use by another rmrl bench (process {first.pid})" in lines[0] and "another --out" in lines[0]
        assert time.monotonic() - t0 < 60  # at once: no job of the second ran
        assert before <= _files(out)  # nothing of the first's was deleted
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)  # the bench and its worker processes
        first.wait(timeout=60)
    # a killed bench leaves its lock file, but no lock: the next bench on the folder gets it
    assert (out / LOCK_NAME).read_text().strip() == str(first.pid)
    lock_bench_folder(out).close()


def test_the_bench_lock_is_exclusive_and_names_its_holder(tmp_path) -> None:
    held = lock_bench_folder(tmp_path / "b")
    try:
        with pytest.raises(UsageError, match=rf"in use by another rmrl bench \(process {os.getpid()}\)"):
            lock_bench_folder(tmp_path / "b")
    finally:
        held.close()
    lock_bench_folder(tmp_path / "b").close()  # released on close
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        lock_bench_folder(tmp_path / "file")
