"""The localisation math and the classical detector on frames with a known answer."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from rmrl_env.cell import PLATE_LENGTH_M, PLATE_WIDTH_M
from rmrl_env.errors import PlateNotFoundError
from rmrl_env.perception.classical import ClassicalLocaliser
from rmrl_env.perception.localise import deproject, pose_from_mask, project
from rmrl_env.protocols import CameraIntrinsics, RGBDFrame, RigidTransform

INTR = CameraIntrinsics(640, 480, 615.0, 615.0, 319.5, 239.5)
# Camera 1 m above the base origin region looking straight down (OpenCV axes): x_cam = -y_base.
CAM_TO_BASE = RigidTransform(np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]), np.array([0.45, 0.0, 1.0]))


def flat_plate_frame(x: float, y: float, yaw: float, top_z: float = 0.01435) -> RGBDFrame:
    """A dark rectangle (the plate's top face only) on a light bench, depth to match."""
    c, s = math.cos(yaw), math.sin(yaw)
    corners = np.array([[sx * PLATE_LENGTH_M / 2, sy * PLATE_WIDTH_M / 2] for sx, sy in ((1, 1), (1, -1), (-1, -1), (-1, 1))])
    world = np.c_[corners @ np.array([[c, s], [-s, c]]) + [x, y], np.full(4, top_z)]
    cam = CAM_TO_BASE.inverse().apply(world)
    px = project(cam, INTR)
    color = np.full((480, 640, 3), 200, np.uint8)
    mask = np.zeros((480, 640), np.uint8)
    cv2.fillConvexPoly(mask, np.round(px * 16).astype(np.int32), 1, shift=4)
    color[mask.astype(bool)] = 20
    depth = np.full((480, 640), 1.0, np.float32)
    depth[mask.astype(bool)] = 1.0 - top_z
    return RGBDFrame(color, depth, INTR)


def test_deproject_inverts_project():
    pts = np.array([[0.1, -0.05, 0.9], [-0.2, 0.15, 1.1]])
    uv = project(pts, INTR)
    assert deproject(uv[:, 0], uv[:, 1], pts[:, 2], INTR) == pytest.approx(pts)


@pytest.mark.parametrize("yaw_deg", [0.0, 12.0, -20.0])
def test_classical_localiser_recovers_a_flat_plate(yaw_deg):
    frame = flat_plate_frame(0.41, -0.2, math.radians(yaw_deg))
    det = ClassicalLocaliser(CAM_TO_BASE).localise(frame)
    # pixel size at 1 m is 1.6 mm: the box centre is good to about a pixel
    assert det.pose.x_m == pytest.approx(0.41, abs=1.5e-3)
    assert det.pose.y_m == pytest.approx(-0.2, abs=1.5e-3)
    assert math.degrees(det.pose.yaw_rad) == pytest.approx(yaw_deg, abs=0.5)
    assert det.top_z_m == pytest.approx(0.01435, abs=1e-3)


def test_believed_extrinsics_shift_the_estimate():
    frame = flat_plate_frame(0.41, -0.2, 0.0)
    shifted = RigidTransform(CAM_TO_BASE.rotation, CAM_TO_BASE.translation + np.array([0.003, 0.0, 0.0]))
    a = ClassicalLocaliser(CAM_TO_BASE).localise(frame).pose
    b = ClassicalLocaliser(shifted).localise(frame).pose
    assert b.x_m - a.x_m == pytest.approx(0.003, abs=1e-9)


def test_empty_scene_raises_plate_not_found_with_advice():
    frame = flat_plate_frame(0.41, -0.2, 0.0)
    frame.color[:] = 200
    with pytest.raises(PlateNotFoundError, match="camera's view"):
        ClassicalLocaliser(CAM_TO_BASE).localise(frame)


def test_mask_without_depth_is_reported_not_nan():
    frame = flat_plate_frame(0.41, -0.2, 0.0)
    frame.depth_m[:] = 0.0
    mask = frame.color[..., 0] < 60
    with pytest.raises(PlateNotFoundError, match="valid depth"):
        pose_from_mask(frame, mask, CAM_TO_BASE)
