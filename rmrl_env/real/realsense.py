"""The overhead Intel RealSense D435 through ``pyrealsense2`` (implements :class:`~rmrl_env.protocols.Camera`).

Colour (RGB8) and depth (Z16) at the configured size, depth aligned to colour with
``rs.align``, the depth scale and the colour intrinsics read from the device. The intrinsics
the pipeline uses come from the calibration file when it has them (else from the device);
with ``undistort`` the calibrated lens distortion is removed from colour and depth so that the
pinhole localisation math applies.

A frame that does not arrive within ``frame_timeout_s`` is retried after restarting the
pipeline (``reconnect_attempts`` times), then a :class:`~rmrl_env.errors.HardwareError` says what
to check. ``pyrealsense2`` is imported only when a camera is opened.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import cv2
import numpy as np

from rmrl_env.errors import HardwareError
from rmrl_env.perception.calibration import undistort_maps
from rmrl_env.protocols import CameraIntrinsics, RGBDFrame

logger = logging.getLogger(__name__)


def import_pyrealsense2() -> Any:
    """Import ``pyrealsense2`` or raise an error that says how to install it."""
    try:
        import pyrealsense2 as rs
    except ImportError as err:
        raise HardwareError(
            f"the RealSense camera needs the `pyrealsense2` package ({err}): `pip install rmrl[real]` "
            "(or `pip install pyrealsense2`); on Debian/Ubuntu it also needs the system library "
            "`libusb-1.0-0` (`sudo apt-get install libusb-1.0-0`)"
        ) from err
    return rs


def intrinsics_from_rs(rs_intr: Any) -> CameraIntrinsics:
    """Convert ``pyrealsense2.intrinsics`` to :class:`CameraIntrinsics` (pixels)."""
    c = [float(v) for v in list(rs_intr.coeffs)[:5]] + [0.0] * 5
    coeffs = (c[0], c[1], c[2], c[3], c[4])
    return CameraIntrinsics(
        int(rs_intr.width),
        int(rs_intr.height),
        float(rs_intr.fx),
        float(rs_intr.fy),
        float(rs_intr.ppx),
        float(rs_intr.ppy),
        coeffs,
    )


class RealSenseCamera:
    """A D435 streaming aligned colour and depth.

    Args:
        serial: the camera's serial number; empty selects the only connected camera.
        width / height / fps: stream format for colour and depth (pixels, frames/s).
        intrinsics: calibrated colour intrinsics; ``None`` uses the device's.
        undistort: remove ``intrinsics.distortion`` from the images (the frames then carry the
            same K with zero distortion).
        frame_timeout_s: how long one wait for frames lasts, seconds.
        reconnect_attempts: pipeline restarts after a time-out before a HardwareError.
        device: an already opened ``pyrealsense2`` device to stream from instead of looking
            one up by serial (tests pass a ``software_device`` here).
        warmup_frames: frames dropped after (re)start while auto-exposure settles.
        fresh_frames: frames dropped at each capture after emptying the queue, so the frame
            returned was exposed after :meth:`capture` was called (not before a motion ended).
    """

    def __init__(
        self,
        serial: str = "",
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        intrinsics: CameraIntrinsics | None = None,
        undistort: bool = True,
        frame_timeout_s: float = 1.0,
        reconnect_attempts: int = 2,
        device: Any | None = None,
        warmup_frames: int = 5,
        fresh_frames: int = 2,
    ) -> None:
        self._rs = import_pyrealsense2()
        self.serial = serial
        self.width, self.height, self.fps = int(width), int(height), int(fps)
        self.frame_timeout_s = float(frame_timeout_s)
        self.reconnect_attempts = int(reconnect_attempts)
        self.warmup_frames = int(warmup_frames)
        self.fresh_frames = int(fresh_frames)
        self._device = device
        self._pipeline: Any | None = None
        self._align: Any | None = None
        self.depth_scale_m: float = 0.001
        self.device_intrinsics: CameraIntrinsics | None = None
        self._calibrated = intrinsics
        self._undistort = undistort
        self._maps: tuple[np.ndarray, np.ndarray] | None = None
        self._intrinsics: CameraIntrinsics | None = None
        self.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Open the pipeline, read depth scale and intrinsics, drop the warm-up frames."""
        rs = self._rs
        pipeline = rs.pipeline()
        config = rs.config()
        if self._device is not None:
            pipeline.set_device(self._device)
        else:
            self._check_connected()
            if self.serial:
                config.enable_device(self.serial)
        config.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16, self.fps)
        config.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, self.fps)
        try:
            profile = pipeline.start(config)
        except RuntimeError as err:
            which = f"serial {self.serial!r}" if self.serial else "any serial"
            raise HardwareError(
                f"could not start the RealSense camera ({which}) at {self.width}x{self.height}@{self.fps}: {err}. "
                "Check the USB 3 cable, that no other program uses the camera (realsense-viewer), and "
                "camera.serial in the config (`rs-enumerate-devices` lists serials)"
            ) from err
        self._pipeline = pipeline
        self._align = rs.align(rs.stream.color)
        self.depth_scale_m = float(profile.get_device().first_depth_sensor().get_depth_scale())
        color_profile = profile.get_stream(rs.stream.color).as_video_stream_profile()
        self.device_intrinsics = intrinsics_from_rs(color_profile.get_intrinsics())
        self._configure_intrinsics()
        try:
            for _ in range(self.warmup_frames):
                self._wait()
        except RuntimeError as err:
            self.stop()
            raise HardwareError(
                f"the RealSense camera started but sent no frame within {self.frame_timeout_s:g} s ({err}): "
                "check the USB 3 cable and port"
            ) from err

    def _check_connected(self) -> None:
        """Fail fast, listing what is connected, when the wanted camera is not there."""
        rs = self._rs
        serials = [d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()]
        if not serials or (self.serial and self.serial not in serials):
            found = f"connected: {serials}" if serials else "no RealSense camera is connected"
            raise HardwareError(
                f"could not start the RealSense camera with serial {self.serial or '(any)'!r}: {found}. Check the USB 3 "
                "cable, that no other program uses the camera (realsense-viewer), and camera.serial in the config "
                "(`rs-enumerate-devices` lists serials); on Linux the udev rules of librealsense must be installed"
            )

    def _configure_intrinsics(self) -> None:
        base = self._calibrated or self.device_intrinsics
        assert base is not None
        if (base.width, base.height) != (self.width, self.height):
            raise HardwareError(
                f"the calibration is for {base.width}x{base.height} images but the camera streams "
                f"{self.width}x{self.height}: recalibrate, or set camera.width/height to match"
            )
        self._maps = undistort_maps(base) if self._undistort else None
        self._intrinsics = base.without_distortion() if self._maps is not None else base

    def stop(self) -> None:
        """Stop streaming (safe to call twice)."""
        if self._pipeline is not None:
            with contextlib.suppress(RuntimeError):
                self._pipeline.stop()
            self._pipeline = None

    close = stop

    def _restart(self) -> None:
        self.stop()
        time.sleep(0.1)
        self.start()

    # -- Camera protocol ----------------------------------------------------------------------
    @property
    def intrinsics(self) -> CameraIntrinsics:
        assert self._intrinsics is not None
        return self._intrinsics

    def _wait(self) -> Any:
        assert self._pipeline is not None
        return self._pipeline.wait_for_frames(int(self.frame_timeout_s * 1000))

    def _drain(self, limit: int = 16) -> None:
        """Drop the framesets already queued (they may predate the last motion)."""
        assert self._pipeline is not None
        for _ in range(limit):
            if not self._pipeline.poll_for_frames():
                return

    def capture(self) -> RGBDFrame:
        """The next aligned frame; time-outs are retried with a pipeline restart."""
        errors: list[str] = []
        for attempt in range(self.reconnect_attempts + 1):
            try:
                if self._pipeline is None:
                    self.start()
                self._drain()
                frames = self._wait()
                for _ in range(self.fresh_frames):
                    frames = self._wait()
                return self._to_frame(frames)
            except (RuntimeError, HardwareError) as err:
                errors.append(str(err))
                logger.warning("RealSense frame failed (attempt %d/%d): %s", attempt + 1, self.reconnect_attempts + 1, err)
                if attempt < self.reconnect_attempts:
                    try:
                        self._restart()
                    except HardwareError as restart_err:
                        errors.append(str(restart_err))
        raise HardwareError(
            f"no frame from the RealSense camera {self.serial or '(any serial)'} after {self.reconnect_attempts + 1} "
            f"attempts with {self.frame_timeout_s:g} s time-out and pipeline restarts (last error: {errors[-1]}). "
            "Check the USB 3 cable and port (`rs-enumerate-devices`), then restart."
        )

    def _to_frame(self, frames: Any) -> RGBDFrame:
        assert self._align is not None
        aligned = self._align.process(frames)
        color_frame = aligned.get_color_frame()
        depth_frame = aligned.get_depth_frame()
        if not color_frame or not depth_frame:
            raise HardwareError("the frameset lacks a colour or a depth frame")
        color = np.asanyarray(color_frame.get_data()).copy()
        depth_m = np.asanyarray(depth_frame.get_data()).astype(np.float32) * np.float32(self.depth_scale_m)
        if color.shape[:2] != (self.height, self.width) or depth_m.shape != (self.height, self.width):
            raise HardwareError(f"unexpected frame size colour {color.shape}, depth {depth_m.shape}")
        if self._maps is not None:
            color = cv2.remap(color, self._maps[0], self._maps[1], cv2.INTER_LINEAR)
            depth_m = cv2.remap(depth_m, self._maps[0], self._maps[1], cv2.INTER_NEAREST)
        return RGBDFrame(
            color=color, depth_m=depth_m, intrinsics=self.intrinsics, timestamp_s=float(color_frame.get_timestamp()) / 1000.0
        )

    def __enter__(self) -> RealSenseCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
