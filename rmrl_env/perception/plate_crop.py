"""A plate-centred crop of the colour frame: the optional ``plate_crop`` observation.

At 120 x 160 the whole-table observation image shows a plate as about 20 x 13 pixels of 6.5 mm,
and at a policy's 60 x 80 input as 7 x 5: the two plate types differ in a handful of pixels. The
crop samples a fixed window of the table around the estimated pose P^e at the camera's own
resolution instead (:data:`~rmrl_env.env_settings.PLATE_CROP_M_PER_PX`).

How it is made, the same on every backend (it needs only the frame, the detection and the
believed calibration the localiser used):

* the window is a rectangle on the table plane (``table_z_m``), its long side along P^e's yaw,
  centred where the camera's ray through P^e at the plate's measured top height meets the table
  (P^e is the centre of the plate's top face, so the plate is in the middle of the crop whatever
  its height and wherever it lies in the camera's view).
* The crop is turned to P^e's yaw: the table seen from above with the plate's long axis to the
  right and the direction 90° anticlockwise from it up, whatever the camera's mounting. A plate
  then looks the same at every pose and on every cell, and 0.16 x 0.12 m holds it at every yaw
  (a window aligned with the image would need about 0.18 m square for a plate at 45°). Its yaw is
  known only modulo a half turn, so the crop of a plate near ±90° may be turned by 180°.
* The window lies on the table, not on the plate's top face: a taller plate's top face is nearer
  the camera and looks larger (a deep-well plate's by about 3 %), and off the camera's axis its
  side faces show: the cues that tell the types apart (the pose observation carries no height).
  A linear probe tells the types apart in 97-100 % of scenes from this crop and in 72-80 % from
  one laid on the top face (``benchmarks/plate_types_separable.py``).
* Each crop pixel is the believed pinhole projection of its point on the table (the
  localiser's own model; :func:`~rmrl_env.perception.localise.project`), sampled bilinearly:
  the plane-to-image map is one homography.
* Where the window leaves the camera's image (a plate near the image's edge), the crop is
  padded with :data:`PAD_RGB`, a mid grey that is neither the dark plate nor the light bench.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from gymnasium import spaces

from rmrl_env.env_settings import PLATE_CROP_M_PER_PX
from rmrl_env.perception.localise import project
from rmrl_env.protocols import CameraIntrinsics, PlanarPose, RigidTransform

#: The observation key of the crop.
PLATE_CROP_KEY = "plate_crop"
#: Colour of the crop's pixels outside the camera's image.
PAD_RGB = (128, 128, 128)


@dataclass(frozen=True)
class PlateCropper:
    """Crops the frame around a planar pose (see the module docstring).

    Attributes:
        window_m: (along the plate's long axis, across it), metres.
        camera_to_base: the believed camera-to-base extrinsics (those of the localiser).
        table_z_m: height of the plane the window lies on, metres (the table).
        m_per_px: metres per crop pixel.
    """

    window_m: tuple[float, float]
    camera_to_base: RigidTransform
    table_z_m: float
    m_per_px: float = PLATE_CROP_M_PER_PX

    @property
    def shape(self) -> tuple[int, int, int]:
        """(height, width, 3) of a crop, pixels: width along the plate, height across it."""
        along, across = self.window_m
        return round(across / self.m_per_px), round(along / self.m_per_px), 3

    def space(self) -> spaces.Box:
        return spaces.Box(0, 255, self.shape, np.uint8)

    def window_points(self, pose: PlanarPose, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Base-frame points (..., 3) on the table seen by crop pixels (``cols``, ``rows``; pixel centres at integers)."""
        h, w, _ = self.shape
        along, across = self.window_m
        s = (np.asarray(cols, dtype=np.float64) + 0.5 - w / 2) * (along / w)  # along the plate's axis
        t = (h / 2 - np.asarray(rows, dtype=np.float64) - 0.5) * (across / h)  # 90° anticlockwise of it
        c, n = np.cos(pose.yaw_rad), np.sin(pose.yaw_rad)
        x = pose.x_m + s * c - t * n
        y = pose.y_m + s * n + t * c
        return np.stack(np.broadcast_arrays(x, y, np.full_like(x, self.table_z_m)), axis=-1)

    def image_points(self, pose: PlanarPose, cols: np.ndarray, rows: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
        """Where crop pixels (``cols``, ``rows``) fall in the camera's image, pixels (..., 2)."""
        points_cam = self.camera_to_base.inverse().apply(self.window_points(pose, cols, rows))
        return project(points_cam, intrinsics)

    def centre(self, pose: PlanarPose, top_z_m: float) -> PlanarPose:
        """The window's centre: where the camera's ray through ``pose`` at height ``top_z_m`` meets the table."""
        camera = np.asarray(self.camera_to_base.translation, dtype=np.float64)
        if not np.isfinite(top_z_m) or abs(camera[2] - top_z_m) < 1e-6:
            return pose
        scale = (camera[2] - self.table_z_m) / (camera[2] - top_z_m)
        x, y = camera[:2] + scale * (np.array([pose.x_m, pose.y_m]) - camera[:2])
        return PlanarPose(float(x), float(y), pose.yaw_rad)

    def __call__(self, color: np.ndarray, pose: PlanarPose, top_z_m: float, intrinsics: CameraIntrinsics) -> np.ndarray:
        """The crop of ``color`` (uint8 (H, W, 3)) around ``pose``, the centre of a plate's top face at
        height ``top_z_m`` (NaN: on the table): uint8 :attr:`shape`."""
        pose = self.centre(pose, top_z_m)
        h, w, _ = self.shape
        corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
        seen = self.image_points(pose, corners[:, 0], corners[:, 1], intrinsics)
        crop_to_image = cv2.getPerspectiveTransform(corners.astype(np.float32), seen.astype(np.float32))
        crop = cv2.warpPerspective(
            color,
            crop_to_image,
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=PAD_RGB,
        )
        return np.ascontiguousarray(crop, dtype=np.uint8)
