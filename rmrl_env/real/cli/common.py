"""What the real cell's commands share: board options and specs, where a calibration is written,
the config's camera."""

from __future__ import annotations

import argparse
import glob
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from rmrl_env.errors import ConfigError
from rmrl_env.perception.boards import CharucoBoardSpec, GridBoardSpec
from rmrl_env.protocols import CameraIntrinsics

if TYPE_CHECKING:
    from rmrl_env.real.realsense import RealSenseCamera

#: The board defaults, from the board specs (one source for the library and the command line).
CHARUCO = CharucoBoardSpec()
GRID = GridBoardSpec()


def squares(text: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected COLSxROWS such as 7x5, got {text!r}") from None
    return a, b


def board_pose(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected X_M,Y_M,Z_M,YAW_DEG such as 0.35,-0.05,0.0,20, got {text!r}")
    x, y, z, yaw = values
    return x, y, z, yaw


def charuco_spec(args: argparse.Namespace) -> CharucoBoardSpec:
    sx, sy = args.squares
    return CharucoBoardSpec(sx, sy, args.square_mm / 1000.0, args.marker_mm / 1000.0, args.dictionary)


def grid_spec(args: argparse.Namespace) -> GridBoardSpec:
    mx, my = args.markers
    return GridBoardSpec(mx, my, args.marker_mm / 1000.0, args.separation_mm / 1000.0, args.dictionary)


def output_path(args: argparse.Namespace) -> Path:
    if args.output:
        return Path(args.output)
    if args.config:
        from rmrl_env.real.config import load_config

        cfg = load_config(args.config)
        if cfg.calibration_file is None:
            raise ConfigError(f"{args.config}: calibration_file is not set; set it or pass --output")
        return cfg.calibration_file
    raise ConfigError("say where to write the calibration: --config real_cell.toml (its calibration_file) or --output FILE")


def read_images(patterns: Sequence[str]) -> list[np.ndarray]:
    paths: list[str] = []
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            paths += sorted(str(q) for q in p.iterdir() if q.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
        else:
            paths += sorted(glob.glob(pattern)) or [pattern]
    images = []
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ConfigError(f"cannot read the image {path!r}")
        images.append(img)
    if not images:
        raise ConfigError(f"no images found in {list(patterns)}")
    return images


def open_camera(
    config_path: str, intrinsics: CameraIntrinsics | None = None, undistort: bool = False, device: Any | None = None
) -> RealSenseCamera:
    """The config's RealSense camera, with the calibrated ``intrinsics`` if given (``device``: an
    opened pyrealsense2 device instead of the config's serial)."""
    from rmrl_env.real.config import load_config
    from rmrl_env.real.realsense import RealSenseCamera

    c = load_config(config_path).camera
    return RealSenseCamera(
        c.serial, c.width, c.height, c.fps, intrinsics, undistort, c.frame_timeout_s, c.reconnect_attempts,
        warmup_frames=c.warmup_frames, reenumeration_timeout_s=c.reenumeration_timeout_s, device=device,
    )  # fmt: skip


def charuco_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--squares",
        type=squares,
        default=(CHARUCO.squares_x, CHARUCO.squares_y),
        help="ChArUco squares COLSxROWS (default %(default)s)",
    )
    p.add_argument(
        "--square-mm", type=float, default=CHARUCO.square_m * 1000, help="measured square size, mm (default %(default)g)"
    )
    p.add_argument(
        "--marker-mm", type=float, default=CHARUCO.marker_m * 1000, help="measured marker size, mm (default %(default)g)"
    )
    p.add_argument("--dictionary", default=CHARUCO.dictionary, help="marker dictionary (default %(default)s)")


def grid_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--markers", type=squares, default=(GRID.markers_x, GRID.markers_y), help="markers COLSxROWS (default %(default)s)"
    )
    p.add_argument("--marker-mm", type=float, default=GRID.marker_m * 1000, help="measured marker size, mm (default %(default)g)")
    p.add_argument(
        "--separation-mm",
        type=float,
        default=GRID.separation_m * 1000,
        help="measured gap between markers, mm (default %(default)g)",
    )
    p.add_argument("--dictionary", default=GRID.dictionary, help="marker dictionary (default %(default)s)")


def out_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="real-cell TOML; the result goes to its calibration_file")
    p.add_argument("--output", help="calibration file to write instead")
