"""``rmrl repair`` keeps every intact record and reports the gaps (issue 18, items 4-5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rmrl_agents import TrialLog
from rmrl_agents.cli import main


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
