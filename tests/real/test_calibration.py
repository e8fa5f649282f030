"""Intrinsics (ChArUco) and extrinsics (AprilTag grid) recovered from synthetic views with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmrl_env.perception.boards import CharucoBoardSpec, GridBoardSpec
from rmrl_env.perception.calibration import (
    Calibration,
    CalibrationError,
    board_to_base,
    calibrate_extrinsics,
    calibrate_intrinsics,
    load_calibration,
    save_calibration,
    update_calibration,
)
from rmrl_env.protocols import CameraIntrinsics, RigidTransform

from .synthetic import board_texture, look_at, render_view

TRUE = CameraIntrinsics(640, 480, 615.0, 612.0, 322.0, 241.0)


def charuco_views(spec: CharucoBoardSpec, n: int = 10) -> list[np.ndarray]:
    texture = board_texture(spec.board(), (spec.squares_x * spec.square_m, spec.squares_y * spec.square_m))
    centre = np.array([spec.squares_x * spec.square_m / 2, spec.squares_y * spec.square_m / 2, 0.0])
    rng = np.random.default_rng(3)
    views = []
    for k in range(n):
        angle = 2 * math.pi * k / n
        tilt = rng.uniform(0.35, 0.6)
        dist = rng.uniform(0.38, 0.48)
        eye = centre + dist * np.array([math.sin(tilt) * math.cos(angle), math.sin(tilt) * math.sin(angle), -math.cos(tilt)])
        views.append(render_view(texture, TRUE, look_at(eye, centre + rng.normal(0, 0.01, 3) * [1, 1, 0])))
    return views


def test_charuco_intrinsics_are_recovered():
    spec = CharucoBoardSpec(7, 5, 0.030, 0.022, "5X5_100")
    result = calibrate_intrinsics(charuco_views(spec), spec)
    got = result.intrinsics
    assert result.views_used >= 6
    assert result.rms_px < 0.5
    assert got.fx == pytest.approx(TRUE.fx, rel=0.01) and got.fy == pytest.approx(TRUE.fy, rel=0.01)
    assert got.cx == pytest.approx(TRUE.cx, abs=4.0) and got.cy == pytest.approx(TRUE.cy, abs=4.0)


def test_intrinsics_with_too_few_views_say_so():
    spec = CharucoBoardSpec()
    blank = [np.full((480, 640), 128, np.uint8)] * 3
    with pytest.raises(CalibrationError, match="found in 0 of 3 images"):
        calibrate_intrinsics(blank, spec)


def test_extrinsics_recover_camera_to_base():
    spec = GridBoardSpec(5, 4, 0.060, 0.015, "APRILTAG_36H11")  # an A3 print
    board_in_base = board_to_base(0.35, -0.05, 0.0, math.radians(20))
    # The true overhead camera: 0.9 m above the table, looking down, slightly tilted.
    eye_base = np.array([0.45, 0.02, 0.9])
    target_base = np.array([0.42, 0.0, 0.0])
    base_to_board = board_in_base.inverse()
    board_to_camera = look_at(
        base_to_board.apply(eye_base), base_to_board.apply(target_base), up_hint=base_to_board.rotation @ np.array([1.0, 0, 0])
    )
    texture = board_texture(spec.board(), spec.size_m, px_per_m=800.0)
    image = render_view(texture, TRUE, board_to_camera)
    result = calibrate_extrinsics(image, spec, TRUE, board_in_base)
    true_camera_to_base = board_in_base.compose(board_to_camera.inverse())
    assert result.markers_used >= 16
    assert result.rms_px < 1.0  # 27-px markers: the corner detector's sub-pixel bias dominates
    np.testing.assert_allclose(result.camera_to_base.translation, true_camera_to_base.translation, atol=0.003)
    np.testing.assert_allclose(result.camera_to_base.rotation, true_camera_to_base.rotation, atol=0.005)
    # A point on the table maps back to where it is.
    p_cam = true_camera_to_base.inverse().apply(np.array([0.4, 0.1, 0.0]))
    np.testing.assert_allclose(result.camera_to_base.apply(p_cam), [0.4, 0.1, 0.0], atol=0.002)


def test_extrinsics_without_board_in_view():
    with pytest.raises(CalibrationError, match="found 0 markers"):
        calibrate_extrinsics(np.full((480, 640), 200, np.uint8), GridBoardSpec(), TRUE, RigidTransform())


def test_calibration_file_round_trip_and_validation(tmp_path):
    cam_to_base = RigidTransform(np.diag([1.0, -1.0, -1.0]), np.array([0.45, 0.0, 1.0]))
    path = tmp_path / "cal.json"
    save_calibration(path, Calibration(intrinsics=TRUE, intrinsics_rms_px=0.2, camera_to_base=cam_to_base, extrinsics_rms_px=0.3))
    cal = load_calibration(path)
    assert cal.intrinsics == TRUE and cal.intrinsics_rms_px == 0.2 and cal.created
    np.testing.assert_allclose(cal.camera_to_base.rotation, cam_to_base.rotation)
    update_calibration(path, extrinsics_rms_px=0.1)
    assert load_calibration(path).extrinsics_rms_px == 0.1 and load_calibration(path).intrinsics == TRUE

    bad = path.read_text().replace('"schema_version": 1', '"schema_version": 9')
    (tmp_path / "bad.json").write_text(bad)
    with pytest.raises(CalibrationError, match="schema_version"):
        load_calibration(tmp_path / "bad.json")
    import json

    data = json.loads(path.read_text())
    data["camera_to_base"]["rotation"] = [[1, 0, 0], [0, 1, 0], [0, 0, 2]]
    (tmp_path / "rot.json").write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match="camera_to_base.rotation"):
        load_calibration(tmp_path / "rot.json")
    with pytest.raises(CalibrationError, match="rmrl calibrate intrinsics"):
        load_calibration(tmp_path / "none.json")


def test_calibrate_cli_writes_the_calibration_file(tmp_path, capsys):
    import cv2

    from rmrl_env.real.cli.calibrate import main

    spec = CharucoBoardSpec(7, 5, 0.030, 0.022, "5X5_100")
    views = tmp_path / "views"
    views.mkdir()
    for k, img in enumerate(charuco_views(spec)):
        cv2.imwrite(str(views / f"v{k}.png"), img)
    out = tmp_path / "cal.json"
    assert main(["intrinsics", str(views), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "RMS reprojection error" in printed
    assert load_calibration(out).intrinsics.fx == pytest.approx(TRUE.fx, rel=0.01)

    grid = GridBoardSpec(5, 4, 0.060, 0.015, "APRILTAG_36H11")
    board_in_base = board_to_base(0.30, -0.12, 0.0, 0.0)
    base_to_board = board_in_base.inverse()
    b2c = look_at(
        base_to_board.apply(np.array([0.45, 0.0, 0.9])),
        base_to_board.apply(np.array([0.45, 0.0, 0.0])),
        up_hint=base_to_board.rotation @ np.array([1.0, 0, 0]),
    )
    cv2.imwrite(str(tmp_path / "board.png"), render_view(board_texture(grid.board(), grid.size_m, px_per_m=800.0), TRUE, b2c))
    assert (
        main(["extrinsics", "--image", str(tmp_path / "board.png"), "--board-pose", "0.30,-0.12,0.0,0", "--output", str(out)])
        == 0
    )
    cal = load_calibration(out)
    np.testing.assert_allclose(cal.camera_to_base.translation, [0.45, 0.0, 0.9], atol=0.03)
    # What matters: a table point seen in the image maps back to where it is (within 2 mm).
    true_c2b = board_in_base.compose(b2c.inverse())
    for point in ([0.40, 0.10, 0.0], [0.50, -0.15, 0.0], [0.45, 0.0, 0.0]):
        p_cam = true_c2b.inverse().apply(np.array(point))
        u, v = TRUE.fx * p_cam[0] / p_cam[2] + TRUE.cx, TRUE.fy * p_cam[1] / p_cam[2] + TRUE.cy
        k = cal.intrinsics
        ray = cal.camera_to_base.rotation @ np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0])
        origin = cal.camera_to_base.translation
        hit = origin + ray * (-origin[2] / ray[2])
        np.testing.assert_allclose(hit[:2], point[:2], atol=0.002)
    assert cal.intrinsics is not None  # kept

    assert main(["board", "--kind", "grid", "--out", str(tmp_path / "print.png")]) == 0
    assert (tmp_path / "print.png").is_file()
    assert (
        main(
            [
                "extrinsics",
                "--image",
                str(tmp_path / "board.png"),
                "--board-pose",
                "0,0,0,0",
                "--output",
                str(tmp_path / "new.json"),
            ]
        )
        == 2
    )
    assert "no intrinsics yet" in capsys.readouterr().err


def test_rmrl_cli_has_the_calibrate_subcommand(tmp_path):
    """`rmrl calibrate ...` reaches the calibration CLI through the rmrl.commands entry point."""
    from rmrl_agents.cli import main

    out = tmp_path / "board.png"
    assert main(["calibrate", "board", "--kind", "charuco", "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    # errors are reported by the calibrate command itself, with exit code 2
    assert main(["calibrate", "intrinsics", str(tmp_path / "missing-*.png"), "--output", str(tmp_path / "c.json")]) == 2


def test_calibrate_cli_board_defaults_are_the_board_specs():
    """One source: the command line's board defaults are CharucoBoardSpec's and GridBoardSpec's."""
    import argparse

    from rmrl_env.real.cli.calibrate import _fill
    from rmrl_env.real.cli.common import charuco_spec, grid_spec

    parser = argparse.ArgumentParser()
    _fill(parser)
    assert charuco_spec(parser.parse_args(["intrinsics", "x.png"])) == CharucoBoardSpec()
    assert grid_spec(parser.parse_args(["extrinsics", "--board-pose", "0,0,0,0"])) == GridBoardSpec()
    assert GridBoardSpec().size_m == pytest.approx((0.360, 0.285))  # fits an A3 print


def test_perception_does_not_import_the_real_backend():
    import subprocess
    import sys

    code = (
        "import sys, rmrl_env.perception.calibration, rmrl_env.perception.localise, rmrl_env.perception.classical, "
        "rmrl_env.perception.foundation; print(sorted(m for m in sys.modules if m.startswith('rmrl_env.real')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
