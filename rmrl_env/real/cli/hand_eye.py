"""``rmrl calibrate hand-eye``: camera_to_base from a marker board on the gripper (recommended).

Two steps, which may run together::

    rmrl calibrate hand-eye --config real_cell.toml --capture views/ -n 15   record views, then solve
    rmrl calibrate hand-eye --config real_cell.toml --views views/           solve recorded views

Recording connects the arm (it does not move it) and the camera; for each view the operator
brings the arm to a new pose (UFactory Studio's jog or manual mode), with the board facing the
camera and the tool tilted 15-30° in roll and pitch differently each time, and presses Enter;
the controller's TCP pose and one colour image are saved to the directory with a
``poses.json`` listing ``{"image": NAME, "tcp_pose_mm_deg": [x, y, z, roll, pitch, yaw]}``
per view. Solving reads that file, detects the board in each image, solves with
:mod:`rmrl_env.perception.hand_eye`, prints the per-view residual and writes
``camera_to_base`` (and the residual in the notes) to the calibration file. The intrinsics
must be in the calibration file already (``rmrl calibrate intrinsics``).

The board defaults suit a gripper mount: 4 x 3 AprilTags of 35 mm, 8 mm apart
(``rmrl calibrate board --kind grid --markers 4x3 --marker-mm 35 --separation-mm 8``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rmrl_env.errors import CalibrationError, ConfigError
from rmrl_env.perception.calibration import load_calibration, update_calibration
from rmrl_env.real.cli.common import grid_args, grid_spec, open_camera, out_args, output_path

POSES_FILE = "poses.json"


def _gripper_board_defaults(args: argparse.Namespace) -> None:
    """The gripper-mount board (markers COLSxROWS, marker and gap in mm) where the command line
    gives none; read when the command runs, since the hand-eye solver's module loads scipy
    (slow for ``rmrl --help``)."""
    from rmrl_env.perception.hand_eye import GRIPPER_BOARD

    board = {
        "markers": (GRIPPER_BOARD.markers_x, GRIPPER_BOARD.markers_y),
        "marker_mm": round(1000.0 * GRIPPER_BOARD.marker_m, 6),
        "separation_mm": round(1000.0 * GRIPPER_BOARD.separation_m, 6),
    }
    for name, value in board.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def read_views(directory: Path) -> tuple[list[np.ndarray], list[list[float]]]:
    """The images and TCP poses (mm, deg) listed in ``directory/poses.json``."""
    index = directory / POSES_FILE
    if not index.is_file():
        raise ConfigError(f"{index} does not exist: record views with --capture {directory} first")
    try:
        views = json.loads(index.read_text())["views"]
        pairs = [(str(v["image"]), [float(x) for x in v["tcp_pose_mm_deg"]]) for v in views]
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{index} is not a views file ({err}): expected {{'views': [{{'image', 'tcp_pose_mm_deg'}}]}}") from err
    images = []
    for name, _ in pairs:
        img = cv2.imread(str(directory / name), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ConfigError(f"cannot read the image {directory / name} listed in {index}")
        images.append(img)
    return images, [pose for _, pose in pairs]


def save_view(directory: Path, views: list[dict[str, object]], tcp_pose_mm_deg: Sequence[float], color: np.ndarray) -> None:
    """Add one view to ``views`` and ``directory``: the colour image (RGB, H x W x 3 uint8) as
    ``view_KK.png`` and the controller's TCP pose ``[x, y, z mm, roll, pitch, yaw deg]``; the
    views file is rewritten each time, so an interrupted recording keeps what it has."""
    name = f"view_{len(views):02d}.png"
    cv2.imwrite(str(directory / name), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    views.append({"image": name, "tcp_pose_mm_deg": [float(v) for v in tcp_pose_mm_deg]})
    (directory / POSES_FILE).write_text(json.dumps({"views": views}, indent=2) + "\n")


def record_views(
    config: str,
    directory: Path,
    count: int,
    prompt: Callable[[str], str] = input,
    api_factory: Callable[..., Any] | None = None,
    camera_device: Any | None = None,
) -> int:
    """Record up to ``count`` views (TCP pose + colour image) into ``directory``; return how many.

    ``prompt`` asks the operator (answer "q" to stop early); ``api_factory`` and
    ``camera_device`` replace the SDK and the USB camera (tests).
    """
    from rmrl_env.real.backend import connect_arm
    from rmrl_env.real.config import load_config

    cfg = load_config(config)
    directory.mkdir(parents=True, exist_ok=True)
    arm = connect_arm(cfg, api_factory)
    views: list[dict[str, object]] = []
    try:
        camera = open_camera(config, device=camera_device)
        try:
            for k in range(count):
                answer = prompt(
                    f"view {k + 1}/{count}: jog the arm to a new pose (board facing the camera, tool tilted 15-30° "
                    "in roll/pitch, yaw varied), then press Enter (q: stop) "
                )
                if answer.strip().lower() == "q":
                    break
                save_view(directory, views, arm.tcp_pose_mm_deg(), camera.capture().color)
        finally:
            camera.stop()
    finally:
        arm.close()
    return len(views)


def cmd_hand_eye(args: argparse.Namespace) -> int:
    if args.capture:
        if not args.config:
            raise ConfigError("--capture needs --config (the arm and camera to record with)")
        n = record_views(args.config, Path(args.capture), args.count)
        print(f"recorded {n} views in {args.capture}")
    directory = Path(args.capture or args.views or "")
    if not (args.capture or args.views):
        raise ConfigError("say which views to solve: --views DIR (recorded earlier) or --capture DIR")
    path = output_path(args)
    existing = load_calibration(path) if path.is_file() else None
    if existing is None or existing.intrinsics is None:
        raise ConfigError(f"{path} has no intrinsics yet: run `rmrl calibrate intrinsics` first")
    from rmrl_env.perception.hand_eye import hand_eye_from_images

    images, poses = read_views(directory)
    _gripper_board_defaults(args)
    spec = grid_spec(args)
    result, skipped = hand_eye_from_images(images, poses, spec, existing.intrinsics)
    if skipped:
        print(f"board not found in views {skipped}: left out")
    for k, (mm, deg) in enumerate(zip(result.residual_mm, result.residual_deg, strict=True)):
        print(f"  view {k:2d}: residual {mm:.2f} mm, {deg:.2f} deg")
    t = result.camera_to_base.translation
    print(
        f"{result.views_used} views; residual RMS {result.rms_mm:.2f} mm (good: < 2 mm), worst {result.residual_mm.max():.2f} mm"
    )
    print(f"camera position in the base frame: x {t[0]:.4f}  y {t[1]:.4f}  z {t[2]:.4f} m")
    if result.rms_mm > 5.0:
        raise CalibrationError(
            f"the residual RMS {result.rms_mm:.1f} mm is too large: check the board size arguments, that the board is "
            "rigidly fixed to the gripper, and the TCP offset; nothing was written"
        )
    notes = dict(existing.notes)
    notes.update(
        extrinsics_method="hand-eye", hand_eye_board=vars(spec), hand_eye_views=result.views_used,
        hand_eye_residual_rms_mm=round(result.rms_mm, 3), hand_eye_residual_max_mm=round(float(result.residual_mm.max()), 3),
        board_to_tool={"rotation": result.board_to_tool.rotation.tolist(), "translation_m": result.board_to_tool.translation.tolist()},
    )  # fmt: skip
    update_calibration(path, camera_to_base=result.camera_to_base, extrinsics_rms_px=None, notes=notes)
    print(f"wrote camera_to_base to {path}; now run `rmrl calibrate target`")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``hand-eye`` to the ``calibrate`` subcommands (board and output options as the others)."""
    he = sub.add_parser("hand-eye", help="board on the gripper over N poses → camera_to_base (recommended)")
    he.add_argument("--views", help="directory of recorded views (poses.json + images)")
    he.add_argument("--capture", help="record views into this directory first (needs --config)")
    he.add_argument("-n", "--count", type=int, default=15, help="views to record (default %(default)s; 10-20 is usual)")
    grid_args(he)
    out_args(he)
    he.set_defaults(handler=cmd_hand_eye, markers=None, marker_mm=None, separation_mm=None)  # the gripper board
