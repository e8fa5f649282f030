"""How a plate lies, from depth: a plane fitted to the plate's top face as the camera sees it.

Every mask pixel with valid depth, away from the outline, is deprojected with the believed intrinsics and moved into the
base frame by the believed extrinsics; a plane ``z = a x + b y + c`` is fitted by least squares,
then refitted on the points within :data:`INLIER_M` of it (side faces of a tall plate seen
off-axis, and depth outliers at the outline, drop out). The plane's tilt is the angle between
its normal and the vertical; the top's height is the median height of the inliers.

With the D435's depth noise at 1 m (about 4 mm per pixel), a flat plate's fitted tilt is a
few tenths of a degree (``benchmarks/outcomes.py``, ``tests/env/test_outcomes.py``); a plate with one end on an 8 mm rim is
tilted 3.6° or more, one leaning on a wall far more. What the fit cannot tell: a plate upside
down (its underside is a flat face of the same outline and height), and a tilt about an axis
the camera sees edge-on when only a thin strip of the plate is visible (few pixels: the tilt is
then uncertain, and the height decides; see :meth:`rmrl_env.cell.CellLayout.lie_problem`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from rmrl_env.protocols import CameraIntrinsics, RGBDFrame, RigidTransform

#: Points farther than this from the first fit (m) are left out of the second.
INLIER_M = 0.006
#: Fewest points a plane is fitted to.
MIN_POINTS = 30
#: Pixels eroded from the mask's outline before the fit.
EDGE_PX = 8
_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_PX + 1, 2 * EDGE_PX + 1))


@dataclass(frozen=True)
class TopFace:
    """The plane fitted to a plate's visible top face.

    Attributes:
        tilt_rad: angle between the plane's normal and the base frame's vertical.
        top_z_m: median height of the face's points (base frame).
        points: number of points the final fit used.
    """

    tilt_rad: float
    top_z_m: float
    points: int


def fit_top_face(mask: np.ndarray, frame: RGBDFrame, camera_to_base: RigidTransform) -> TopFace | None:
    """Fit the top face of the plate seen in ``mask`` (bool H x W) over the frame's depth (metres,
    0 where invalid), read at the face's pixels only (:meth:`RGBDFrame.depth_at`).

    The mask is first eroded by :data:`EDGE_PX` pixels: the outline carries the side faces of a
    tall plate seen off-axis (up to about 8 px for a 44 mm plate at the edge of the view) and
    the depth's edge outliers. Returns ``None`` with fewer than :data:`MIN_POINTS` points left
    (a plate standing on an end shows a strip narrower than the erosion).
    """
    us, vs = core_pixels(mask)
    return fit_plane(us, vs, frame.depth_at(vs, us), frame.intrinsics, camera_to_base)


def core_pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(us, vs)`` of the mask's pixels at least :data:`EDGE_PX` from its outline, in raster order."""
    binary = mask.astype(np.uint8)
    x, y, w, h = cv2.boundingRect(binary)
    if w * h == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Erode only the box around the plate, widened by the erosion's reach where the image goes on:
    # the same pixels as eroding the whole image (whose own border does not erode), less work.
    x0, y0 = max(x - EDGE_PX, 0), max(y - EDGE_PX, 0)
    x1, y1 = min(x + w + EDGE_PX, binary.shape[1]), min(y + h + EDGE_PX, binary.shape[0])
    vs, us = np.nonzero(cv2.erode(binary[y0:y1, x0:x1], _KERNEL))
    return us + x0, vs + y0


def fit_plane(
    us: np.ndarray, vs: np.ndarray, depth_m: np.ndarray, intrinsics: CameraIntrinsics, camera_to_base: RigidTransform
) -> TopFace | None:
    """The plane through the pixels ``(us, vs)`` at their depths (base frame), refitted on its inliers."""
    z = np.asarray(depth_m, dtype=np.float64)
    ok = np.isfinite(z) & (z > 0)
    us, vs, z = us[ok], vs[ok], z[ok]
    if us.size < MIN_POINTS:
        return None
    cam = np.stack(
        [
            (us.astype(np.float64) - intrinsics.cx) * z / intrinsics.fx,
            (vs.astype(np.float64) - intrinsics.cy) * z / intrinsics.fy,
            z,
        ],
        axis=-1,
    )
    pts = camera_to_base.apply(cam)
    keep = np.ones(len(pts), dtype=bool)
    coef = np.zeros(3)
    for _ in range(2):
        if int(keep.sum()) < MIN_POINTS:
            return None
        sel = pts[keep]
        x0, y0 = sel[:, 0].mean(), sel[:, 1].mean()
        design = np.c_[sel[:, 0] - x0, sel[:, 1] - y0, np.ones(len(sel))]
        coef, *_ = np.linalg.lstsq(design, sel[:, 2], rcond=None)
        residual = pts[:, 2] - (coef[0] * (pts[:, 0] - x0) + coef[1] * (pts[:, 1] - y0) + coef[2])
        keep = np.abs(residual) <= INLIER_M
    tilt = math.atan(math.hypot(float(coef[0]), float(coef[1])))
    inliers = pts[keep] if int(keep.sum()) >= MIN_POINTS else pts
    return TopFace(tilt, float(np.median(inliers[:, 2])), int(keep.sum()))
