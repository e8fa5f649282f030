"""RealSense recovery and lens models through the real driver and a software device (audit defect 12)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2")

from rmrl_env.errors import HardwareError  # noqa: E402
from rmrl_env.protocols import CameraIntrinsics  # noqa: E402
from rmrl_env.real.realsense import RealSenseCamera  # noqa: E402
from rmrl_env.twin.software_d435 import SoftwareD435  # noqa: E402

INTR = CameraIntrinsics(640, 480, 615.0, 615.0, 321.0, 242.0)
#: Inverse Brown-Conrady coefficients of the size a D415 / D455 colour stream reports.
INVERSE = (-0.055, 0.065, 0.0008, -0.0004, -0.02)


class FakeUsb:
    """Which devices "are on the USB bus": the software device, except while it re-enumerates."""

    def __init__(self, device, back_after_s: float | None) -> None:
        self.device = device
        self.back_after_s = back_after_s
        self.unplugged_at: float | None = None
        self.resets = 0

    def find(self, serial: str):
        if self.unplugged_at is not None:
            if self.back_after_s is None or time.monotonic() - self.unplugged_at < self.back_after_s:
                return None
            self.unplugged_at = None
        return self.device

    def hardware_reset(self) -> None:
        self.resets += 1
        self.unplugged_at = time.monotonic()


def usb_camera(usb: FakeUsb, **kwargs) -> RealSenseCamera:
    """The real driver treating the software device as a USB camera; only the reset itself is simulated."""

    class Camera(RealSenseCamera):
        def _hardware_reset(self, device) -> bool:
            usb.hardware_reset()
            return True

    return Camera(find_device=usb.find, **kwargs)


@pytest.fixture
def device():
    dev = SoftwareD435(INTR)
    dev.set_frame(np.full((480, 640, 3), 80, np.uint8), np.full((480, 640), 0.8))
    yield dev
    dev.close()


def test_a_frame_time_out_resets_the_camera_and_waits_for_it_to_re_enumerate(device):
    usb = FakeUsb(device.device, back_after_s=1.5)
    cam = usb_camera(usb, frame_timeout_s=0.3, reconnect_attempts=1, warmup_frames=3, reenumeration_timeout_s=5.0)
    try:
        device.pause()
        threading_resume = threading.Timer(1.0, device.resume)
        threading_resume.start()
        t0 = time.monotonic()
        frame = cam.capture()
        elapsed = time.monotonic() - t0
        assert usb.resets == 1
        assert elapsed >= 1.5, "the driver must wait for the camera to come back on the bus"
        assert frame.color.shape == (480, 640, 3)
    finally:
        device.resume()
        cam.stop()


def test_a_camera_that_never_comes_back_is_a_bounded_clear_error(device):
    usb = FakeUsb(device.device, back_after_s=None)
    cam = usb_camera(usb, frame_timeout_s=0.2, reconnect_attempts=1, warmup_frames=1, reenumeration_timeout_s=1.5)
    try:
        device.pause()
        t0 = time.monotonic()
        with pytest.raises(HardwareError, match=r"did not come back on the USB bus within 1.5 s"):
            cam.capture()
        assert time.monotonic() - t0 < 6.0
    finally:
        device.resume()
        cam.stop()


def test_the_configured_warm_up_frames_are_dropped_at_start(device):
    before = device.frames_pushed
    cam = RealSenseCamera(device=device.device, warmup_frames=12, frame_timeout_s=1.0)
    try:
        assert device.frames_pushed - before >= 12
    finally:
        cam.stop()


@pytest.mark.parametrize("model", ["inverse_brown_conrady", "modified_brown_conrady", "brown_conrady"])
def test_lens_coefficients_reproduce_librealsenses_own_projection_in_opencv(model):
    """The intrinsics the driver reads from a stream with each Brown-Conrady variant must project
    points with OpenCV exactly as librealsense projects them (what rs.align uses)."""
    import cv2

    dev = SoftwareD435(_with(INTR, INVERSE), model=getattr(rs.distortion, model))
    try:
        cam = RealSenseCamera(device=dev.device, warmup_frames=1, undistort=False)
        try:
            converted = cam.device_intrinsics
        finally:
            cam.stop()
    finally:
        dev.close()
    rs_intr = dev.color_profile.as_video_stream_profile().get_intrinsics()
    assert rs_intr.model == getattr(rs.distortion, model)
    rng = np.random.default_rng(1)
    points = np.column_stack([rng.uniform(-0.5, 0.5, 200), rng.uniform(-0.38, 0.38, 200), np.ones(200)])
    expected = np.array([rs.rs2_project_point_to_pixel(rs_intr, p.tolist()) for p in points])
    proj, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), converted.matrix, np.asarray(converted.distortion))
    assert float(np.max(np.linalg.norm(proj.reshape(-1, 2) - expected, axis=1))) < 0.05


def _with(intr: CameraIntrinsics, coeffs) -> CameraIntrinsics:
    return CameraIntrinsics(intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy, tuple(coeffs))


def test_fisheye_lens_models_are_refused():
    from rmrl_env.real.realsense import intrinsics_from_rs

    intr = rs.intrinsics()
    intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy = 640, 480, 300.0, 300.0, 320.0, 240.0
    intr.model, intr.coeffs = rs.distortion.kannala_brandt4, [0.1, 0.0, 0.0, 0.0, 0.0]
    with pytest.raises(HardwareError, match="kannala_brandt4"):
        intrinsics_from_rs(intr)
