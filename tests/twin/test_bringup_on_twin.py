"""``rmrl bringup`` end to end on the twin: every stage passes and writes what it measured; the
first failure stops the arm, leaves the gripper as it is and prints the runbook's advice."""

from __future__ import annotations

import json

import pytest

from rmrl_env.protocols import PlanarPose
from rmrl_env.real.bringup import IMAGE_NAME, REPORT_NAME, Bringup
from rmrl_env.real.cli.bringup import main, twin_rehearsal
from rmrl_env.real.runbook import RUNBOOK

pytestmark = [pytest.mark.real, pytest.mark.slow]

STAGES = ["connect", "home", "linear", "gripper", "camera", "pick_place"]


def test_bringup_runs_every_stage_on_the_twin_and_writes_what_it_measured(tmp_path, capsys):
    out = tmp_path / "bu"
    out.mkdir()
    (out / REPORT_NAME).write_text("{}\n")  # an earlier run's report is kept
    assert main(["--twin", "--yes", "--out", str(out)]) == 0
    report = json.loads((out / REPORT_NAME).read_text())
    assert [s["stage"] for s in report["stages"]] == STAGES
    assert all(s["ok"] for s in report["stages"])
    measured = {s["stage"]: s["measured"] for s in report["stages"]}
    assert measured["connect"]["firmware"].endswith("v2.7.103")
    assert measured["connect"]["payload_kg"] == pytest.approx(0.78)
    assert measured["home"]["arrival_error_mm"] < 2.0
    assert measured["linear"]["down"]["arrival_error_mm"] < 2.0
    assert measured["gripper"]["open_mm"] > measured["gripper"]["closed_mm"]
    assert (out / IMAGE_NAME).stat().st_size > 1000
    assert measured["pick_place"]["error_from_target_mm"] < 10.0
    assert (out / "bringup.1.json").read_text() == "{}\n"
    print(capsys.readouterr().out[-2000:])


def _stages_until(stop_at: str, action) -> callable:
    def confirm(line: str) -> bool:
        return action() if line.split("] ")[1].startswith(stop_at + ":") else True

    return confirm


def test_a_collision_stops_the_stage_names_it_and_gives_the_runbooks_advice(tmp_path):
    said: list[str] = []
    with twin_rehearsal(None, tmp_path) as (cfg, twin):
        emu = twin.emulator
        gripper_before: list[float] = []

        def collide() -> bool:
            gripper_before.append(emu.controller.gripper.opening_mm)
            emu.error_mid_motion(31, fraction=0.5)
            return True

        bringup = Bringup(
            cfg, tmp_path / "bu", confirm=_stages_until("linear", collide), find_camera=twin.physics.device.find, say=said.append
        )
        assert bringup.run() == 1
        assert emu.controller.state == 4 and emu.controller.error_code == 31
        assert emu.controller.gripper.opening_mm == pytest.approx(gripper_before[0], abs=0.1), "the gripper is left as it was"
    failed = [line for line in said if "failed" in line]
    assert len(failed) == 1 and "stage 'linear' failed" in failed[0] and "C31" in failed[0]
    assert RUNBOOK["C31"].operator in failed[0]
    report = json.loads((tmp_path / "bu" / REPORT_NAME).read_text())
    assert [s["ok"] for s in report["stages"]] == [True, True, False]
    assert report["stages"][-1]["runbook"]["error"].startswith("C31")


def test_a_plate_out_of_view_stops_at_the_camera_stage_and_saves_the_frame(tmp_path):
    said: list[str] = []
    with twin_rehearsal(None, tmp_path) as (cfg, twin):

        def take_the_plate_away() -> bool:
            twin.put_plate(PlanarPose(1.5, 1.5, 0.0), cfg.layout.table_z_m)
            return True

        confirm = _stages_until("camera", take_the_plate_away)
        assert Bringup(cfg, tmp_path / "bu", confirm=confirm, find_camera=twin.physics.device.find, say=said.append).run() == 1
    failed = [line for line in said if "failed" in line]
    assert "stage 'camera' failed" in failed[0] and RUNBOOK["plate not found"].operator in failed[0]
    assert (tmp_path / "bu" / IMAGE_NAME).exists()


def test_the_operator_can_stop_before_any_stage(tmp_path):
    said: list[str] = []
    with twin_rehearsal(None, tmp_path) as (cfg, twin):
        bringup = Bringup(cfg, tmp_path / "bu", confirm=_stages_until("home", lambda: False), say=said.append)
        assert bringup.run() == 1
        assert twin.emulator.controller.state != 1, "nothing moved"
    report = json.loads((tmp_path / "bu" / REPORT_NAME).read_text())
    assert report["stopped_before"] == "home" and [s["stage"] for s in report["stages"]] == ["connect"]
    assert any("stopped by the operator before stage 'home'" in line for line in said)
