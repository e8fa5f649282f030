"""``rmrl calibrate``: camera intrinsics and camera-to-base extrinsics for the real cell.

Subcommands::

    rmrl calibrate board       --kind charuco|grid --out board.png      print a board
    rmrl calibrate capture     --config real_cell.toml --out DIR -n 20  save colour frames from the D435
    rmrl calibrate intrinsics  --config real_cell.toml IMAGES...        ChArUco → intrinsics + distortion
    rmrl calibrate extrinsics  --config real_cell.toml --board-pose X,Y,Z,YAW [--image PATH]
                                                                         grid board on the table → camera_to_base
    rmrl calibrate hand-eye    --config real_cell.toml --capture DIR     board on the gripper, N poses → camera_to_base
                                                                         (recommended; :mod:`rmrl_env.real.cli.hand_eye`)
    rmrl calibrate target      --config real_cell.toml --receptacle box  plate seated by hand → measured target

The results go into the calibration file the config names (``calibration_file``), or into
``--output``. Board sizes on the command line are millimetres; the board pose is metres and
degrees in the robot base frame. Board defaults are those of
:class:`~rmrl_env.perception.boards.CharucoBoardSpec` and
:class:`~rmrl_env.perception.boards.GridBoardSpec`. ``rmrl`` finds it through the
``rmrl.commands`` entry point (:func:`add_parser`); ``python -m rmrl_env.real.cli.calibrate``
runs it without the ``rmrl`` command.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from rmrl_env.errors import ConfigError, RmrlError
from rmrl_env.perception.boards import CharucoBoardSpec, GridBoardSpec
from rmrl_env.perception.calibration import (
    board_to_base,
    calibrate_extrinsics,
    calibrate_intrinsics,
    load_calibration,
    update_calibration,
)
from rmrl_env.protocols import PlateDetection, wrap_half_turn
from rmrl_env.real.cli.common import (
    CHARUCO,
    GRID,
    board_pose,
    charuco_args,
    charuco_spec,
    grid_args,
    grid_spec,
    open_camera,
    out_args,
    output_path,
    read_images,
    squares,
)

if TYPE_CHECKING:
    pass

# ---------------------------------------------------------------------------------------------


def cmd_board(args: argparse.Namespace) -> int:
    board: cv2.aruco.Board
    if args.kind == "charuco":
        spec = charuco_spec(args)
        size_m = (spec.squares_x * spec.square_m, spec.squares_y * spec.square_m)
        board = spec.board()
    else:
        spec_g = grid_spec(args)
        size_m = spec_g.size_m
        board = spec_g.board()
    px_per_m = args.dpi / 0.0254
    margin = round(0.01 * px_per_m)
    size = (round(size_m[0] * px_per_m) + 2 * margin, round(size_m[1] * px_per_m) + 2 * margin)
    cv2.imwrite(args.out, board.generateImage(size, marginSize=margin, borderBits=1))
    print(
        f"wrote {args.out}: {size_m[0] * 1000:.1f} x {size_m[1] * 1000:.1f} mm board at {args.dpi} dpi. "
        "Print at 100 % scale and measure a square/marker with a ruler before calibrating."
    )
    return 0


def cmd_capture(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    camera = open_camera(args.config)
    try:
        for k in range(args.count):
            frame = camera.capture()
            path = out / f"view_{k:03d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(frame.color, cv2.COLOR_RGB2BGR))
            print(f"saved {path}; move the board ({args.count - k - 1} left)")
            time.sleep(args.interval_s)
    finally:
        camera.stop()
    return 0


def cmd_intrinsics(args: argparse.Namespace) -> int:
    spec = charuco_spec(args)
    images = read_images(args.images)
    result = calibrate_intrinsics(images, spec, min_views=args.min_views)
    i = result.intrinsics
    print(f"board found in {result.views_used} of {len(images)} images")
    print(f"fx {i.fx:.2f}  fy {i.fy:.2f}  cx {i.cx:.2f}  cy {i.cy:.2f} px; distortion {np.round(i.distortion, 5).tolist()}")
    print(f"RMS reprojection error: {result.rms_px:.3f} px (good: < 0.5 px)")
    worst = np.argsort(result.per_view_rms_px)[::-1][:3]
    print("worst views (RMS px): " + ", ".join(f"#{k}: {result.per_view_rms_px[k]:.3f}" for k in worst))
    path = output_path(args)
    existing = load_calibration(path) if path.is_file() else None
    notes = dict(existing.notes) if existing else {}
    notes.update(intrinsics_board=vars(spec), intrinsics_views=result.views_used)
    update_calibration(path, intrinsics=i, intrinsics_rms_px=result.rms_px, notes=notes)
    print(f"wrote the intrinsics to {path}")
    if existing is not None and existing.camera_to_base is not None:
        print(
            f"warning: the camera_to_base in {path} was computed with the previous intrinsics and is now stale: "
            "run `rmrl calibrate hand-eye` (or `rmrl calibrate extrinsics`) again, then `rmrl calibrate target`",
            file=sys.stderr,
        )
    return 0


def cmd_extrinsics(args: argparse.Namespace) -> int:
    path = output_path(args)
    existing = load_calibration(path) if path.is_file() else None
    if args.image:
        image = read_images([args.image])[0]
        intrinsics = existing.intrinsics if existing else None
    else:
        if not args.config:
            raise ConfigError("without --image, --config is needed to open the camera")
        camera = open_camera(args.config)
        try:
            frame = camera.capture()
        finally:
            camera.stop()
        image = frame.color
        intrinsics = existing.intrinsics if existing and existing.intrinsics else camera.device_intrinsics
    if intrinsics is None:
        raise ConfigError(f"{path} has no intrinsics yet: run `rmrl calibrate intrinsics` first")
    x, y, z, yaw_deg = args.board_pose
    spec = grid_spec(args)
    result = calibrate_extrinsics(image, spec, intrinsics, board_to_base(x, y, z, math.radians(yaw_deg)))
    t = result.camera_to_base.translation
    print(f"{result.markers_used} markers; RMS reprojection error {result.rms_px:.3f} px (good: < 1 px)")
    print(f"camera position in the base frame: x {t[0]:.4f}  y {t[1]:.4f}  z {t[2]:.4f} m")
    notes = dict(existing.notes) if existing else {}
    notes.update(extrinsics_board=vars(spec), board_pose=[x, y, z, yaw_deg])
    update_calibration(path, camera_to_base=result.camera_to_base, extrinsics_rms_px=result.rms_px, notes=notes)
    print(f"wrote camera_to_base to {path}")
    return 0


def cmd_target(args: argparse.Namespace) -> int:
    from rmrl_env.real.backend import build_localiser
    from rmrl_env.real.config import load_config

    cfg = load_config(args.config)
    if args.receptacle not in cfg.layout.receptacles:
        raise ConfigError(f"the config has no cell.receptacles.{args.receptacle}; it has {sorted(cfg.layout.receptacles)}")
    if cfg.calibration_file is None:
        raise ConfigError(f"{args.config}: calibration_file is not set")
    cal = load_calibration(cfg.calibration_file)
    if cal.camera_to_base is None:
        raise ConfigError(f"{cfg.calibration_file} has no camera_to_base: run `rmrl calibrate extrinsics` first")
    camera = open_camera(args.config, cal.intrinsics, cfg.camera.undistort)
    localiser = build_localiser(cfg, cal.camera_to_base)
    poses = []
    try:
        for _ in range(args.samples):
            poses.append(localiser.localise(camera.capture()))
    finally:
        camera.stop()
    target, spread_mm, yaw_spread_deg = average_target(poses)
    targets = dict(cal.targets)
    targets[args.receptacle] = target
    update_calibration(cfg.calibration_file, targets=targets)
    print(
        f"target {args.receptacle}: x {target['x_m']:.4f} m, y {target['y_m']:.4f} m, "
        f"yaw {math.degrees(target['yaw_rad']):.2f} deg, top {target['top_z_m']:.4f} m (spread over {args.samples} "
        f"captures: {spread_mm:.2f} mm, {yaw_spread_deg:.2f} deg); written to {cfg.calibration_file}"
    )
    return 0


def average_target(detections: Sequence[PlateDetection]) -> tuple[dict[str, float], float, float]:
    """The mean plate pose of several detections, and their spread.

    A plate's yaw is defined modulo 180° (it looks the same turned half a turn), and the
    detections wrap it to [-90°, 90°): near ±90° the plain mean of e.g. 89.5° and -89.5° would
    be 0°. The yaws are averaged on the circle instead: the mean direction of the doubled
    angles, halved.

    Returns:
        ``({"x_m", "y_m", "yaw_rad", "top_z_m"}, spread_mm, yaw_spread_deg)``: the largest
        distance of a detection from the mean position (mm) and the largest yaw difference from
        the mean yaw (degrees, modulo 180°).
    """
    if not detections:
        raise ConfigError("no detections to average: the plate was not found in any capture")
    xyz = np.array([[d.pose.x_m, d.pose.y_m, d.top_z_m] for d in detections])
    yaws = np.array([d.pose.yaw_rad for d in detections])
    mean = xyz.mean(axis=0)
    yaw = wrap_half_turn(0.5 * math.atan2(float(np.sin(2 * yaws).mean()), float(np.cos(2 * yaws).mean())))
    spread_mm = 1000.0 * float(np.max(np.linalg.norm(xyz[:, :2] - mean[:2], axis=1)))
    yaw_spread_deg = max(abs(math.degrees(wrap_half_turn(float(y) - yaw))) for y in yaws)
    target = {"x_m": float(mean[0]), "y_m": float(mean[1]), "yaw_rad": yaw, "top_z_m": float(mean[2])}
    return target, spread_mm, yaw_spread_deg


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``calibrate`` with its subcommands to the ``rmrl`` parser (the ``rmrl.commands``
    plug-in protocol: the parsed namespace's ``func`` runs the command)."""
    parser = subparsers.add_parser("calibrate", help="camera intrinsics (ChArUco) and extrinsics (ArUco/AprilTag board)")
    _fill(parser)
    parser.set_defaults(func=run)
    return parser


def _fill(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="calibrate_command", required=True)

    board = sub.add_parser("board", help="write a printable board image")
    board.add_argument("--kind", choices=("charuco", "grid"), default="charuco")
    board.add_argument("--out", required=True)
    board.add_argument("--dpi", type=int, default=300)
    board.add_argument("--squares", type=squares, default=(CHARUCO.squares_x, CHARUCO.squares_y))
    board.add_argument("--square-mm", type=float, default=CHARUCO.square_m * 1000)
    board.add_argument("--markers", type=squares, default=(GRID.markers_x, GRID.markers_y))
    board.add_argument("--marker-mm", type=float, default=None, help="default: the board kind's")
    board.add_argument("--separation-mm", type=float, default=GRID.separation_m * 1000)
    board.add_argument("--dictionary", default=None, help="default: the board kind's")
    board.set_defaults(handler=cmd_board)

    cap = sub.add_parser("capture", help="save colour frames from the D435 for intrinsics")
    cap.add_argument("--config", required=True)
    cap.add_argument("--out", required=True)
    cap.add_argument("-n", "--count", type=int, default=20)
    cap.add_argument("--interval-s", type=float, default=2.0)
    cap.set_defaults(handler=cmd_capture)

    intr = sub.add_parser("intrinsics", help="ChArUco images → intrinsics + distortion")
    intr.add_argument("images", nargs="+", help="image files, globs or directories")
    intr.add_argument("--min-views", type=int, default=5)
    charuco_args(intr)
    out_args(intr)
    intr.set_defaults(handler=cmd_intrinsics)

    ext = sub.add_parser("extrinsics", help="board at a measured pose on the table → camera_to_base")
    ext.add_argument(
        "--board-pose", type=board_pose, required=True, help="board origin X,Y,Z (m) and yaw (deg) in the base frame"
    )
    ext.add_argument("--image", help="an image of the board (default: capture one from the camera)")
    grid_args(ext)
    out_args(ext)
    ext.set_defaults(handler=cmd_extrinsics)

    tgt = sub.add_parser("target", help="measure the plate seated by hand in a receptacle (the paper's P^target)")
    tgt.add_argument("--config", required=True)
    tgt.add_argument("--receptacle", default="box", help="box or shelf")
    tgt.add_argument("--samples", type=int, default=5, help="captures averaged")
    tgt.set_defaults(handler=cmd_target)

    from rmrl_env.real.cli.hand_eye import add_parser as add_hand_eye_parser

    add_hand_eye_parser(sub)


def _board_defaults(args: argparse.Namespace) -> None:
    if getattr(args, "calibrate_command", None) == "board":
        spec: CharucoBoardSpec | GridBoardSpec = CHARUCO if args.kind == "charuco" else GRID
        if args.marker_mm is None:
            args.marker_mm = spec.marker_m * 1000
        if args.dictionary is None:
            args.dictionary = spec.dictionary


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``calibrate`` command; errors are printed, exit code 2."""
    _board_defaults(args)
    try:
        return int(args.handler(args))
    except RmrlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rmrl calibrate", description=__doc__.split("\n\n")[0])
    _fill(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
