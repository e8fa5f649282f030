"""``rmrl calibrate hand-eye --capture`` records through the real drivers: the arm's TCP pose
from the unmodified SDK against the emulator, the image from a RealSense software device; and
it never moves the arm."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("pyrealsense2")

from rmrl_env.protocols import CameraIntrinsics
from rmrl_env.real.cli.hand_eye import read_views, record_views
from rmrl_env.twin.software_d435 import SoftwareD435

pytestmark = pytest.mark.real

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "real_cell.toml"


def test_recording_saves_the_controllers_tcp_pose_and_an_image_per_view_without_moving(emulator, tmp_path):
    cfg = tmp_path / "cell.toml"
    cfg.write_text(EXAMPLE.read_text().replace('ip = "192.168.1.185"', f'ip = "{emulator.host}"'))
    assert emulator.host in cfg.read_text()
    camera = SoftwareD435(CameraIntrinsics(640, 480, 615.0, 615.0, 319.5, 239.5))
    image = np.zeros((480, 640, 3), np.uint8)
    image[100:200, 300:400] = (255, 128, 0)
    camera.set_frame(image, np.full((480, 640), 0.9))
    answers = iter(["", "", "q"])
    samples_before = len(emulator.sink.samples()[0])
    try:
        n = record_views(str(cfg), tmp_path / "views", 5, prompt=lambda _: next(answers), camera_device=camera.device)
    finally:
        camera.close()
    assert n == 2
    assert len(emulator.sink.samples()[0]) == samples_before, "recording must not move the arm"
    images, poses = read_views(tmp_path / "views")
    assert len(images) == 2 and images[0].shape == (480, 640)
    assert images[0][150, 350] > 100 and images[0][10, 10] == 0  # the streamed frame, as grey
    tcp_mm = emulator.controller.tcp_pose()[:3]
    for pose in poses:
        assert pose[:3] == pytest.approx(tcp_mm, abs=0.01) and len(pose) == 6
    listed = json.loads((tmp_path / "views" / "poses.json").read_text())["views"]
    assert [v["image"] for v in listed] == ["view_00.png", "view_01.png"]
    assert cv2.imread(str(tmp_path / "views" / "view_01.png")) is not None
