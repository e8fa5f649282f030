"""Resolution of the measured position: the mask centroid follows the plate below a pixel, the
bounding-box centre steps by half a pixel (~0.8 mm at 1 m)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.perception.classical import ClassicalLocaliser
from rmrl_env.protocols import PlanarPose
from rmrl_env.sim.error_sources import ErrorSources

STEP_M = 1e-4


def _track(position_method: str, yaw_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """True and estimated x (mm) of a plate moved in 0.1 mm steps along x (noise-free cell)."""
    env = gym.make(
        "CellPlatePlace-sim-v0", errors=ErrorSources.ideal(), plate_mix={"standard": 1.0}, position_method=position_method
    )
    u = env.unwrapped
    world = u.backend.drivers.arm.world
    true, est = [], []
    for k in range(11):
        u.backend.stager.put(PlanarPose(0.40 + k * STEP_M, -0.20, math.radians(yaw_deg)), 0.0)
        est.append(u.routine.localise().detection.pose.x_m * 1000)
        true.append(world.plate_pose().x_m * 1000)
    env.close()
    return np.array(true), np.array(est)


def test_the_centroid_follows_a_plate_moved_in_tenth_millimetre_steps():
    true, est = _track("centroid", 20.0)
    slope, offset = np.polyfit(true, est, 1)
    assert slope == pytest.approx(1.0, abs=0.1)
    assert np.std(est - (slope * true + offset)) < 0.06  # mm
    assert np.all(np.diff(est) > -0.05)  # it moves with the plate, step after step


def test_the_bounding_box_centre_moves_in_half_pixel_steps():
    true, est = _track("bbox", 20.0)
    steps = np.abs(np.diff(est))
    moved = steps[steps > 0.01]  # below that: the mean depth in the mask, not the position
    assert len(moved) <= 2 and np.all(moved > 0.5)  # 1 mm of travel: one or two jumps of ~0.8 mm
    assert np.std(est - true) > 0.1


def test_an_unknown_position_method_is_named():
    with pytest.raises(ValueError, match=r"position_method must be one of \('centroid', 'bbox'\)"):
        ClassicalLocaliser(None, position_method="edges")  # type: ignore[arg-type]  # the check comes first
