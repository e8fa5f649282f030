"""RobotStager's decisions, with stub drivers (no motion unless needed, surfaces snapped)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmrl_env.cell import PLATE_HEIGHT_M
from rmrl_env.errors import PlateNotFoundError, ResetError
from rmrl_env.protocols import CameraIntrinsics, Localisation, PlanarPose, PlateDetection, PlateStager, RGBDFrame
from rmrl_env.real.stager import RobotStager
from rmrl_env.routine import Failure, TrialOutcome
from rmrl_env.twin.config import default_config


class StubRoutine:
    def __init__(self, detections, outcomes=()):
        self.layout = default_config().layout
        self.detections = list(detections)
        self.outcomes = list(outcomes)
        self.transfers = []

    def localise(self):
        det = self.detections.pop(0)
        if det is None:
            raise PlateNotFoundError("no plate")
        return seen(det)

    def transfer(self, pick, pick_z, place, place_z):
        self.transfers.append((pick, pick_z, place, place_z))
        return self.outcomes.pop(0)


def det(x, y, yaw=0.0, surface=0.0, height=PLATE_HEIGHT_M, tilt_deg=0.3):
    return PlateDetection(
        PlanarPose(x, y, yaw), surface + height, np.zeros((1, 1), bool), (0, 0, 0, 0), 1.0, tilt_rad=math.radians(tilt_deg)
    )


def seen(detection):
    frame = RGBDFrame(np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1), np.float32), CameraIntrinsics(1, 1, 1.0, 1.0, 0.0, 0.0))
    return Localisation(frame, detection)


def test_plate_already_there_is_not_moved(tmp_path):
    routine = StubRoutine([det(0.4005, -0.2, 0.001)])
    stager = RobotStager(routine, log_path=tmp_path / "r.jsonl")
    assert isinstance(stager, PlateStager)
    result = stager.stage_plate(PlanarPose(0.40, -0.2, 0.0))
    assert routine.transfers == [] and "already there" in (tmp_path / "r.jsonl").read_text()
    assert result.detection.pose == PlanarPose(0.4005, -0.2, 0.001)  # the verifying localisation is handed on


def test_plate_on_the_shelf_is_picked_at_the_shelf_floor():
    routine = StubRoutine([det(0.58, 0.2, 0.0, surface=0.0625)], [TrialOutcome(None, seen(det(0.4, -0.2)))])
    result = RobotStager(routine).stage_plate(PlanarPose(0.40, -0.2, 0.0))
    assert result.detection.pose == PlanarPose(0.4, -0.2, 0.0)  # the routine's re-localisation after the transfer
    ((_pick, pick_z, place, place_z),) = routine.transfers
    assert pick_z == pytest.approx(0.06) and place_z == 0.0 and place == PlanarPose(0.40, -0.2, 0.0)


def test_missed_grasp_is_retried_then_reported():
    miss = TrialOutcome(Failure.GRASP_MISSED, seen(det(0.45, 0.2)), "closed on nothing")
    routine = StubRoutine([det(0.4, 0.2), det(0.4, 0.2)], [miss, miss])
    with pytest.raises(ResetError, match="grasp_missed.*by hand"):
        RobotStager(routine, attempts=2).stage_plate(PlanarPose(0.40, -0.2, math.radians(5)))
    assert len(routine.transfers) == 2


def test_lost_plate_is_reported_without_motion():
    routine = StubRoutine([None])
    with pytest.raises(PlateNotFoundError, match="Nothing was moved"):
        RobotStager(routine).stage_plate(PlanarPose(0.40, -0.2, 0.0))
    assert routine.transfers == []


@pytest.mark.parametrize(
    ("plate", "state"),
    [
        (det(0.45, -0.1, height=0.0855), "stands on an end"),
        (det(0.45, -0.1, tilt_deg=12.0), "leans on a wall or rests on a rim"),
    ],
)
def test_a_plate_standing_or_leaning_is_never_picked(tmp_path, plate, state):
    """The reset stops with one message naming the plate's state, before any motion."""
    routine = StubRoutine([plate])
    with pytest.raises(ResetError, match=f"{state}.*Nothing was moved.*by hand"):
        RobotStager(routine, log_path=tmp_path / "r.jsonl").stage_plate(PlanarPose(0.40, -0.2, 0.0))
    assert routine.transfers == []
    assert "refused" in (tmp_path / "r.jsonl").read_text()


@pytest.mark.parametrize(
    "plate",
    [det(0.40, 0.2, height=PLATE_HEIGHT_M + 0.008), det(0.39, 0.2, height=PLATE_HEIGHT_M + 0.004, tilt_deg=4.0)],
    ids=["flat on the box's walls", "one end on the box's rim"],
)
def test_a_plate_left_on_a_rim_is_picked_up_as_it_lies(plate):
    """A trial's ``not_flat`` on a rim must not stop an unattended run: the jaws level it."""
    routine = StubRoutine([plate], [TrialOutcome(None, seen(det(0.4, -0.2)))])
    result = RobotStager(routine).stage_plate(PlanarPose(0.40, -0.2, 0.0))
    assert result.detection.pose == PlanarPose(0.4, -0.2, 0.0)
    ((_pick, pick_z, _place, _place_z),) = routine.transfers
    assert pick_z == 0.0  # the box floor: the grasp goes to the plate's sides as for a seated plate
