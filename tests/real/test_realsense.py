"""The real RealSense driver streaming from a pyrealsense2 software_device fed with sim renders."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2")

from rmrl_env.errors import HardwareError  # noqa: E402
from rmrl_env.protocols import Camera, CameraIntrinsics, PlanarPose  # noqa: E402
from rmrl_env.real.realsense import RealSenseCamera  # noqa: E402
from rmrl_env.twin.software_d435 import SoftwareD435  # noqa: E402


@pytest.fixture(scope="module")
def sim_frame():
    """One ideal frame of the MuJoCo twin with the plate on the table."""
    from rmrl_env.sim.camera import SimCamera
    from rmrl_env.sim.error_sources import ErrorSources
    from rmrl_env.sim.world import SimWorld

    errors = ErrorSources.ideal()
    world = SimWorld(errors)
    world.put_plate(PlanarPose(0.42, -0.2, math.radians(10)), 0.0)
    world.forward()
    cam = SimCamera(world, errors)
    frame = cam.capture()
    return frame, cam.true_camera_to_base()


@pytest.fixture
def device(sim_frame):
    frame, _ = sim_frame
    dev = SoftwareD435(frame.intrinsics)
    dev.set_frame(frame.color, frame.depth_m)
    yield dev
    dev.close()


def test_streams_aligned_colour_and_depth_with_device_scale_and_intrinsics(device, sim_frame):
    frame, _ = sim_frame
    cam = RealSenseCamera(width=640, height=480, fps=30, device=device.device, frame_timeout_s=1.0, warmup_frames=1)
    try:
        assert isinstance(cam, Camera)
        assert cam.depth_scale_m == pytest.approx(0.001, rel=1e-6)
        assert cam.intrinsics.fx == pytest.approx(frame.intrinsics.fx) and cam.intrinsics.cx == pytest.approx(frame.intrinsics.cx)
        got = cam.capture()
        assert got.color.shape == (480, 640, 3) and got.color.dtype == np.uint8
        assert got.depth_m.dtype == np.float32
        np.testing.assert_array_equal(got.color, frame.color)
        # rs.align projects depth pixels onto the colour image and leaves a few holes (0 = invalid).
        valid = (frame.depth_m > 0) & (got.depth_m > 0)
        assert valid.mean() > 0.95
        close = np.abs(got.depth_m[valid] - frame.depth_m[valid]) <= 0.0006  # Z16 quantisation
        assert close.mean() > 0.995  # the rest: depth edges, moved by a pixel
    finally:
        cam.stop()


def test_localisation_through_the_real_camera_matches_the_sim(device, sim_frame):
    from rmrl_env.perception.classical import ClassicalLocaliser

    frame, cam_to_base = sim_frame
    loc = ClassicalLocaliser(cam_to_base)
    cam = RealSenseCamera(device=device.device, warmup_frames=1)
    try:
        a = loc.localise(frame).pose
        b = loc.localise(cam.capture()).pose
    finally:
        cam.stop()
    assert b.x_m == pytest.approx(a.x_m, abs=0.0005) and b.y_m == pytest.approx(a.y_m, abs=0.0005)
    assert b.x_m == pytest.approx(0.42, abs=0.003) and b.y_m == pytest.approx(-0.2, abs=0.003)


def test_calibrated_intrinsics_and_undistortion(device, sim_frame):
    frame, _ = sim_frame
    i = frame.intrinsics
    calibrated = CameraIntrinsics(i.width, i.height, i.fx, i.fy, i.cx, i.cy, (0.05, 0.0, 0.0, 0.0, 0.0))
    cam = RealSenseCamera(device=device.device, intrinsics=calibrated, undistort=True, warmup_frames=1)
    try:
        got = cam.capture()
        assert got.intrinsics.distortion == (0.0,) * 5 and got.intrinsics.fx == i.fx
        assert not np.array_equal(got.color, frame.color)  # remapped
    finally:
        cam.stop()
    with pytest.raises(HardwareError, match="calibration is for 1280x720"):
        RealSenseCamera(device=device.device, intrinsics=CameraIntrinsics(1280, 720, 900, 900, 640, 360), warmup_frames=0)


def test_frame_timeout_is_retried_with_reconnect_then_reported(device):
    cam = RealSenseCamera(device=device.device, frame_timeout_s=0.2, reconnect_attempts=1, warmup_frames=1)
    try:
        device.pause()
        t0 = time.monotonic()
        with pytest.raises(HardwareError, match="no frame from the RealSense camera .* after 2 attempts"):
            cam.capture()
        assert time.monotonic() - t0 < 10.0
        device.resume()
        cam.capture()  # it recovers once frames flow again
    finally:
        device.resume()
        cam.stop()


def test_missing_camera_is_a_clear_error():
    with pytest.raises(HardwareError, match="could not start the RealSense camera with serial '999'"):
        RealSenseCamera(serial="999", warmup_frames=0)
