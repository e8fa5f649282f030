"""Hand-eye calibration end to end without hardware: a board on the gripper seen by a known
camera from N synthetic tool poses; the solver must recover the camera's pose in the base."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmrl_env.errors import CalibrationError
from rmrl_env.perception.boards import GridBoardSpec
from rmrl_env.perception.hand_eye import hand_eye_from_images, rotation_angle_deg, rpy_matrix, tool_to_base_from_sdk
from rmrl_env.protocols import CameraIntrinsics, RigidTransform

from .synthetic import board_texture, look_at, render_view

TRUE = CameraIntrinsics(640, 480, 615.0, 612.0, 322.0, 241.0)
#: A small grid board that fits on a gripper: 4 x 3 AprilTags of 35 mm (164 x 121 mm).
SPEC = GridBoardSpec(4, 3, 0.035, 0.008, "APRILTAG_36H11")
#: The camera 0.95 m above the table, looking down, a little off-centre (base frame).
CAMERA_TO_BASE = look_at(np.array([0.46, 0.03, 0.95]), np.array([0.45, 0.0, 0.0]), up_hint=np.array([1.0, 0.0, 0.0])).inverse()
#: The board on the gripper: ~12 cm above the TCP, facing up when the tool points down, a bit skewed.
BOARD_TO_TOOL = RigidTransform(
    rpy_matrix(math.radians(2.0), math.radians(-1.5), math.radians(5.0)), np.array([-0.08, -0.06, -0.12])
)
#: Stated accuracy of the recovered extrinsics on these synthetic views.
MAX_POSITION_ERROR_MM = 2.0
MAX_ROTATION_ERROR_DEG = 0.2


def tool_poses(n: int, tilt_deg: float, seed: int = 3) -> list[list[float]]:
    """N SDK poses [x, y, z mm, roll, pitch, yaw deg] around a point under the camera."""
    rng = np.random.default_rng(seed)
    poses = []
    for _ in range(n):
        x, y, z = 450.0 + rng.uniform(-60, 60), rng.uniform(-60, 60), 250.0 + rng.uniform(-40, 40)
        poses.append([x, y, z, 180.0 + rng.uniform(-tilt_deg, tilt_deg), rng.uniform(-tilt_deg, tilt_deg), rng.uniform(-45, 45)])
    return poses


def render(poses: list[list[float]]) -> list[np.ndarray]:
    texture = board_texture(SPEC.board(), SPEC.size_m, px_per_m=1000.0)
    base_to_camera = CAMERA_TO_BASE.inverse()
    return [render_view(texture, TRUE, base_to_camera.compose(tool_to_base_from_sdk(p)).compose(BOARD_TO_TOOL)) for p in poses]


def test_hand_eye_recovers_the_camera_pose_from_board_views_on_the_gripper():
    poses = tool_poses(15, tilt_deg=25.0)
    result, skipped = hand_eye_from_images(render(poses), poses, SPEC, TRUE)
    assert skipped == [] and result.views_used == 15
    position_error_mm = 1000.0 * np.linalg.norm(result.camera_to_base.translation - CAMERA_TO_BASE.translation)
    rotation_error_deg = rotation_angle_deg(result.camera_to_base.rotation.T @ CAMERA_TO_BASE.rotation)
    assert position_error_mm < MAX_POSITION_ERROR_MM and rotation_error_deg < MAX_ROTATION_ERROR_DEG
    assert 1000.0 * np.linalg.norm(result.board_to_tool.translation - BOARD_TO_TOOL.translation) < 3.0
    # What the env needs: a point on the table seen by the camera maps to where it is.
    true_base_to_camera = CAMERA_TO_BASE.inverse()
    for point in ([0.35, 0.15, 0.0], [0.55, -0.15, 0.0], [0.45, 0.0, 0.012]):
        p_cam = true_base_to_camera.apply(np.array(point))
        ray = result.camera_to_base.rotation @ (p_cam / p_cam[2])
        origin = result.camera_to_base.translation
        hit = origin + ray * ((point[2] - origin[2]) / ray[2])
        assert 1000.0 * np.linalg.norm(hit[:2] - point[:2]) < 1.5
    assert result.rms_mm < 2.0 and result.residual_deg.max() < 1.0


def test_the_closed_form_solver_is_exact_on_exact_data():
    """The robot-world / hand-eye closed form (used where OpenCV's binding is missing)."""
    from rmrl_env.perception.hand_eye import shah_robot_world_hand_eye

    rng = np.random.default_rng(0)

    def random_transform() -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = rpy_matrix(*rng.uniform(-math.pi, math.pi, 3))
        m[:3, 3] = rng.uniform(-0.5, 0.5, 3)
        return m

    x, z = random_transform(), random_transform()
    b = [random_transform() for _ in range(6)]
    a = [z @ bi @ np.linalg.inv(x) for bi in b]
    x_est, z_est = shah_robot_world_hand_eye(a, b)
    np.testing.assert_allclose(x_est, x, atol=1e-9)
    np.testing.assert_allclose(z_est, z, atol=1e-9)


def test_views_without_the_board_are_left_out_and_named():
    poses = tool_poses(8, tilt_deg=25.0, seed=5)
    images = render(poses)
    images[2] = np.full_like(images[2], 90)
    result, skipped = hand_eye_from_images(images, poses, SPEC, TRUE)
    assert skipped == [2] and result.views_used == 7


def test_top_down_views_alone_are_refused_as_degenerate():
    poses = tool_poses(10, tilt_deg=0.0)
    with pytest.raises(CalibrationError, match="tilt the tool"):
        hand_eye_from_images(render(poses), poses, SPEC, TRUE)


def test_too_few_views_and_mismatched_lists_say_so():
    poses = tool_poses(2, tilt_deg=25.0)
    with pytest.raises(CalibrationError, match="at least 3 views"):
        hand_eye_from_images(render(poses), poses, SPEC, TRUE)
    with pytest.raises(CalibrationError, match="pair them"):
        hand_eye_from_images(render(poses), poses[:1], SPEC, TRUE)


def test_rmrl_calibrate_hand_eye_solves_recorded_views_and_writes_the_calibration(tmp_path, capsys):
    import json

    import cv2

    from rmrl_env.perception.calibration import Calibration, load_calibration, save_calibration
    from rmrl_env.real.cli.calibrate import main

    poses = tool_poses(12, tilt_deg=25.0, seed=9)
    views = tmp_path / "views"
    views.mkdir()
    entries = []
    for k, (pose, image) in enumerate(zip(poses, render(poses), strict=True)):
        cv2.imwrite(str(views / f"view_{k:02d}.png"), image)
        entries.append({"image": f"view_{k:02d}.png", "tcp_pose_mm_deg": pose})
    (views / "poses.json").write_text(json.dumps({"views": entries}))
    out = tmp_path / "cal.json"
    assert main(["hand-eye", "--views", str(views), "--output", str(out)]) == 2
    assert "no intrinsics yet" in capsys.readouterr().err
    save_calibration(out, Calibration(intrinsics=TRUE, notes={"operator": "bench 2"}))
    assert main(["hand-eye", "--views", str(views), "--output", str(out)]) == 0  # the gripper board is the default
    printed = capsys.readouterr().out
    assert "residual RMS" in printed and "view 11" in printed
    cal = load_calibration(out)
    assert cal.camera_to_base is not None
    assert 1000.0 * np.linalg.norm(cal.camera_to_base.translation - CAMERA_TO_BASE.translation) < MAX_POSITION_ERROR_MM
    assert cal.notes["extrinsics_method"] == "hand-eye" and cal.notes["operator"] == "bench 2"
    assert cal.notes["hand_eye_views"] == 12
    assert cal.notes["hand_eye_residual_max_mm"] >= cal.notes["hand_eye_residual_rms_mm"] > 0.0
