"""``rmrl calibrate target`` averaging and ``rmrl calibrate intrinsics`` bookkeeping (audit defect 13)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmrl_env.perception.boards import CharucoBoardSpec
from rmrl_env.perception.calibration import Calibration, load_calibration, save_calibration
from rmrl_env.protocols import PlanarPose, PlateDetection, RigidTransform, wrap_half_turn
from rmrl_env.real.cli.calibrate import average_target, main

from .test_calibration import charuco_views


def detection(x_m: float, y_m: float, yaw_deg: float, top_z_m: float = 0.0143) -> PlateDetection:
    return PlateDetection(PlanarPose(x_m, y_m, math.radians(yaw_deg)), top_z_m, np.zeros((0, 0), bool), (0, 0, 0, 0), 0.5)


def half_turn_distance_deg(a_rad: float, b_deg: float) -> float:
    return abs(math.degrees(wrap_half_turn(a_rad - math.radians(b_deg))))


def test_target_yaws_near_the_wrap_are_averaged_on_the_circle():
    """Yaws wrapped to [-90°, 90°) near ±90°: the plain mean of 89.5°, -89.5° and 89° is ~30°."""
    target, spread_mm, yaw_spread_deg = average_target(
        [detection(0.40, -0.10, 89.5), detection(0.402, -0.10, -89.5), detection(0.401, -0.099, 89.0)]
    )
    assert half_turn_distance_deg(target["yaw_rad"], 89.67) < 0.01
    assert -math.pi / 2 <= target["yaw_rad"] < math.pi / 2
    assert yaw_spread_deg == pytest.approx(0.83, abs=0.01)
    assert (target["x_m"], target["y_m"], target["top_z_m"]) == pytest.approx((0.401, -0.09967, 0.0143), abs=1e-5)
    assert spread_mm == pytest.approx(1.054, abs=0.01)


def test_target_yaws_away_from_the_wrap_keep_their_plain_mean():
    target, _, yaw_spread_deg = average_target([detection(0.4, 0.0, 10.0), detection(0.4, 0.0, 12.0), detection(0.4, 0.0, 14.0)])
    assert math.degrees(target["yaw_rad"]) == pytest.approx(12.0, abs=1e-6)
    assert yaw_spread_deg == pytest.approx(2.0, abs=1e-6)


def test_intrinsics_keep_the_files_notes_and_warn_that_the_extrinsics_are_stale(tmp_path, capsys):
    import cv2

    spec = CharucoBoardSpec(7, 5, 0.030, 0.022, "5X5_100")
    views = tmp_path / "views"
    views.mkdir()
    for k, img in enumerate(charuco_views(spec)):
        cv2.imwrite(str(views / f"v{k}.png"), img)
    out = tmp_path / "cal.json"
    save_calibration(
        out,
        Calibration(
            camera_to_base=RigidTransform(np.eye(3), np.array([0.45, 0.0, 0.9])),
            notes={"board_pose": [0.3, -0.12, 0.0, 0.0], "operator": "bench 2"},
        ),
    )
    assert main(["intrinsics", str(views), "--output", str(out)]) == 0
    cal = load_calibration(out)
    assert cal.notes["operator"] == "bench 2" and cal.notes["board_pose"] == [0.3, -0.12, 0.0, 0.0]
    assert cal.notes["intrinsics_views"] >= 6
    assert cal.intrinsics is not None and cal.camera_to_base is not None
    assert "stale" in capsys.readouterr().err

    fresh = tmp_path / "fresh.json"
    assert main(["intrinsics", str(views), "--output", str(fresh)]) == 0
    assert "stale" not in capsys.readouterr().err


def test_calibrate_does_not_write_a_calibration_file_outside_the_configs_folder(tmp_path):
    import argparse

    from rmrl_env.errors import ConfigError
    from rmrl_env.real.cli.common import output_path

    from .conftest import EXAMPLE_CONFIG

    (tmp_path / "cell").mkdir()
    config = tmp_path / "cell" / "real_cell.toml"
    text = EXAMPLE_CONFIG.read_text()
    config.write_text(text.replace('calibration_file = "calibration.json"', 'calibration_file = "../../escaped.json"'))
    with pytest.raises(ConfigError, match="leaves the config's folder"):
        output_path(argparse.Namespace(output=None, config=str(config)))
    config.write_text(text.replace('calibration_file = "calibration.json"', 'calibration_file = "sub/../calibration.json"'))
    assert output_path(argparse.Namespace(output=None, config=str(config))).resolve() == tmp_path / "cell" / "calibration.json"
