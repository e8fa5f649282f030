"""Hand-eye calibration of the fixed overhead camera (eye-to-hand), the way labs usually do it.

A marker board is fixed to the gripper and the arm is moved through N poses with varied tilt
and yaw; at each pose the controller's TCP pose and one camera image are recorded. Two
transforms are unknown and constant: the camera in the robot base (``camera_to_base``, what
the env needs) and the board on the tool (``board_to_tool``, whatever the mount is). For every
view ``i``::

    tool_to_base[i] ∘ board_to_tool = camera_to_base ∘ board_to_camera[i]

Inverting both sides gives OpenCV's robot-world / hand-eye form ``A_i X = Z B_i`` with
``A_i = board_to_camera[i]⁻¹`` (its "world to camera"), ``X = camera_to_base⁻¹`` (its "base to
world"), ``Z = board_to_tool⁻¹`` (its "gripper to camera") and ``B_i = tool_to_base[i]⁻¹`` (its
"base to gripper"). :func:`solve_hand_eye` solves it with ``cv2.calibrateRobotWorldHandEye``
(Shah's Kronecker-product method) where the installed OpenCV has it (4.5-4.x; the Python
bindings of OpenCV 5.0.0 lack it), else with the same closed-form method written out here
(:func:`shah_robot_world_hand_eye`), then refines both transforms by least squares on the board
corners' disagreement between the two chains.

Nothing is measured by hand, so neither the board's height on the table nor a yaw read off a
ruler enters the result. The rotations must not all share one axis: a top-down-only set of
poses (yaw changes only) leaves the camera height undetermined, and is refused.

Units: metres and radians; tool poses from the xArm SDK are millimetres and degrees and are
converted by :func:`tool_to_base_from_sdk`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import least_squares

from rmrl_env.errors import CalibrationError
from rmrl_env.perception.boards import GridBoardSpec
from rmrl_env.perception.calibration import estimate_board_pose
from rmrl_env.protocols import CameraIntrinsics, RigidTransform

#: The board for a gripper mount, the default of ``rmrl calibrate hand-eye``: 4 x 3 AprilTags
#: 36h11 of 35 mm, 8 mm apart (164 x 121 mm).
GRIPPER_BOARD = GridBoardSpec(markers_x=4, markers_y=3, marker_m=0.035, separation_m=0.008, dictionary="APRILTAG_36H11")
#: Fewest views accepted (OpenCV needs 3; a useful calibration 10-20).
MIN_VIEWS = 3
#: The tool's rotations between views must span axes at least this far apart, degrees.
MIN_AXIS_SPREAD_DEG = 15.0


def rpy_matrix(roll_rad: float, pitch_rad: float, yaw_rad: float) -> np.ndarray:
    """``Rz(yaw) Ry(pitch) Rx(roll)`` (3, 3): the xArm's roll-pitch-yaw convention."""
    cr, sr, cp, sp, cy, sy = (f(a) for a in (roll_rad, pitch_rad, yaw_rad) for f in (math.cos, math.sin))
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return rz @ ry @ rx


def tool_to_base_from_sdk(pose_mm_deg: Sequence[float]) -> RigidTransform:
    """The TCP frame in the base frame from an SDK pose ``[x, y, z (mm), roll, pitch, yaw (deg)]``."""
    if len(pose_mm_deg) != 6 or not all(math.isfinite(float(v)) for v in pose_mm_deg):
        raise CalibrationError(f"a tool pose must be 6 finite numbers [x, y, z mm, roll, pitch, yaw deg], got {pose_mm_deg}")
    x, y, z, roll, pitch, yaw = (float(v) for v in pose_mm_deg)
    rot = rpy_matrix(math.radians(roll), math.radians(pitch), math.radians(yaw))
    return RigidTransform(rot, np.array([x, y, z]) / 1000.0)


def rotation_angle_deg(rot: np.ndarray) -> float:
    """The angle of a rotation matrix, degrees."""
    return math.degrees(math.acos(max(-1.0, min(1.0, (float(np.trace(rot)) - 1.0) / 2.0))))


def _as_matrix(t: RigidTransform) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = np.asarray(t.rotation), np.asarray(t.translation).reshape(3)
    return m


def _nearest_rotation(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    return u @ np.diag([1.0, 1.0, float(np.linalg.det(u @ vt))]) @ vt


def shah_robot_world_hand_eye(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``A_i X = Z B_i`` for the 4x4 transforms ``X`` and ``Z`` (Shah 2013, closed form).

    Rotations: ``(I ⊗ R_Ai) vec(R_X) - (R_Biᵀ ⊗ I) vec(R_Z) = 0`` stacked over the views; the
    null vector of that system (smallest singular vector) holds both rotations up to a common
    scale, each projected onto the nearest rotation. Translations: the linear least-squares
    solution of ``R_Ai t_X - t_Z = R_Z t_Bi - t_Ai``.

    Args:
        a, b: ``(4, 4)`` homogeneous transforms of each view (translations in metres).
    """
    eye = np.eye(3)
    rows = [np.hstack([np.kron(eye, ai[:3, :3]), -np.kron(bi[:3, :3].T, eye)]) for ai, bi in zip(a, b, strict=True)]
    _, _, vt = np.linalg.svd(np.vstack(rows))
    v = vt[-1]
    rx, rz = v[:9].reshape(3, 3, order="F"), v[9:].reshape(3, 3, order="F")
    scale = np.cbrt(np.linalg.det(rx))
    if abs(scale) < 1e-12:
        raise CalibrationError("the hand-eye rotation system is degenerate: take views with more varied tool rotations")
    rx, rz = _nearest_rotation(rx / scale), _nearest_rotation(rz / scale)
    lhs = np.vstack([np.hstack([ai[:3, :3], -eye]) for ai in a])
    rhs = np.concatenate([rz @ bi[:3, 3] - ai[:3, 3] for ai, bi in zip(a, b, strict=True)])
    t = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    x, z = np.eye(4), np.eye(4)
    x[:3, :3], x[:3, 3], z[:3, :3], z[:3, 3] = rx, t[:3], rz, t[3:]
    return x, z


def _closed_form(world_to_cam: list[np.ndarray], base_to_gripper: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's robot-world / hand-eye solver where available, else :func:`shah_robot_world_hand_eye`."""
    solver = getattr(cv2, "calibrateRobotWorldHandEye", None)
    if solver is None:
        return shah_robot_world_hand_eye(world_to_cam, base_to_gripper)
    r_b2w, t_b2w, r_g2c, t_g2c = solver(
        [m[:3, :3] for m in world_to_cam], [m[:3, 3:4] for m in world_to_cam],
        [m[:3, :3] for m in base_to_gripper], [m[:3, 3:4] for m in base_to_gripper],
        method=cv2.CALIB_ROBOT_WORLD_HAND_EYE_SHAH,
    )  # fmt: skip
    x, z = np.eye(4), np.eye(4)
    x[:3, :3], x[:3, 3], z[:3, :3], z[:3, 3] = r_b2w, np.ravel(t_b2w), r_g2c, np.ravel(t_g2c)
    return x, z


def _transform(params: np.ndarray) -> RigidTransform:
    rot, _ = cv2.Rodrigues(np.asarray(params[:3], dtype=np.float64))
    return RigidTransform(rot, np.asarray(params[3:6], dtype=np.float64))


def _params(t: RigidTransform) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(np.asarray(t.rotation, dtype=np.float64))
    return np.concatenate([rvec.reshape(3), np.asarray(t.translation).reshape(3)])


def _project(k: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
    """Pinhole projection (N, 3) camera-frame points → (N, 2) pixels."""
    uvw = points_cam @ k.T
    return uvw[:, :2] / uvw[:, 2:3]


@dataclass
class HandEyeResult:
    """Outcome of a hand-eye calibration.

    Attributes:
        camera_to_base: the camera (OpenCV axes) in the robot base frame.
        board_to_tool: the board's pose on the tool (TCP frame).
        residual_mm: ``(N,)`` per view, the mean distance between the board's four outer
            corners placed through the robot (tool pose ∘ board_to_tool) and through the camera
            (camera_to_base ∘ board seen), mm.
        residual_deg: ``(N,)`` per view, the angle between those two board orientations, degrees.
        views_used: number of views solved with.
    """

    camera_to_base: RigidTransform
    board_to_tool: RigidTransform
    residual_mm: np.ndarray
    residual_deg: np.ndarray
    views_used: int

    @property
    def rms_mm(self) -> float:
        """Root mean square of :attr:`residual_mm`."""
        return float(np.sqrt(np.mean(self.residual_mm**2)))


def _check_rotation_spread(tool_to_base: Sequence[RigidTransform]) -> None:
    """Refuse view sets whose relative tool rotations all turn about (nearly) one axis."""
    first = np.asarray(tool_to_base[0].rotation)
    axes = []
    for pose in tool_to_base[1:]:
        rel = first.T @ np.asarray(pose.rotation)
        if rotation_angle_deg(rel) < 2.0:
            continue
        rvec, _ = cv2.Rodrigues(rel)
        axes.append(rvec.reshape(3) / np.linalg.norm(rvec))
    spread = max(
        (math.degrees(math.acos(min(1.0, abs(float(a @ b))))) for i, a in enumerate(axes) for b in axes[i + 1 :]),
        default=0.0,
    )
    if spread < MIN_AXIS_SPREAD_DEG:
        raise CalibrationError(
            f"the tool's rotations between views all turn about nearly one axis (spread {spread:.1f}° < "
            f"{MIN_AXIS_SPREAD_DEG:g}°): tilt the tool (roll and pitch by 15-30°) as well as turning its yaw, "
            "or the camera's position along that axis is undetermined"
        )


def solve_hand_eye(
    tool_to_base: Sequence[RigidTransform],
    board_to_camera: Sequence[RigidTransform],
    board_size_m: tuple[float, float],
    intrinsics: CameraIntrinsics | None = None,
) -> HandEyeResult:
    """Camera-to-base and board-to-tool from N paired views.

    Args:
        tool_to_base: the TCP pose of each view in the robot base frame.
        board_to_camera: the board's pose seen by the camera in the same views.
        board_size_m: the board's printed width and height, metres (for the residual).
        intrinsics: the camera's; when given, the refinement minimises the disagreement in
            pixels (where the camera measures well) rather than in metres (where the board's
            distance, the least certain part of each view, weighs as much as the rest).

    Raises:
        CalibrationError: fewer than :data:`MIN_VIEWS` views, mismatched lists, or rotations
            that all share one axis.
    """
    if len(tool_to_base) != len(board_to_camera):
        raise CalibrationError(f"{len(tool_to_base)} tool poses but {len(board_to_camera)} board views: pair them one to one")
    if len(tool_to_base) < MIN_VIEWS:
        raise CalibrationError(
            f"hand-eye calibration needs at least {MIN_VIEWS} views (10-20 recommended), got {len(tool_to_base)}"
        )
    _check_rotation_spread(tool_to_base)
    world_to_cam = [_as_matrix(t.inverse()) for t in board_to_camera]  # OpenCV's A_i: the camera plays "world"
    base_to_gripper = [_as_matrix(t.inverse()) for t in tool_to_base]
    x, z = _closed_form(world_to_cam, base_to_gripper)
    camera_to_base = RigidTransform(x[:3, :3], x[:3, 3]).inverse()
    board_to_tool = RigidTransform(z[:3, :3], z[:3, 3]).inverse()
    w, h = board_size_m
    corners = np.array([[0.0, 0.0, 0.0], [w, 0.0, 0.0], [w, h, 0.0], [0.0, h, 0.0]])

    grid = np.array([[u * w, v * h, 0.0] for u in (0.0, 0.5, 1.0) for v in (0.0, 0.5, 1.0)])
    k = None if intrinsics is None else intrinsics.without_distortion().matrix
    seen_px = None if k is None else [_project(k, seen.apply(grid)) for seen in board_to_camera]

    def disagreement(params: np.ndarray) -> np.ndarray:
        cam, board = _transform(params[:6]), _transform(params[6:])
        if k is None or seen_px is None:
            return np.concatenate(
                [(tool.compose(board).apply(grid) - cam.compose(seen).apply(grid)).ravel()
                 for tool, seen in zip(tool_to_base, board_to_camera, strict=True)]
            )  # fmt: skip
        base_to_cam = cam.inverse()
        return np.concatenate(
            [(_project(k, base_to_cam.compose(tool).compose(board).apply(grid)) - px).ravel()
             for tool, px in zip(tool_to_base, seen_px, strict=True)]
        )  # fmt: skip

    refined = least_squares(disagreement, np.concatenate([_params(camera_to_base), _params(board_to_tool)]), method="lm")
    camera_to_base, board_to_tool = _transform(refined.x[:6]), _transform(refined.x[6:])
    residual_mm, residual_deg = [], []
    for tool, seen in zip(tool_to_base, board_to_camera, strict=True):
        via_robot = tool.compose(board_to_tool)
        via_camera = camera_to_base.compose(seen)
        residual_mm.append(1000.0 * float(np.mean(np.linalg.norm(via_robot.apply(corners) - via_camera.apply(corners), axis=1))))
        residual_deg.append(rotation_angle_deg(np.asarray(via_robot.rotation).T @ np.asarray(via_camera.rotation)))
    return HandEyeResult(camera_to_base, board_to_tool, np.array(residual_mm), np.array(residual_deg), len(tool_to_base))


def hand_eye_from_images(
    images: Sequence[np.ndarray],
    tool_poses_mm_deg: Sequence[Sequence[float]],
    spec: GridBoardSpec,
    intrinsics: CameraIntrinsics,
) -> tuple[HandEyeResult, list[int]]:
    """Detect the board in each image and solve; views where it is not found are left out.

    Args:
        images: colour or grey images, one per view.
        tool_poses_mm_deg: the controller's TCP pose of each view, ``[x, y, z, roll, pitch, yaw]``
            in mm and degrees (``XArmAPI.get_position(is_radian=False)``).
        spec: the board on the gripper.
        intrinsics: the camera's intrinsics (with distortion).

    Returns:
        The result and the indices of the views that were left out.
    """
    if len(images) != len(tool_poses_mm_deg):
        raise CalibrationError(f"{len(images)} images but {len(tool_poses_mm_deg)} tool poses: pair them one to one")
    tools, seen, skipped = [], [], []
    for k, (image, pose) in enumerate(zip(images, tool_poses_mm_deg, strict=True)):
        try:
            board_to_camera, _rms, _n = estimate_board_pose(image, spec, intrinsics)
        except CalibrationError:
            skipped.append(k)
            continue
        tools.append(tool_to_base_from_sdk(pose))
        seen.append(board_to_camera)
    return solve_hand_eye(tools, seen, spec.size_m, intrinsics), skipped
