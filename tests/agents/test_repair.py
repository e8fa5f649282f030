"""``rmrl repair`` keeps every intact record, reports the gaps, and keeps a run's labels and checkpoint
in line with its repaired trial log (issue 18, items 3-5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rmrl_agents import TrialLog
from rmrl_agents.cli import main
from rmrl_agents.stores.record_store import record_crc

from .test_cli import _train_args

TRIALS, LABELS = Path("data/trials"), Path("data/role_model")


def _image(i: int) -> np.ndarray:
    return np.full((8, 10, 3), i, np.uint8)


def _log(path: Path, n: int) -> None:
    with TrialLog(path, image_shape=(8, 10, 3)) as log:
        for i in range(n):
            log.append({"image": _image(i)}, {"trial": i, "pose": [0.4, 0.0, 0.01 * i], "action": [i, 1, 2], "reward": i})


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "index.jsonl").read_text().splitlines()]


def _snapshot(path: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in path.iterdir() if f.name != ".lock"}


def _edit_line(path: Path, n: int, **fields: object) -> None:
    lines = (path / "index.jsonl").read_text().splitlines()
    rec = json.loads(lines[n])
    rec.update(fields)
    lines[n] = json.dumps(rec)
    (path / "index.jsonl").write_text("\n".join(lines) + "\n")


# -- item 4: every intact record is kept, the gaps are reported ------------------------------------------
def test_one_edited_record_costs_that_record_only(tmp_path, capsys) -> None:
    store = tmp_path / "t"
    _log(store, 40)
    _edit_line(store, 5, reward=0.99)
    original = _snapshot(store)
    assert main(["repair", str(store)]) == 0
    out = capsys.readouterr().out
    assert "keeps 39 intact records, loses 1 (record 5: its fields fail their CRC check" in out
    assert _snapshot(store) == original  # a report changes nothing
    assert main(["repair", str(store), "--apply"]) == 0
    log = TrialLog(store, writable=False)
    survivors = [i for i in range(40) if i != 5]
    assert [r["reward"] for r in log.records] == survivors
    np.testing.assert_array_equal(log.array("image"), np.stack([_image(i) for i in survivors]))
    assert [r["trial"] for r in log.records] == list(range(39))  # numbered by position, as the store needs
    assert [r.get("logged_as", r["trial"]) for r in log.records] == survivors  # the original number is kept
    (repair,) = log.attrs["repairs"]
    assert repair["lost"] == [{"index": 5, "why": "its fields fail their CRC check (edited or damaged)"}]
    (backup,) = tmp_path.glob("t.damaged-*")
    assert repair["original"] == backup.name and _snapshot(backup) == original  # the lost bytes are moved aside


def test_missing_and_garbage_index_lines_lose_only_their_records(tmp_path, capsys) -> None:
    store = tmp_path / "t"
    _log(store, 8)
    lines = (store / "index.jsonl").read_text().splitlines()
    lines[2] = "{garbage"
    del lines[5]  # record 5's line is gone; its image bytes are still there
    (store / "index.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["repair", str(store), "--apply"]) == 0
    out = capsys.readouterr().out
    assert "record 2: its index line is not valid JSON" in out and "record 5: its index line is missing" in out
    assert [r["reward"] for r in TrialLog(store, writable=False).records] == [0, 1, 3, 4, 6, 7]


def test_image_bytes_that_no_index_line_lists_are_lost_records(tmp_path, capsys) -> None:
    store = tmp_path / "t"
    _log(store, 3)
    (store / "index.jsonl").write_bytes(b"")
    assert main(["repair", str(store), "--apply"]) == 0
    assert "records 0..2: its index line is missing (only its image.bin bytes are left)" in capsys.readouterr().out
    with TrialLog(store) as log:  # opens for writing again
        assert len(log) == 0 and log.append({"image": _image(7)}, {"reward": 1.0}) == 0
    (backup,) = tmp_path.glob("t.damaged-*")
    assert (backup / "image.bin").stat().st_size == 3 * 8 * 10 * 3  # moved aside, not deleted


# -- item 5: an emptied index beside array bytes is not a dead end ---------------------------------------
def test_an_empty_index_beside_image_bytes_is_repaired_and_train_resumes(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "rmrl", 4), "--checkpoint-every", "2"]) == 0
    (out / TRIALS / "index.jsonl").write_bytes(b"")
    images = (out / TRIALS / "image.bin").read_bytes()
    capsys.readouterr()
    assert main([*_train_args(out, "rmrl", 6), "--checkpoint-every", "2"]) == 2
    assert "rmrl repair" in capsys.readouterr().err
    assert main(["repair", str(out)]) == 0
    report = capsys.readouterr().out
    assert "records 0..3: its index line is missing (only its image.bin bytes are left)" in report
    assert main(["repair", str(out), "--apply"]) == 0
    capsys.readouterr()
    assert main([*_train_args(out, "rmrl", 6), "--checkpoint-every", "2"]) == 0
    trials = _lines(out / TRIALS)
    assert len(trials) == 6 and [r["timestep"] for r in trials] == list(range(1, 7))  # rebuilt from an empty log
    (backup,) = (out / "data").glob("trials.damaged-*")
    assert (backup / "image.bin").read_bytes() == images  # the orphaned images are kept aside
    assert _lines(out / LABELS) == [] or all(r["trial"] < 6 for r in _lines(out / LABELS))
    _assert_labels_match(out)


# -- item 3: the labels (and the checkpoint) follow the repaired log ----------------------------------------
def _assert_labels_match(out: Path) -> None:
    """Every label labels a trial the log holds (same position, same end time), each trial at most once."""
    trials, labels = _lines(out / TRIALS), _lines(out / LABELS)
    keys = [(r["trial"], r["trial_time"]) for r in labels]
    assert len(keys) == len(set(keys)) and len({t for t, _ in keys}) == len(keys), "a trial labelled twice"
    assert all(t < len(trials) and trials[t]["time"] == when for t, when in keys), "a label of a trial not in the log"
    for r in labels:
        assert trials[r["role_model_trial"]]["scene"] == r["scene"] == trials[r["trial"]]["scene"]


@pytest.mark.parametrize("damaged", [3, 4, 8])
def test_repairing_the_trial_log_keeps_the_labels_in_line(tmp_path, capsys, damaged) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "rmrl", 12), "--checkpoint-every", "3"]) == 0
    labels_before = _lines(out / LABELS)
    assert len(labels_before) == 12  # every scene labelled (rewards > 0): one label per trial
    _edit_line(out / TRIALS, damaged, reward=0.5)
    assert main(["repair", str(out / TRIALS), "--apply"]) == 0
    report = capsys.readouterr().out
    assert f"loses 1 (record {damaged}: its fields fail their CRC check" in report
    # a label stays if its trial and its scene's role model stay (the best of the rest is the same trial)
    kept = [r for r in labels_before if damaged not in (r["trial"], r["role_model_trial"])]
    assert len(kept) < 12
    assert [(r["trial_time"], r["label"]) for r in _lines(out / LABELS)] == [(r["trial_time"], r["label"]) for r in kept]
    assert "the checkpoint is now at" in report and not (out / "checkpoints" / "latest.zip").exists()
    assert list((out / "checkpoints").glob("latest.zip.before-repair-*"))
    assert main([*_train_args(out, "rmrl", 12), "--checkpoint-every", "3"]) == 0
    assert "rebuilding the model from the 11 logged trials" in capsys.readouterr().err
    trials = _lines(out / TRIALS)
    # the replacement trial opens a scene of its own, labelled when it closes (the run ends first)
    assert len(trials) == 12 and len(_lines(out / LABELS)) == 11
    _assert_labels_match(out)


def test_a_run_left_inconsistent_by_an_earlier_repair_is_mended(tmp_path, capsys) -> None:
    """Labels of trials the log no longer holds (what the prefix-only repair left) are moved aside."""
    out = tmp_path / "run"
    assert main([*_train_args(out, "rmrl", 6), "--checkpoint-every", "3"]) == 0
    index = out / TRIALS / "index.jsonl"
    index.write_text("".join(index.read_text().splitlines(keepends=True)[:3]))  # what the old repair kept
    image = out / TRIALS / "image.bin"
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    assert main(["repair", str(out), "--apply"]) == 0
    report = capsys.readouterr().out
    assert "3 label(s) no longer label a kept trial by a kept role model" in report
    assert len(_lines(out / LABELS)) == 3
    assert main([*_train_args(out, "rmrl", 6), "--checkpoint-every", "3"]) == 0
    assert len(_lines(out / LABELS)) == 6
    _assert_labels_match(out)


def test_a_damaged_label_is_lost_alone(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main([*_train_args(out, "rmrl", 6), "--checkpoint-every", "3"]) == 0
    lines = (out / LABELS / "index.jsonl").read_text().splitlines()
    rec = json.loads(lines[1])
    rec["label"] = [0, 0, 0]  # an edit the record checksum catches
    assert rec["crc32"]["record"] != record_crc(rec)
    lines[1] = json.dumps(rec)
    (out / LABELS / "index.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["repair", str(out / LABELS), "--apply"]) == 0
    assert "loses 1 (record 1: its fields fail their CRC check" in capsys.readouterr().out
    assert len(_lines(out / LABELS)) == 5 and (out / "checkpoints" / "latest.zip").exists()
    _assert_labels_match(out)
