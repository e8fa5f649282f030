"""The classical localiser's fast path finds exactly what the plain pipeline finds.

The plain pipeline: HSV's V channel thresholded, the connected components of the whole image,
the mask's pixels by ``np.nonzero``. The fast one thresholds every channel at once, labels each
cluster of dark 8 x 8 blocks on its own (or, on a tie, the box around the dark pixels) and lists
the mask with ``cv2.findNonZero``. Both run on frames
of real scenes and on drawn frames made to catch a change of component order or of pixel order.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from rmrl_env.errors import PlateNotFoundError
from rmrl_env.perception.classical import ClassicalLocaliser
from rmrl_env.perception.localise import _principal_yaw, deproject
from rmrl_env.perception.plate_lie import EDGE_PX, fit_plane
from rmrl_env.protocols import CameraIntrinsics, PlanarPose, PlateDetection, RGBDFrame, RigidTransform

INTR = CameraIntrinsics(640, 480, 615.0, 615.0, 319.5, 239.5)
CAM_TO_BASE = RigidTransform(np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]), np.array([0.45, 0.0, 1.0]))


def plain_segment(loc: ClassicalLocaliser, color: np.ndarray) -> np.ndarray:
    brightest = cv2.cvtColor(color, cv2.COLOR_RGB2HSV)[..., 2]
    _, dark = cv2.threshold(brightest, loc.dark_threshold - 1, 1, cv2.THRESH_BINARY_INV)
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, loc._kernel)
    _n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    ok = np.nonzero((areas >= loc.min_area_px) & (areas <= loc.max_area_px))[0]
    if ok.size == 0:
        raise PlateNotFoundError(f"the largest dark region has {int(areas.max()) if areas.size else 0} px")
    return labels == 1 + ok[int(np.argmax(areas[ok]))]


def plain_localise(loc: ClassicalLocaliser, frame: RGBDFrame) -> PlateDetection:
    mask = plain_segment(loc, frame.color)
    vs, us = np.nonzero(mask)
    depth = frame.depth_m[vs, us]
    z = float(depth[np.isfinite(depth) & (depth > 0)].mean())
    if loc.position_method == "bbox":
        u_c, v_c = 0.5 * (us.min() + us.max()), 0.5 * (vs.min() + vs.max())
    else:
        u_c, v_c = float(us.mean()), float(vs.mean())
    centre = loc.camera_to_base.apply(deproject(u_c, v_c, z, frame.intrinsics))
    yaw = _principal_yaw(us, vs, z, frame.intrinsics, loc.camera_to_base)
    bbox = (int(us.min()), int(vs.min()), int(us.max()), int(vs.max()))
    # the top face: the whole image eroded (the fast path erodes only the box around the plate)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_PX + 1, 2 * EDGE_PX + 1))
    core_v, core_u = np.nonzero(cv2.erode(mask.astype(np.uint8), kernel))
    face = fit_plane(core_u, core_v, frame.depth_m[core_v, core_u], frame.intrinsics, loc.camera_to_base)
    return PlateDetection(
        pose=PlanarPose(float(centre[0]), float(centre[1]), yaw),
        top_z_m=face.top_z_m if face is not None else float(centre[2]),
        mask=mask,
        bbox_px=bbox,
        depth_m=z,
        tilt_rad=face.tilt_rad if face is not None else float("nan"),
    )


def assert_same_detection(loc: ClassicalLocaliser, frame: RGBDFrame) -> bool:
    """The fast and the plain pipelines agree on ``frame``, bit for bit; True if a plate was found."""
    try:
        want = plain_localise(loc, frame)
    except PlateNotFoundError as err:
        with pytest.raises(PlateNotFoundError) as fast:
            loc.localise(frame)
        assert str(err).split("has ")[1] in str(fast.value)  # the same largest dark region
        return False
    got = loc.localise(frame)
    np.testing.assert_array_equal(got.mask, want.mask)
    assert got.pose == want.pose  # bit for bit
    assert got.top_z_m == want.top_z_m and got.depth_m == want.depth_m and got.bbox_px == want.bbox_px
    assert got.tilt_rad == want.tilt_rad or (np.isnan(got.tilt_rad) and np.isnan(want.tilt_rad))
    return True


def drawn_frame(blobs: Sequence[tuple[float, float, float, float, float, int]], specks: int = 0, seed: int = 0) -> RGBDFrame:
    """A light, noisy bench with dark rotated rectangles ``(u, v, length, width, angle_deg, level)``
    and dark specks; the depth rises inside the rectangles."""
    rng = np.random.default_rng(seed)
    color = np.clip(rng.normal(190, 12, (480, 640, 3)), 0, 255).astype(np.uint8)
    depth = np.full((480, 640), 1.0, np.float32) + rng.normal(0, 0.002, (480, 640)).astype(np.float32)
    for u, v, length, width, angle, level in blobs:
        box = cv2.boxPoints(((u, v), (length, width), angle)).astype(np.float32)
        inside = np.zeros((480, 640), np.uint8)
        cv2.fillConvexPoly(inside, np.round(box * 16).astype(np.int32), 1, shift=4)
        sel = inside.astype(bool)
        color[sel] = np.clip(rng.normal(level, 8, (int(sel.sum()), 3)), 0, 255).astype(np.uint8)
        depth[sel] -= 0.014
    for _ in range(specks):
        u, v = int(rng.integers(0, 637)), int(rng.integers(0, 477))
        color[v : v + 3, u : u + 3] = 10
    return RGBDFrame(color, depth, INTR)


DRAWN = {
    "one plate": [(300, 250, 80, 55, 20, 25)],
    # A smaller plate-sized blob first in raster order: the largest must still win.
    "two candidates": [(150, 80, 60, 40, 0, 25), (420, 330, 85, 57, -35, 25)],
    "two of equal size": [(150, 120, 70, 50, 0, 25), (450, 320, 70, 50, 0, 25)],
    # 6 px apart: their blocks touch, so both lie in one cluster of dark blocks.
    "two of equal size side by side": [(200, 200, 70, 50, 0, 25), (276, 200, 70, 50, 0, 25)],
    "a larger one beside a smaller one": [(200, 200, 60, 40, 0, 25), (273, 200, 80, 54, 0, 25)],
    "at the image corner": [(30, 25, 90, 60, 10, 25)],
    "touching the border": [(600, 460, 100, 70, 45, 25)],
    # Noise lifts part of it over the threshold: a ragged mask with holes and loose pieces.
    "grey plate at the threshold": [(320, 240, 80, 55, 60, 50)],
}


@pytest.mark.parametrize("name", sorted(DRAWN))
@pytest.mark.parametrize("method", ["centroid", "bbox"])
def test_drawn_frames_give_the_plain_pipelines_detection(name, method):
    loc = ClassicalLocaliser(CAM_TO_BASE, position_method=method)
    for seed, specks in enumerate((0, 40)):
        assert assert_same_detection(loc, drawn_frame(DRAWN[name], specks=specks, seed=seed))


@pytest.mark.parametrize(
    "blobs", [[], [(300, 250, 16, 12, 0, 25)], [(300, 250, 300, 200, 0, 25)]], ids=["empty", "too small", "too large"]
)
def test_frames_without_a_plate_are_refused_by_both(blobs):
    assert not assert_same_detection(ClassicalLocaliser(CAM_TO_BASE), drawn_frame(blobs, specks=30))


def test_frames_of_the_cell_give_the_plain_pipelines_detection(place_env):
    u = place_env.unwrapped
    loc = u.backend.drivers.localiser.localiser  # the classical localiser inside the sim's wrapper
    rng = np.random.default_rng(3)
    found = 0
    for seed in range(10):
        place_env.reset(seed=seed)
        found += assert_same_detection(loc, u._last_frame)
        place_env.step(rng.integers(0, u.action_space.nvec))
        found += assert_same_detection(loc, u._last_frame)
    assert found >= 15
