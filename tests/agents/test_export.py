"""``rmrl export``: a run's trial log, opened by the other library's own loader, field by field (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rmrl_agents import TrialLog
from rmrl_agents.cli import main
from rmrl_agents.export import FORMATS, Format

from .test_cli import _train_args


def _image(i: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    return rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)


def _hand_made_log(path: Path) -> None:
    """Trials with every kind of value: missing reward, success unknown, a failure code, no final pose."""
    attrs = {"env_id": "X-v0", "action_nvec": [25, 25, 21], "action_type": "grid"}
    with TrialLog(path, image_shape=(6, 8, 3), attrs=attrs) as log:
        for i in range(5):
            log.append(
                {"image": _image(i)},
                {
                    "trial": i,
                    "timestep": i + 1,
                    "agent": "RMRL",
                    "scene": i // 2,
                    "pose": [0.4 + 0.01 * i, -0.02, 0.1 * i],
                    "action": [i, 24 - i, 20],
                    "adjustment": [0.001 * i, -0.002, 0.01],
                    "reward": None if i == 3 else 0.2 * i,
                    "e_trans_mm": None if i == 3 else 1.5 * i,
                    "e_rot_deg": None if i == 3 else 0.25 * i,
                    "success": None if i == 3 else i % 2 == 0,
                    "failure": "place_dropped" if i == 3 else None,
                    "final_pose": None if i == 3 else [0.41, -0.01, 0.02 * i],
                    "privileged": {"true_e_trans_mm": 1.0 + i},
                    "t_start": f"2026-01-01T00:00:0{i}+00:00",
                    "time": f"2026-01-01T00:00:0{i}.5+00:00",
                    "duration_s": 0.5 + i,
                    "info": {"config_hash": "abc"},
                    "reset_info": {"cell": i},
                },
            )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _compare_minari(exported: Path, store: Path) -> None:
    """Open the export with Minari's loader and compare every field with the trial log."""
    minari = pytest.importorskip("minari")
    data = minari.MinariDataset(exported / "data")
    log = TrialLog(store, writable=False)
    assert data.total_episodes == len(log) and data.total_steps == len(log)
    assert list(data.action_space.nvec) == log.attrs["action_nvec"]
    assert data.storage.metadata["rmrl"]["action_nvec"] == log.attrs["action_nvec"]
    for i, (episode, rec) in enumerate(zip(data.iterate_episodes(), log.records, strict=True)):
        image = log.get("image", [i])[0]
        for obs in range(2):  # the trial's observation, repeated as the (unlogged) terminal one
            np.testing.assert_array_equal(episode.observations["image"][obs], image)
            np.testing.assert_array_equal(episode.observations["pose"][obs], np.asarray(rec["pose"], np.float32))
        np.testing.assert_array_equal(episode.actions, [rec["action"]])
        np.testing.assert_array_equal(episode.rewards, [np.nan if rec["reward"] is None else rec["reward"]])
        assert list(episode.terminations) == [True] and list(episode.truncations) == [False]
        infos = episode.infos
        for key in ("e_trans_mm", "e_rot_deg", "duration_s"):
            np.testing.assert_array_equal(infos[key][1], np.nan if rec[key] is None else rec[key])
        assert np.isnan(infos["e_trans_mm"][0])  # not known at the reset
        assert infos["success"][1] == (-1 if rec["success"] is None else int(rec["success"]))
        assert _text(infos["failure"][1]) == (rec["failure"] or "")
        np.testing.assert_array_equal(infos["final_pose"][1], rec["final_pose"] or [np.nan] * 3)
        np.testing.assert_array_equal(infos["adjustment"][1], rec["adjustment"] or [np.nan] * 3)
        assert int(infos["trial"][1]) == i and int(infos["logged_as"][1]) == rec.get("logged_as", i)
        assert int(infos["scene"][1]) == rec["scene"] and int(infos["timestep"][1]) == rec["timestep"]
        for key in ("agent", "t_start", "time"):
            assert _text(infos[key][1]) == rec[key]
        assert json.loads(_text(infos["record"][1])) == {k: v for k, v in rec.items() if k != "crc32"}


def test_a_hand_made_log_exports_field_by_field(tmp_path, capsys) -> None:
    pytest.importorskip("minari")
    _hand_made_log(tmp_path / "t")
    assert main(["export", str(tmp_path / "t"), str(tmp_path / "ex"), "--format", "minari"]) == 0
    assert "wrote 5 trials as a Minari dataset" in capsys.readouterr().out
    _compare_minari(tmp_path / "ex", tmp_path / "t")
    assert not list(tmp_path.glob(".ex.partial-*"))


def test_a_trained_and_repaired_run_exports_field_by_field(tmp_path, capsys) -> None:
    pytest.importorskip("minari")
    out = tmp_path / "run"
    assert main(_train_args(out, "rmrl", 6)) == 0
    index = out / "data" / "trials" / "index.jsonl"
    lines = index.read_text().splitlines()
    lines[2] = "{broken"
    index.write_text("\n".join(lines) + "\n")
    assert main(["export", str(out), str(tmp_path / "ex"), "--format", "minari"]) == 2  # a damaged log is refused
    assert f"rmrl repair {out / 'data' / 'trials'}" in capsys.readouterr().err and not (tmp_path / "ex").exists()
    assert main(["repair", str(out), "--apply"]) == 0
    (tmp_path / "ex").mkdir()  # an empty folder is fine
    assert main(["export", str(out), str(tmp_path / "ex"), "--format", "minari"]) == 0
    _compare_minari(tmp_path / "ex", out / "data" / "trials")  # trials 3.. carry logged_as


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing run", "does not exist; give a run's --out folder"),
        ("not a run", "holds no trial log"),
        ("out not empty", "exists and is not an empty folder; choose a new OUT"),
        ("lerobot", "unknown --format 'lerobot' (LeRobot cannot be installed beside torch 2.13"),
        ("unknown format", "unknown --format 'parquet'; choose one of: minari"),
        ("extra missing", "needs the no_such_package_rmrl package"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, case, message) -> None:
    _hand_made_log(tmp_path / "t")
    run, out, fmt = tmp_path / "t", tmp_path / "ex", "minari"
    if case == "missing run":
        run = tmp_path / "nope"
    elif case == "not a run":
        run = tmp_path / "empty"
        run.mkdir()
    elif case == "out not empty":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    elif case in ("lerobot", "unknown format"):
        fmt = "lerobot" if case == "lerobot" else "parquet"
    else:
        monkeypatch.setitem(FORMATS, "minari", Format("rmrl_agents.export.minari_format", "no_such_package_rmrl", "minari"))
    assert main(["export", str(run), str(out), "--format", fmt]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
    if case == "extra missing":
        assert "pip install 'rmrl[minari]'" in err
    if case == "out not empty":
        assert [p.name for p in out.iterdir()] == ["keep.txt"]  # nothing overwritten
    elif case != "missing run":
        assert not out.exists()
