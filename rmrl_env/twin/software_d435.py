"""A D435 made of a librealsense ``software_device`` that streams given colour and depth images
(the twin's camera: its renders reach the real driver through librealsense itself).

The real :class:`~rmrl_env.real.realsense.RealSenseCamera` opens it through ``rs.pipeline``
(``pipeline.set_device``) and runs unchanged: stream profiles, depth scale option, extrinsics
between the streams, ``rs.align`` and the frame conversion.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pyrealsense2 as rs

from rmrl_env.protocols import CameraIntrinsics


def _rs_intrinsics(intr: CameraIntrinsics, model: rs.distortion = rs.distortion.brown_conrady) -> rs.intrinsics:
    out = rs.intrinsics()
    out.width, out.height = intr.width, intr.height
    out.fx, out.fy, out.ppx, out.ppy = intr.fx, intr.fy, intr.cx, intr.cy
    out.model = model
    out.coeffs = list(intr.distortion)
    return out


class SoftwareD435:
    """A fake D435: depth (Z16) and colour (RGB8) sensors fed from :meth:`set_frame` at ``fps``.

    Args:
        intrinsics: intrinsics of both streams (depth is registered to colour: identity
            extrinsics).
        depth_units_m: metres per Z16 step (the D435 default is 0.001).
        fps: frames pushed per second by the background thread.
        model: the lens model the streams report with ``intrinsics.distortion`` (a D400's colour
            stream reports ``inverse_brown_conrady``).
    """

    def __init__(
        self,
        intrinsics: CameraIntrinsics,
        depth_units_m: float = 0.001,
        fps: int = 30,
        serial: str = "000000000001",
        model: rs.distortion = rs.distortion.brown_conrady,
    ) -> None:
        self.intrinsics = intrinsics
        self.serial = serial
        self.model = model
        self.depth_units_m = depth_units_m
        self.fps = fps
        w, h = intrinsics.width, intrinsics.height
        dev = rs.software_device()
        dev.register_info(rs.camera_info.name, "Intel RealSense D435 (software)")
        dev.register_info(rs.camera_info.serial_number, serial)
        self.depth_sensor = dev.add_sensor("Stereo Module")
        self.color_sensor = dev.add_sensor("RGB Camera")
        self.depth_profile = self.depth_sensor.add_video_stream(self._stream(rs.stream.depth, rs.format.z16, 2, 0))
        self.color_profile = self.color_sensor.add_video_stream(self._stream(rs.stream.color, rs.format.rgb8, 3, 1))
        self.depth_sensor.add_read_only_option(rs.option.depth_units, depth_units_m)
        ext = rs.extrinsics()
        ext.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        ext.translation = [0.0, 0.0, 0.0]
        self.depth_profile.register_extrinsics_to(self.color_profile, ext)
        dev.create_matcher(rs.matchers.default)
        self.device = dev
        self._color = np.zeros((h, w, 3), np.uint8)
        self._depth = np.zeros((h, w), np.uint16)
        self._lock = threading.Lock()
        self._paused = threading.Event()
        self._unplugged_until = 0.0
        self._stop = threading.Event()
        self._n = 0
        self.frames_pushed = 0
        self._thread = threading.Thread(target=self._pump, name="software-d435", daemon=True)
        self._thread.start()

    def _stream(self, kind: rs.stream, fmt: rs.format, bpp: int, uid: int) -> rs.video_stream:
        s = rs.video_stream()
        s.type, s.index, s.uid = kind, 0, uid
        s.width, s.height, s.fps, s.bpp, s.fmt = self.intrinsics.width, self.intrinsics.height, self.fps, bpp, fmt
        s.intrinsics = _rs_intrinsics(self.intrinsics, self.model)
        return s

    def set_frame(self, color: np.ndarray, depth_m: np.ndarray) -> None:
        """The images streamed from now on (RGB uint8 H×W×3, depth metres H×W)."""
        depth = np.clip(np.nan_to_num(depth_m, nan=0.0) / self.depth_units_m, 0, 65535).round().astype(np.uint16)
        with self._lock:
            self._color = np.ascontiguousarray(color, dtype=np.uint8)
            self._depth = np.ascontiguousarray(depth)

    def pause(self) -> None:
        """Stop delivering frames (a dropped USB link)."""
        self._paused.set()

    def unplug(self, duration_s: float) -> None:
        """Drop off the USB bus for ``duration_s`` seconds, then re-enumerate (frames stop meanwhile)."""
        self._unplugged_until = time.monotonic() + float(duration_s)
        self.pause()
        threading.Timer(float(duration_s), self.resume).start()

    def find(self, serial: str) -> rs.device | None:
        """This camera if it is on the "USB bus" and ``serial`` is its own (or ``""``), else None:
        the real driver's device lookup (``RealSenseCamera(find_device=...)``)."""
        if time.monotonic() < self._unplugged_until or serial not in ("", self.serial):
            return None
        return self.device

    @property
    def paused(self) -> bool:
        """Whether frames are being held back (see :meth:`pause`)."""
        return self._paused.is_set()

    def resume(self) -> None:
        self._paused.clear()

    def _push(self, sensor, profile, pixels: np.ndarray, bpp: int, t_ms: float) -> None:
        f = rs.software_video_frame()
        f.pixels = pixels
        f.bpp = bpp
        f.stride = self.intrinsics.width * bpp
        f.timestamp = t_ms
        f.domain = rs.timestamp_domain.system_time
        f.frame_number = self._n
        f.profile = profile.as_video_stream_profile()
        sensor.on_video_frame(f)

    def _pump(self) -> None:
        while not self._stop.is_set():
            if not self._paused.is_set():
                with self._lock:
                    color, depth = self._color, self._depth
                self._n += 1
                t_ms = time.time() * 1000.0
                self._push(self.depth_sensor, self.depth_profile, depth, 2, t_ms)
                self._push(self.color_sensor, self.color_profile, color, 3, t_ms)
                self.frames_pushed += 1
            time.sleep(1.0 / self.fps)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
