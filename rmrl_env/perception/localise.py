"""Plate localisation math shared by every detector (sim and real).

Given a plate mask in an RGB-D frame, the pose follows the pipeline of the paper (§3.4):

1. the mask's position ``(u, v)`` in pixels: its bounding-box centre (``position_method=
   "bbox"``, the paper's) or the centroid of its pixels (``"centroid"``, the default);
2. ``Z`` = mean valid depth inside the mask (metres);
3. deprojection with the pinhole intrinsics: ``X = (u - cx) Z / fx``, ``Y = (v - cy) Z / fy``;
4. camera-to-base extrinsics: ``p_base = R p_cam + t``;
5. yaw = direction of the first principal component of the mask, measured in the base frame
   (mask pixels deprojected at depth ``Z`` and transformed to the base before the PCA, so a
   camera that is not exactly top-down still gives the right angle);
6. tilt and top height = those of a plane fitted to the mask's depth away from its outline
   (:mod:`~rmrl_env.perception.plate_lie`), which tell a plate lying flat from one leaning, on a
   rim or standing on an end.

The pipeline uses the *believed* intrinsics and extrinsics (from calibration). Whatever the
calibration gets wrong, and whatever the pinhole model leaves out (lens distortion, the side
faces of a 14 mm tall plate seen off-axis), ends up as pick-pose error: the error the policy
learns to correct.

Resolution of the position (``tests/env/test_subpixel.py``, plate moved in 0.1 mm steps 1 m
below the camera, where a pixel is 1.6 mm): the bounding-box centre moves in half-pixel steps
(~0.8 mm) and stays put in between; the mask centroid averages every pixel of the outline and
follows the plate to about a tenth of a millimetre whenever the plate's edges are not aligned
with the pixel grid (within about a degree of axis-aligned, whole rows of pixels flip at once
and the centroid steps as well). A lab would use the centroid; the bounding box stays for
comparison with the paper.
"""

from __future__ import annotations

import cv2
import numpy as np

from rmrl_env.errors import PlateNotFoundError
from rmrl_env.perception.plate_lie import fit_top_face
from rmrl_env.protocols import CameraIntrinsics, PlanarPose, PlateDetection, RGBDFrame, RigidTransform, wrap_half_turn

#: Ways to reduce the mask to one image position (see the module docstring).
POSITION_METHODS = ("centroid", "bbox")


def deproject(
    u: np.ndarray | float, v: np.ndarray | float, depth_m: np.ndarray | float, intrinsics: CameraIntrinsics
) -> np.ndarray:
    """Pixel coordinates and depth to camera-frame points (OpenCV axes: x right, y down, z forward).

    Returns an array of shape (..., 3), metres.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    z = np.asarray(depth_m, dtype=np.float64)
    x = (u - intrinsics.cx) * z / intrinsics.fx
    y = (v - intrinsics.cy) * z / intrinsics.fy
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def project(points_cam: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Camera-frame points (..., 3) to pixel coordinates (..., 2) with the pinhole model."""
    p = np.asarray(points_cam, dtype=np.float64)
    u = intrinsics.fx * p[..., 0] / p[..., 2] + intrinsics.cx
    v = intrinsics.fy * p[..., 1] / p[..., 2] + intrinsics.cy
    return np.stack([u, v], axis=-1)


def pose_from_mask(
    frame: RGBDFrame,
    mask: np.ndarray,
    camera_to_base: RigidTransform,
    min_valid_depth_px: int = 50,
    position_method: str = "centroid",
) -> PlateDetection:
    """Localise the plate from its mask (steps 1-5 above).

    Args:
        frame: the RGB-D frame the mask was computed on.
        mask: bool array (H, W), True on plate pixels.
        camera_to_base: believed transform from the camera (OpenCV axes) to the robot base.
        min_valid_depth_px: fewest mask pixels with valid depth accepted.
        position_method: ``"centroid"`` (mean pixel of the mask, sub-pixel) or ``"bbox"``
            (bounding-box centre, the paper's).

    Raises:
        PlateNotFoundError: the mask is empty or has too little valid depth.
    """
    if position_method not in POSITION_METHODS:
        raise ValueError(f"position_method must be one of {POSITION_METHODS}, got {position_method!r}")
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != frame.color.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match the frame's {frame.color.shape[:2]}")
    # The mask's pixels in raster order, as np.nonzero gives them (findNonZero is much faster).
    pixels = cv2.findNonZero(np.ascontiguousarray(mask).view(np.uint8))
    if pixels is None or len(pixels) == 0:
        raise PlateNotFoundError("the plate mask is empty: no plate pixels in the frame")
    us, vs = pixels.reshape(-1, 2).T
    depth_in_mask = frame.depth_at(vs, us)
    valid = np.isfinite(depth_in_mask) & (depth_in_mask > 0)
    if int(valid.sum()) < min_valid_depth_px:
        raise PlateNotFoundError(
            f"only {int(valid.sum())} plate pixels have valid depth (need {min_valid_depth_px}): "
            "check the depth stream and that the plate is inside the depth camera's range"
        )
    z = float(depth_in_mask[valid].mean())
    u0, u1 = int(us.min()), int(us.max())
    v0, v1 = int(vs.min()), int(vs.max())
    if position_method == "bbox":
        u_c, v_c = 0.5 * (u0 + u1), 0.5 * (v0 + v1)
    else:
        u_c, v_c = float(us.mean()), float(vs.mean())
    centre_base = camera_to_base.apply(deproject(u_c, v_c, z, frame.intrinsics))
    yaw = _principal_yaw(us, vs, z, frame.intrinsics, camera_to_base)
    face = fit_top_face(mask, frame, camera_to_base)
    return PlateDetection(
        pose=PlanarPose(float(centre_base[0]), float(centre_base[1]), yaw),
        # the top face's own height where it could be fitted: the mask's mean depth also holds the
        # side faces of a tall plate seen off-axis, which put its centre up to 3 mm low
        top_z_m=face.top_z_m if face is not None else float(centre_base[2]),
        mask=mask,
        bbox_px=(u0, v0, u1, v1),
        depth_m=z,
        tilt_rad=face.tilt_rad if face is not None else float("nan"),
    )


def _principal_yaw(
    us: np.ndarray, vs: np.ndarray, z: float, intrinsics: CameraIntrinsics, camera_to_base: RigidTransform
) -> float:
    """Yaw of the mask's first principal axis in the base frame.

    Deprojected at one depth ``z``, pixels map to base-frame xy by an affine map ``A (u, v) + b``,
    so the base-frame covariance is exactly ``A Σ_uv Aᵀ`` with Σ_uv the pixels' covariance.
    """
    rot = np.asarray(camera_to_base.rotation)
    a = rot[:2, :2] @ np.diag([z / intrinsics.fx, z / intrinsics.fy])
    cov_uv = np.cov(np.vstack([us, vs]).astype(np.float64))
    cov = a @ cov_uv @ a.T
    eigvals, eigvecs = np.linalg.eigh(cov)
    major = eigvecs[:, int(np.argmax(eigvals))]
    return wrap_half_turn(float(np.arctan2(major[1], major[0])))
