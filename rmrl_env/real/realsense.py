"""The overhead Intel RealSense D435 through ``pyrealsense2`` (implements :class:`~rmrl_env.protocols.Camera`).

Colour (RGB8) and depth (Z16) at the configured size, depth aligned to colour with
``rs.align``, the depth scale and the colour intrinsics read from the device. The intrinsics
the pipeline uses come from the calibration file when it has them (else from the device);
with ``undistort`` the calibrated lens distortion is removed from colour and depth so that the
pinhole localisation math applies.

A frame that does not arrive within ``frame_timeout_s`` is retried after restarting the
pipeline (``reconnect_attempts`` times), then a :class:`~rmrl_env.errors.HardwareError` says what
to check. A restart of a USB camera resets it (``hardware_reset()``, what librealsense's
maintainers advise for "Frame didn't arrive") and waits, at most ``reenumeration_timeout_s``,
for it to leave and re-appear on the USB bus (re-enumeration takes seconds); after each
(re)start ``warmup_frames`` frames are dropped while auto-exposure settles.

Lens models: the D400 colour stream reports "inverse Brown-Conrady" coefficients. Rather than
trusting the name, :func:`intrinsics_from_rs` fits OpenCV's forward Brown-Conrady model to
librealsense's own projection of points over the image, so calibration, undistortion and
projection agree with how librealsense (and ``rs.align``) maps 3-D points to colour pixels.
``pyrealsense2`` is imported only when a camera is opened.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
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


def _brown_conrady(x: np.ndarray, y: np.ndarray, c: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's (forward) Brown-Conrady polynomial ``(k1, k2, p1, p2, k3)`` on normalised points."""
    k1, k2, p1, p2, k3 = c
    r2 = x * x + y * y
    f = 1.0 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
    return x * f + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * f + 2 * p2 * x * y + p1 * (r2 + 2 * y * y)


def fit_brown_conrady(
    undistorted: np.ndarray, distorted: np.ndarray, fx: float, fy: float
) -> tuple[tuple[float, float, float, float, float], float]:
    """OpenCV forward Brown-Conrady coefficients mapping ``undistorted`` to ``distorted`` points.

    ``d - u = u (k1 r² + k2 r⁴ + k3 r⁶) + tangential terms`` is linear in the coefficients,
    so this is a linear least-squares fit.

    Args:
        undistorted, distorted: ``(N, 2)`` normalised image points (x / z, y / z).
        fx, fy: focal lengths, pixels (for the fit's error in pixels).

    Returns:
        ``((k1, k2, p1, p2, k3), worst_px)``: the coefficients and the fit's largest error, pixels.
    """
    ux, uy = undistorted[:, 0], undistorted[:, 1]
    dx, dy = distorted[:, 0], distorted[:, 1]
    r2 = ux * ux + uy * uy
    a = np.vstack(
        [
            np.column_stack([ux * r2, ux * r2**2, 2 * ux * uy, r2 + 2 * ux * ux, ux * r2**3]),
            np.column_stack([uy * r2, uy * r2**2, r2 + 2 * uy * uy, 2 * ux * uy, uy * r2**3]),
        ]
    )
    fitted = np.linalg.lstsq(a, np.concatenate([dx - ux, dy - uy]), rcond=None)[0]
    k = (float(fitted[0]), float(fitted[1]), float(fitted[2]), float(fitted[3]), float(fitted[4]))
    px, py = _brown_conrady(ux, uy, k)
    return k, float(np.max(np.hypot((px - dx) * fx, (py - dy) * fy)))


def intrinsics_from_rs(rs_intr: Any) -> CameraIntrinsics:
    """Convert ``pyrealsense2.intrinsics`` to :class:`CameraIntrinsics` (pixels, OpenCV's lens model).

    The coefficients are re-derived from librealsense's own projection
    (``rs2_project_point_to_pixel``, what ``rs.align`` maps depth into the colour image with):
    points over the image are projected with the stream's model and OpenCV's forward
    Brown-Conrady model is fitted to them. For librealsense's "inverse" Brown-Conrady (the
    D400 colour stream) the installed librealsense projects exactly like the forward model, so
    the fit returns the reported coefficients; a "modified" Brown-Conrady gets truly converted.
    Fisheye models are refused.
    """
    rs = import_pyrealsense2()
    model = str(getattr(rs_intr.model, "name", rs_intr.model)).split(".")[-1]
    w, h, fx, fy = int(rs_intr.width), int(rs_intr.height), float(rs_intr.fx), float(rs_intr.fy)
    cx, cy = float(rs_intr.ppx), float(rs_intr.ppy)
    reported = [float(v) for v in list(rs_intr.coeffs)[:5]]
    if model == "none" or not any(reported):
        coeffs: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    elif model in ("brown_conrady", "inverse_brown_conrady", "modified_brown_conrady"):
        u, v = np.meshgrid(np.linspace(0, w - 1, 17), np.linspace(0, h - 1, 13))
        undistorted = np.column_stack([((u - cx) / fx).ravel(), ((v - cy) / fy).ravel()])
        pixels = np.array([rs.rs2_project_point_to_pixel(rs_intr, [float(x), float(y), 1.0]) for x, y in undistorted])
        distorted = np.column_stack([(pixels[:, 0] - cx) / fx, (pixels[:, 1] - cy) / fy])
        coeffs, worst_px = fit_brown_conrady(undistorted, distorted, fx, fy)
        if worst_px > 0.05:
            logger.warning("the RealSense %s lens model is matched by OpenCV's to %.2f px only", model, worst_px)
    else:
        raise HardwareError(
            f"the RealSense stream reports the lens model {model!r}; the cell supports the Brown-Conrady models "
            "(D400 cameras) only"
        )
    return CameraIntrinsics(w, h, fx, fy, cx, cy, coeffs)


#: Frame rates of the D435's colour stream (librealsense's D400 RGB profiles: 6, 15 and 30 at every
#: size, 60 up to 960x540). The depth stream runs at the same rate and has them all too.
D435_COLOUR_FPS = (6, 15, 30, 60)


class ReenumerationError(HardwareError):
    """The camera did not re-appear on the USB bus after a hardware reset."""


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
            one up by serial; it is never reset (tests pass a ``software_device`` here).
        warmup_frames: frames dropped after (re)start while auto-exposure settles.
        reenumeration_timeout_s: after a ``hardware_reset()``, how long to wait for the camera
            to re-appear on the USB bus before a HardwareError, seconds.
        find_device: looks up the connected device with a serial (``""``: any) or returns
            ``None``; default: ``rs.context().query_devices()``.
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
        warmup_frames: int = 30,
        fresh_frames: int = 2,
        reenumeration_timeout_s: float = 10.0,
        find_device: Callable[[str], Any | None] | None = None,
    ) -> None:
        self._rs = import_pyrealsense2()
        self.serial = serial
        self.width, self.height, self.fps = int(width), int(height), int(fps)
        self.frame_timeout_s = float(frame_timeout_s)
        self.reconnect_attempts = int(reconnect_attempts)
        self.warmup_frames = int(warmup_frames)
        self.fresh_frames = int(fresh_frames)
        self.reenumeration_timeout_s = float(reenumeration_timeout_s)
        self._device = device
        self._find_device = find_device if find_device is not None else self._query_device
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
        pipeline.set_device(self._device if self._device is not None else self._connected_device())
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

    def _query_device(self, serial: str) -> Any | None:
        """The connected RealSense device with ``serial`` (``""``: the first one), or None."""
        rs = self._rs
        for dev in rs.context().query_devices():
            if not serial or dev.get_info(rs.camera_info.serial_number) == serial:
                return dev
        return None

    def _connected_device(self) -> Any:
        """The wanted camera; fail fast, listing what is connected, when it is not there."""
        dev = self._find_device(self.serial)
        if dev is None:
            rs = self._rs
            serials = [d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()]
            found = f"connected: {serials}" if serials else "no RealSense camera is connected"
            raise HardwareError(
                f"could not start the RealSense camera with serial {self.serial or '(any)'!r}: {found}. Check the USB 3 "
                "cable, that no other program uses the camera (realsense-viewer), and camera.serial in the config "
                "(`rs-enumerate-devices` lists serials); on Linux the udev rules of librealsense must be installed"
            )
        return dev

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
        """Stop, reset a USB camera and wait for it to re-enumerate, start again (with warm-up)."""
        self.stop()
        if self._device is None:
            self._reset_and_wait()
        else:
            time.sleep(0.1)
        self.start()

    def _hardware_reset(self, device: Any) -> bool:
        """Ask the camera to reset (it leaves the USB bus and re-enumerates); False if it refused."""
        try:
            device.hardware_reset()
        except RuntimeError as err:
            logger.warning("hardware_reset() of the RealSense camera failed (%s); restarting the stream only", err)
            return False
        return True

    def _reset_and_wait(self) -> None:
        """``hardware_reset()`` the camera, wait for it to leave the USB bus and come back.

        Raises:
            HardwareError: it is not back within ``reenumeration_timeout_s``.
        """
        which = self.serial or "(any serial)"
        device = self._find_device(self.serial)
        start = time.monotonic()
        if device is not None:
            logger.warning("resetting the RealSense camera %s (USB re-enumeration takes a few seconds)", which)
            left = self._hardware_reset(device)
            while (
                left
                and self._find_device(self.serial) is not None
                and time.monotonic() - start < min(3.0, self.reenumeration_timeout_s)
            ):
                time.sleep(0.1)
        while self._find_device(self.serial) is None:
            if time.monotonic() - start > self.reenumeration_timeout_s:
                raise ReenumerationError(
                    f"the RealSense camera {which} did not come back on the USB bus within "
                    f"{self.reenumeration_timeout_s:g} s after a hardware reset: unplug and replug it, use a USB 3 port "
                    "without a hub, check the cable (`rs-enumerate-devices` lists connected cameras)"
                )
            time.sleep(0.25)

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
                    except ReenumerationError:
                        raise  # the camera is gone: no further attempt can help
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
