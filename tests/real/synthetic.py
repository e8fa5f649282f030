"""Synthetic views of calibration boards through a known pinhole camera (ground truth for tests)."""

from __future__ import annotations

import cv2
import numpy as np

from rmrl_env.protocols import CameraIntrinsics, RigidTransform

PX_PER_M = 2000.0  # resolution of the rendered board texture
MARGIN_PX = 20


def board_texture(board, size_m: tuple[float, float], px_per_m: float = PX_PER_M) -> tuple[np.ndarray, float]:
    """The printed board at ``px_per_m`` texels per metre with a white margin of MARGIN_PX.

    Choose ``px_per_m`` near the image's scale (focal length / distance) to avoid aliasing.
    """
    w = round(size_m[0] * px_per_m) + 2 * MARGIN_PX
    h = round(size_m[1] * px_per_m) + 2 * MARGIN_PX
    return board.generateImage((w, h), marginSize=MARGIN_PX, borderBits=1), px_per_m


def render_view(
    texture: tuple[np.ndarray, float], intrinsics: CameraIntrinsics, board_to_camera: RigidTransform, background: int = 90
) -> np.ndarray:
    """Warp the board texture into the camera image (grey uint8, H×W)."""
    texture, px_per_m = texture
    s = 1.0 / px_per_m
    texel_to_board = np.array([[s, 0.0, (0.5 - MARGIN_PX) * s], [0.0, s, (0.5 - MARGIN_PX) * s], [0.0, 0.0, 1.0]])
    r = np.asarray(board_to_camera.rotation)
    t = np.asarray(board_to_camera.translation).reshape(3)
    plane = np.column_stack([r[:, 0], r[:, 1], t])
    h = intrinsics.matrix @ plane @ texel_to_board
    img = cv2.warpPerspective(texture, h, (intrinsics.width, intrinsics.height), flags=cv2.INTER_LINEAR, borderValue=background)
    return cv2.GaussianBlur(img, (3, 3), 0.6)


def look_at(eye: np.ndarray, target: np.ndarray, up_hint: np.ndarray | None = None) -> RigidTransform:
    """A camera at ``eye`` looking at ``target`` (both in board coordinates) → board_to_camera."""
    up_hint = np.array([0.0, -1.0, 0.0]) if up_hint is None else up_hint
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(up_hint, z)
    if np.linalg.norm(x) < 1e-6:
        x = np.cross(np.array([1.0, 0.0, 0.0]), z)
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    r_cam_in_board = np.column_stack([x, y, z])  # columns: camera axes in board frame
    cam_to_board = RigidTransform(r_cam_in_board, eye)
    return cam_to_board.inverse()
