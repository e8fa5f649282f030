"""The twin soak (benchmarks/twin_soak.py) on a few trials: faults met, recovered, no trial lost."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("xarm")
pytest.importorskip("pyrealsense2")
pytestmark = [pytest.mark.real, pytest.mark.slow]


def load_soak():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "twin_soak.py"
    spec = importlib.util.spec_from_file_location("twin_soak", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_operator_faults_are_recovered_and_every_planned_trial_is_logged(tmp_path, capsys):
    soak = load_soak()
    faults = ("dropped connection", "gripper fault", "plate taken away")
    try:
        res = soak.run_soak(trials=4, fault_every=1, time_scale=5.0, seed=0, log=tmp_path / "soak.jsonl", faults=faults)
    except PermissionError as err:
        pytest.skip(str(err))
    assert res["lost"] == [] and [r["trial"] for r in res["records"]] == [0, 1, 2, 3]
    assert res["counts"]["faults injected"] == 3 and sum(res["faults_met"].values()) == 3
    assert set(res["faults_met"]) == set(faults)
    # Each fault stopped a step or a reset with a named error, which the operator handled.
    assert res["counts"].get("steps interrupted", 0) + res["counts"].get("resets interrupted", 0) >= 3
    soak.report(res, 1, 5.0)
    out = capsys.readouterr().out
    assert "trials lost:        0" in out and "faults injected:    3, met: 3, recovered: 3" in out
