"""On-disk trial log and role-model dataset: durability and clear errors on bad data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rmrl_agents import DatasetError, RoleModelDataset, TrialLog
from rmrl_agents.stores.record_store import RecordStore


def _image(i: int) -> np.ndarray:
    return np.full((8, 10, 3), i, np.uint8)


def _fill(path, n: int = 3) -> TrialLog:
    log = TrialLog(path, image_shape=(8, 10, 3), attrs={"env_id": "x"})
    for i in range(n):
        log.append({"image": _image(i)}, {"pose": [0.4, 0.0, 0.1 * i], "action": [i, 1, 2], "reward": 0.5 + 0.1 * i})
    return log


def test_append_and_reopen(tmp_path) -> None:
    log = _fill(tmp_path / "t")
    log.close()
    again = TrialLog(tmp_path / "t", writable=False)
    assert len(again) == 3
    assert again.attrs["env_id"] == "x"
    np.testing.assert_array_equal(again.get("image", [2])[0], _image(2))
    np.testing.assert_allclose(again.rewards(), [0.5, 0.6, 0.7])
    np.testing.assert_array_equal(again.actions()[:, 0], [0, 1, 2])
    assert [r["i"] for r in again.records] == [0, 1, 2]


def test_continuous_actions_come_back_as_logged(tmp_path) -> None:
    """A continuous env's actions (floats in [-1, 1]) are not truncated to grid indices, even
    when a row happens to hold only whole numbers; a grid log stays int64."""
    log = TrialLog(tmp_path / "c", image_shape=(8, 10, 3))
    for action in ([-0.43, 0.5, 1.0], [1.0, -1.0, 0.0]):
        log.append({"image": _image(0)}, {"pose": [0.4, 0.0, 0.0], "action": action, "reward": 0.9})
    log.close()
    actions = TrialLog(tmp_path / "c", writable=False).actions()
    assert actions.dtype == np.float64
    np.testing.assert_array_equal(actions, [[-0.43, 0.5, 1.0], [1.0, -1.0, 0.0]])
    assert _fill(tmp_path / "g").actions().dtype == np.int64


def test_nan_is_stored_as_null(tmp_path) -> None:
    log = TrialLog(tmp_path / "t", image_shape=(8, 10, 3))
    log.append({"image": _image(0)}, {"reward": 0.0, "e_trans_mm": float("nan"), "pose": np.zeros(3)})
    line = (tmp_path / "t" / "index.jsonl").read_text()
    assert '"e_trans_mm": null' in line and "NaN" not in line


def test_record_in_flight_is_dropped_and_store_stays_appendable(tmp_path) -> None:
    log = _fill(tmp_path / "t")
    log.close()
    # what a kill -9 in the middle of append leaves: image bytes and half an index line
    with open(tmp_path / "t" / "image.bin", "ab") as fh:
        fh.write(_image(9).tobytes()[:100])
    with open(tmp_path / "t" / "index.jsonl", "a") as fh:
        fh.write('{"i": 3, "pose": [0.4')
    assert len(TrialLog(tmp_path / "t", writable=False)) == 3
    log = TrialLog(tmp_path / "t")
    assert len(log) == 3
    assert log.append({"image": _image(7)}, {"reward": 1.0}) == 3
    log.close()
    again = TrialLog(tmp_path / "t", writable=False)
    assert len(again) == 4
    np.testing.assert_array_equal(again.get("image", [3])[0], _image(7))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "index.jsonl").write_text('{"i": 0}\nGARBAGE\n{"i": 2}\n'), "not valid JSON"),
        (lambda p: (p / "image.bin").write_bytes((p / "image.bin").read_bytes()[:300]), "corrupt"),
        (lambda p: (p / "image.bin").write_bytes(b"\x07" + (p / "image.bin").read_bytes()[1:]), "CRC"),
        (lambda p: (p / "image.bin").unlink(), "missing"),
        (lambda p: (p / "meta.json").write_text("{not json"), "not JSON"),
        (lambda p: (p / "meta.json").unlink(), "meta.json is missing"),
        (
            lambda p: (p / "meta.json").write_text(
                json.dumps({**json.loads((p / "meta.json").read_text()), "schema_version": 99})
            ),
            "schema version 99",
        ),
    ],
)
def test_corrupt_store_is_an_error_never_a_partial_load(tmp_path, damage, message) -> None:
    _fill(tmp_path / "t").close()
    damage(tmp_path / "t")
    with pytest.raises(DatasetError, match=message):
        TrialLog(tmp_path / "t", writable=False)


def test_wrong_kind_and_shape_are_errors(tmp_path) -> None:
    _fill(tmp_path / "t").close()
    with pytest.raises(DatasetError, match="'trials' store, not a 'role_model'"):
        RoleModelDataset.open(tmp_path / "t")
    with pytest.raises(DatasetError, match="stores arrays"):
        TrialLog(tmp_path / "t", image_shape=(16, 16, 3))


def test_one_writer_at_a_time(tmp_path) -> None:
    log = _fill(tmp_path / "t")
    with pytest.raises(DatasetError, match="open for writing elsewhere"):
        TrialLog(tmp_path / "t")
    assert len(TrialLog(tmp_path / "t", writable=False)) == 3  # readers are fine
    log.close()
    TrialLog(tmp_path / "t").close()


def test_role_model_dataset_labels_and_grid_checks(tmp_path) -> None:
    data = RoleModelDataset(tmp_path / "d", image_shape=(8, 10, 3), action_nvec=[21, 21, 21])
    data.add(_image(1), [0.4, 0.0, 0.0], [3, 4, 5], scene=0, trial=7)
    assert len(data) == 1 and data.contains_trial(7) and not data.contains_trial(8)
    with pytest.raises(ValueError, match="outside the action grid"):
        data.add(_image(1), [0.4, 0.0, 0.0], [3, 4, 21], scene=0, trial=8)
    data.close()
    with pytest.raises(DatasetError, match="labels the action grid"):
        RoleModelDataset(tmp_path / "d", action_nvec=[11, 11, 11])
    images, poses, labels = RoleModelDataset.open(tmp_path / "d").batch([0])
    np.testing.assert_array_equal(labels, [[3, 4, 5]])
    assert images.shape == (1, 8, 10, 3) and poses.shape == (1, 3)


def test_generic_store_rejects_wrong_arrays(tmp_path) -> None:
    store = RecordStore(tmp_path / "s", "things", arrays={"a": ((2,), "float32")})
    with pytest.raises(ValueError, match="shape"):
        store.append({"a": np.zeros(3)}, {})
    with pytest.raises(ValueError, match="needs arrays"):
        store.append({"b": np.zeros(2)}, {})
