"""Every user mistake on the ``rmrl`` command line is one line on stderr and exit code 2, found
before any long work starts (no traceback, no folder left behind)."""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path

import pytest

from rmrl_agents.bench import paper
from rmrl_agents.cli import main
from rmrl_agents.common.envs import SYNTHETIC_ENV_ID
from rmrl_agents.stores.record_store import RecordStore

from .conftest import TINY_POLICY_KWARGS


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def _train(out: Path, *extra: str, agent: str = "reinforce") -> list[str]:
    return [
        "train", "--agent", agent, "--env", SYNTHETIC_ENV_ID, "--steps", "3", "--out", str(out), "--no-progress",
        "--policy-kwargs", json.dumps(TINY_POLICY_KWARGS), *extra,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({"learning_rate": "fast"}, ("learning_rate must be float", '"fast"')),
        ({"scene_size": 2.5}, ("scene_size must be int", "2.5")),
        ({"reward_baseline": "median"}, ("reward_baseline must be Literal['mean', 'none']",)),
        ({"sceen_size": 3}, ("RMRL has no parameter 'sceen_size'", "scene_size")),
        ({"seed": 3}, ("seed is set by rmrl train; use --seed",)),
    ],
)
def test_agent_kwargs_are_checked_against_the_algorithms_signature(kwargs, needles, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(_train(out, "--agent-kwargs", json.dumps(kwargs), agent="rmrl")) == 2
    _one_line_error(capsys, "--agent-kwargs", *needles)
    assert not out.exists()


@pytest.mark.parametrize("tau", ["2", "0", "-0.5"])
def test_a_reward_threshold_that_cannot_be_reached_is_refused(tau, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(_train(tmp_path / "run", "--tau", tau))
    assert exit_.value.code == 2
    _one_line_error(capsys, "--tau", "rewards lie in (0, 1]")
    assert not (tmp_path / "run").exists()


def test_rl100_errors_name_the_option_that_fixes_them(tmp_path, capsys) -> None:
    assert main(_train(tmp_path / "a", agent="rl100")) == 2
    _one_line_error(capsys, '--env-kwargs \'{"action_type": "continuous"}\'')
    assert main(_train(tmp_path / "b", "--pretrain", str(tmp_path), agent="rl100")) == 2
    _one_line_error(capsys, "prior_data", "--agent-kwargs")


def test_a_full_disk_is_one_line_naming_the_folder(tmp_path, capsys, monkeypatch) -> None:
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(RecordStore, "append", full)
    out = tmp_path / "run"
    assert main(_train(out)) == 2
    _one_line_error(capsys, "no space left", str(out), "free some space")


@pytest.mark.parametrize(
    ("option", "needles"),
    [
        (["--trials", "3"], ("--trials (3) must be above 20", "--methods")),
        (["--cells", "5000"], ("--cells", "0..999")),
        (["--ray", "10.255.255.1"], ("--ray", "not a Ray address")),
        (["--ray", "cluster:port"], ("--ray", "not a Ray address")),
        (["--readme", "{tmp}/no-such-README.md"], ("--readme", "No such file")),
        (["--readme", "{tmp}/plain.md"], ("--readme", "has no generated block")),
    ],
)
def test_bench_options_are_checked_before_the_benchmark_runs(option, needles, tmp_path, capsys, monkeypatch) -> None:
    def never(*args, **kwargs):
        raise AssertionError("the benchmark started")

    monkeypatch.setattr(paper, "run", never)
    (tmp_path / "plain.md").write_text("# a README without the generated block\n")
    option = [o.format(tmp=tmp_path) for o in option]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:  # argparse's own errors exit; the others return 2
        raise SystemExit(main(["bench", "paper", "--quick", "--out", str(out), "--no-progress", *option]))
    assert exit_.value.code == 2
    _one_line_error(capsys, *needles)
    assert not out.exists()


@pytest.fixture
def loopback_server():
    """A loopback TCP server that accepts connections and answers each with ``reply`` (None: silence)."""
    import threading

    servers = []

    def start(reply: bytes | None) -> int:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        servers.append(srv)

        def serve() -> None:
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                servers.append(conn)
                if reply is not None:
                    conn.recv(64)
                    conn.sendall(reply)

        threading.Thread(target=serve, daemon=True).start()
        return srv.getsockname()[1]

    yield start
    for s in servers:
        s.close()


@pytest.mark.parametrize(
    ("reply", "problem"), [(None, "nothing answered in gRPC within"), (b"HTTP/1.1 400\r\n", "not a Ray head")]
)
def test_a_ray_address_that_accepts_but_is_no_ray_head_fails_within_seconds(
    reply, problem, loopback_server, tmp_path, capsys, monkeypatch
) -> None:
    pytest.importorskip("ray")
    monkeypatch.setattr(paper, "run", lambda *a, **k: pytest.fail("the benchmark started"))
    port = loopback_server(reply)
    t0 = time.perf_counter()
    assert main(["bench", "paper", "--quick", "--out", str(tmp_path / "out"), "--ray", f"127.0.0.1:{port}"]) == 2
    assert time.perf_counter() - t0 < 6
    _one_line_error(capsys, f"--ray 127.0.0.1:{port}", problem)


def test_a_grpc_server_passes_the_ray_check(loopback_server) -> None:
    from rmrl_agents.commands.ray_address import check_ray_reachable

    pytest.importorskip("ray")
    settings_frame = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
    check_ray_reachable(f"127.0.0.1:{loopback_server(settings_frame)}")  # no error


def test_a_ray_address_where_nothing_listens_fails_within_seconds(tmp_path, capsys, monkeypatch) -> None:
    pytest.importorskip("ray")
    monkeypatch.setattr(paper, "run", lambda *a, **k: pytest.fail("the benchmark started"))
    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    assert main(["bench", "paper", "--quick", "--out", str(tmp_path / "out"), "--ray", f"127.0.0.1:{port}"]) == 2
    assert time.perf_counter() - t0 < 5
    _one_line_error(capsys, f"--ray 127.0.0.1:{port}", "cannot reach a Ray cluster")
