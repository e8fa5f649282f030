"""Nothing lost, nothing silent: the stores, the agents and the CLI under damage and careless use (issue 12)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rmrl_agents import REINFORCE, RMRL, DatasetError, IncompatibleEnvError, RoleModelDataset, TrialLog
from rmrl_agents.cli import main
from rmrl_agents.common.envs import SyntheticPlateEnv
from rmrl_agents.stores.files import acquire_lock
from rmrl_agents.stores.record_store import record_crc
from rmrl_env.grid import CandidateGrid

from .test_cli import _train_args

COARSE = CandidateGrid(max_xy_mm=24.0, step_xy_mm=2.0)  # the same MultiDiscrete([25, 25, 21]), other adjustments


def _image(i: int) -> np.ndarray:
    return np.full((8, 10, 3), i, np.uint8)


def _log(path: Path, n: int = 4) -> None:
    with TrialLog(path, image_shape=(8, 10, 3)) as log:
        for i in range(n):
            log.append({"image": _image(i)}, {"pose": [0.4, 0.0, 0.1 * i], "action": [i, 1, 2], "reward": 0.1 * i})


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rewrite(path: Path, records: list[dict], newline_at_end: bool = True) -> None:
    text = "\n".join(json.dumps(r) for r in records)
    path.write_text(text + ("\n" if newline_at_end else ""))


# -- item 4: every field checksummed, labels checked against the grid ---------------------------------
@pytest.mark.parametrize("field, value", [("reward", 0.9), ("action", [0, 1, 3]), ("pose", [0.4, 0.0, 0.3])])
def test_an_edited_field_fails_the_record_checksum(tmp_path, field, value) -> None:
    _log(tmp_path / "t")
    records = _lines(tmp_path / "t" / "index.jsonl")
    records[2][field] = value
    _rewrite(tmp_path / "t" / "index.jsonl", records)
    with pytest.raises(DatasetError, match=r"line 3: record 2's fields fail their CRC check.*rmrl repair"):
        TrialLog(tmp_path / "t", writable=False)


def test_a_label_outside_the_grid_is_refused_when_the_dataset_opens(tmp_path) -> None:
    with RoleModelDataset(tmp_path / "d", image_shape=(8, 10, 3), action_nvec=[21, 21, 21]) as data:
        data.add(_image(0), [0.4, 0, 0], [3, 4, 5], trial=0)
        data.add(_image(1), [0.4, 0, 0], [3, 4, 5], trial=1)
    records = _lines(tmp_path / "d" / "index.jsonl")
    records[1]["label"] = [3, 4, 25]
    records[1]["crc32"]["record"] = record_crc(records[1])  # a consistent edit: only the grid check can see it
    _rewrite(tmp_path / "d" / "index.jsonl", records)
    with pytest.raises(DatasetError, match=r"line 2 has the label \[3, 4, 25\], outside the action grid"):
        RoleModelDataset.open(tmp_path / "d")


def test_rmrl_opens_its_dataset_before_the_first_trial(tmp_path, tiny_policy) -> None:
    model = RMRL("MultiInputPolicy", SyntheticPlateEnv(), policy_kwargs=tiny_policy, data_dir=tmp_path, scene_size=2)
    (tmp_path / "role_model").mkdir()
    (tmp_path / "role_model" / "meta.json").write_text("{half")
    with pytest.raises(DatasetError, match="role_model/meta.json"):
        model.learn(4)
    assert not (tmp_path / "trials").exists()  # no robot time spent on a run that cannot label


# -- item 5: opening never deletes good data; rmrl repair ---------------------------------------------
def test_a_complete_last_record_without_newline_is_kept(tmp_path) -> None:
    _log(tmp_path / "t")
    index = tmp_path / "t" / "index.jsonl"
    index.write_bytes(index.read_bytes()[:-1])
    assert len(TrialLog(tmp_path / "t", writable=False)) == 4
    with TrialLog(tmp_path / "t") as log:
        assert len(log) == 4 and log.append({"image": _image(9)}, {"reward": 1.0}) == 4
    assert [r["i"] for r in _lines(index)] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "index.jsonl").open("a").write('{"i": 7, "reward"'), r"line 5 \(the last, without newline\)"),
        (lambda p: (p / "index.jsonl").open("a").write("garbage"), r"line 5 \(the last, without newline\)"),
        (lambda p: (p / "image.bin").open("ab").write(b"\0" * 241), "more than the one record a crash can leave"),
    ],
)
def test_damage_beyond_one_unfinished_record_is_an_error_not_a_truncation(tmp_path, damage, message) -> None:
    _log(tmp_path / "t")
    damage(tmp_path / "t")
    before = {f.name: f.read_bytes() for f in (tmp_path / "t").iterdir()}
    with pytest.raises(DatasetError, match=message) as err:
        TrialLog(tmp_path / "t")
    assert f"rmrl repair {tmp_path / 't'}" in str(err.value)
    assert {f.name: f.read_bytes() for f in (tmp_path / "t").iterdir() if f.name != ".lock"} == {
        k: v for k, v in before.items() if k != ".lock"
    }


def test_rmrl_repair_reports_then_keeps_every_intact_record(tmp_path, capsys) -> None:
    _log(tmp_path / "t", n=5)
    image = tmp_path / "t" / "image.bin"
    raw = bytearray(image.read_bytes())
    raw[3 * 240 + 17] ^= 0x40  # record 3's image
    image.write_bytes(bytes(raw))
    original = {f.name: f.read_bytes() for f in (tmp_path / "t").iterdir() if f.name != ".lock"}
    assert main(["repair", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "keeps 4 intact records, loses 1 (record 3: its image fails its CRC check)" in out
    assert {f.name: f.read_bytes() for f in (tmp_path / "t").iterdir() if f.name != ".lock"} == original  # report only
    assert main(["repair", str(tmp_path / "t"), "--apply"]) == 0
    log = TrialLog(tmp_path / "t", writable=False)
    assert [r["reward"] for r in log.records] == [0.0, 0.1, 0.2, 0.4]
    np.testing.assert_array_equal(log.array("image"), np.stack([_image(i) for i in (0, 1, 2, 4)]))
    (backup,) = tmp_path.glob("t.damaged-*")
    assert {f.name: f.read_bytes() for f in backup.iterdir() if f.name != ".lock"} == original  # the original is kept


# -- item 3: a trial is on disk before the automatic reset can fail ----------------------------------------
class ResetFailsEnv(SyntheticPlateEnv):
    """Resets fine once, then fails as staging a plate on a real cell can."""

    def __init__(self) -> None:
        super().__init__()
        self.resets = 0

    def reset(self, **kwargs):  # type: ignore[no-untyped-def]
        self.resets += 1
        if self.resets == 2:
            raise RuntimeError("staging failed: plate not found")
        return super().reset(**kwargs)


def test_a_failing_reset_after_a_trial_does_not_lose_the_trial(tmp_path, tiny_policy) -> None:
    model = REINFORCE("MultiInputPolicy", ResetFailsEnv(), policy_kwargs=tiny_policy, data_dir=tmp_path, seed=0)
    with pytest.raises(RuntimeError, match="plate not found"):
        model.learn(3)
    log = TrialLog(tmp_path / "trials", writable=False)
    assert len(log) == 1 and log.records[0]["timestep"] == 1 and log.records[0]["e_trans_mm"] is not None
    assert model.num_timesteps == 1
    model.learn(2, reset_num_timesteps=False)  # the next call resets and goes on; nothing replayed twice
    assert [r["timestep"] for r in model.trial_log.records] == [1, 2, 3]


# -- item 7: grids compared by value ------------------------------------------------------------------------
def test_same_size_other_step_grid_is_refused_on_load_pretrain_and_resume(tmp_path, tiny_policy) -> None:
    model = RMRL("MultiInputPolicy", SyntheticPlateEnv(), policy_kwargs=tiny_policy, data_dir=tmp_path / "d", scene_size=2)
    model.learn(4)
    model.save(tmp_path / "m.zip")
    model.close_storage()
    coarse = SyntheticPlateEnv(grid=COARSE)
    grids = r"grid ±12 mm/1 mm, ±5°/0.5°, this env has ±24 mm/2 mm, ±5°/0.5°"
    with pytest.raises(IncompatibleEnvError, match=grids):
        RMRL.load(tmp_path / "m.zip", env=coarse)
    other = RMRL("MultiInputPolicy", coarse, policy_kwargs=tiny_policy, data_dir=tmp_path / "o")
    with pytest.raises(IncompatibleEnvError, match="role-model dataset .* was made on " + grids):
        other.pretrain(tmp_path / "d")
    resumed = RMRL("MultiInputPolicy", coarse, policy_kwargs=tiny_policy, data_dir=tmp_path / "d")
    with pytest.raises(IncompatibleEnvError, match="(trial log|role-model dataset) .* was made on " + grids):
        resumed.learn(1)
    assert len(TrialLog(tmp_path / "d" / "trials", writable=False)) == 4


def test_a_loaded_model_does_not_append_to_its_run_unless_asked(tmp_path, tiny_policy) -> None:
    model = REINFORCE("MultiInputPolicy", SyntheticPlateEnv(), policy_kwargs=tiny_policy, data_dir=tmp_path / "run")
    model.learn(3)
    model.save(tmp_path / "m.zip")
    model.close_storage()
    fresh = REINFORCE.load(tmp_path / "m.zip", env=SyntheticPlateEnv())
    fresh.learn(2)  # a new run from these weights
    assert len(TrialLog(tmp_path / "run" / "trials", writable=False)) == 3
    assert fresh.data_dir != str(tmp_path / "run") and len(fresh.trial_log) == 2
    fresh.close_storage()
    asked = REINFORCE.load(tmp_path / "m.zip", env=SyntheticPlateEnv(), data_dir=tmp_path / "run")
    asked.learn(2)
    assert len(TrialLog(tmp_path / "run" / "trials", writable=False)) == 5


# -- items 1, 2, 6, 8, 9: the CLI ----------------------------------------------------------------------------
def test_a_failed_start_does_not_lock_out_the_corrected_command(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "rmrl", 3), "--env-kwargs", '{"imag_size": [32, 32]}']) == 2
    assert "imag_size" in capsys.readouterr().err and not (out / "run.json").exists()
    assert main(_train_args(out, "rmrl", 3)) == 0
    assert len(TrialLog(out / "data" / "trials", writable=False)) == 3


def test_progress_csv_survives_refusals_and_resumes(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "reinforce", 4), "--log-interval", "2"]) == 0
    csv = out / "logs" / "progress.csv"
    first = csv.read_text()
    assert len(first.splitlines()) == 3  # header + 2 dumps
    holder = acquire_lock(out / ".lock", "held")  # another process training in the folder
    assert main([*_train_args(out, "reinforce", 8), "--log-interval", "2"]) == 2
    assert f"in use by process {os.getpid()}" in capsys.readouterr().err
    assert csv.read_text() == first
    holder.close()
    assert main([*_train_args(out, "reinforce", 8), "--log-interval", "2"]) == 0
    rows = csv.read_text().splitlines()
    assert csv.read_text().startswith(first) and len(rows) == 5 and "\0" not in csv.read_text()
    steps = [int(float(r.split(",")[rows[0].split(",").index("time/total_timesteps")])) for r in rows[1:]]
    assert steps == [2, 4, 6, 8]


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_lost_checkpoint_rebuilds_from_the_log_instead_of_restarting(tmp_path, capsys, damage) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "rmrl", 6), "--checkpoint-every", "3"]) == 0
    ckpt = out / "checkpoints" / "latest.zip"
    if damage == "delete":
        ckpt.unlink()
    else:
        ckpt.write_bytes(ckpt.read_bytes()[:200])
    capsys.readouterr()
    assert main([*_train_args(out, "rmrl", 12), "--checkpoint-every", "3"]) == 0
    assert "rebuilding the model from the 6 logged trials" in capsys.readouterr().err
    log = TrialLog(out / "data" / "trials", writable=False)
    assert [r["timestep"] for r in log.records] == list(range(1, 13))
    poses = log.poses()
    assert not any(np.allclose(poses[i], poses[j]) for i in range(6) for j in range(6, 12))  # no scene repeated
    labelled = [r["trial"] for r in RoleModelDataset.open(out / "data" / "role_model").records]
    assert len(labelled) == len(set(labelled)) and set(range(9)) <= set(labelled)


def test_eval_rebuilds_the_env_from_the_model_file_and_explains_mismatches(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "reinforce", 2), "--env-kwargs", '{"image_size": [24, 24]}']) == 0
    alone = tmp_path / "elsewhere" / "model.zip"  # no run.json beside it
    alone.parent.mkdir()
    alone.write_bytes((out / "model.zip").read_bytes())
    capsys.readouterr()
    assert main(["eval", "--model", str(alone), "--episodes", "2", "--no-progress"]) == 0
    assert main(["eval", "--model", str(alone), "--episodes", "2", "--json", str(tmp_path / "no" / "e.json")]) == 2
    assert "the folder" in capsys.readouterr().err
    assert main(["eval", "--model", str(alone), "--env-kwargs", '{"image_size": [32, 32]}', "--no-progress"]) == 2
    assert "was made on images of [24, 24, 3], this env gives [32, 32, 3]" in capsys.readouterr().err
    with zipfile.ZipFile(alone) as zf:
        assert json.loads(zf.read("data"))["env_signature"]["env_kwargs"] == {"image_size": [24, 24]}
    alone.write_bytes(alone.read_bytes()[:3000])  # a checkpoint cut by a full disk
    assert main(["eval", "--model", str(alone), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "is not a readable rmrl model" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--steps", "0"],
        ["--steps", "three"],
        ["--checkpoint-every", "0"],
        ["--threads", "-1"],
        ["--env-kwargs", "{bad json"],
        ["--env-kwargs", '{"image_size": "big"}'],
        ["--env", "NoSuchEnv-v0"],
        ["--agent-kwargs", '{"scene_siz": 2}'],
        ["--agent-kwargs", '{"scene_size": 0}'],
        ["--policy-kwargs", '{"resnet_depth": 7}'],
        ["--pretrain", "/no/such/run"],
    ],
)
def test_user_mistakes_are_one_line_and_exit_code_2(tmp_path, capsys, argv) -> None:
    try:
        code = main([*_train_args(tmp_path / "run", "rmrl", 3), *argv])
    except SystemExit as stop:  # argparse's own checks
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "run" / "run.json").exists()
