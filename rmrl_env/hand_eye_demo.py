"""Hand-eye calibration end to end on the twin, where the camera's true pose is known.

    python -m rmrl_env.hand_eye_demo [--views DIR] [--time-scale 5] [--lens-intrinsics]

What a lab does on its set-up day, with the real drivers against the emulated controller and
the MuJoCo cell (``gym.make("CellPlatePlace-twin-v0", calibration_marker=True)``):

1. the calibration board (:data:`~rmrl_env.perception.hand_eye.GRIPPER_BOARD`) is on the
   gripper (:func:`~rmrl_env.sim.world.add_calibration_marker`);
2. the real :class:`~rmrl_env.real.xarm_arm.XArmArm` moves through :data:`VIEWS`: a top-down
   pose (the controller's inverse kinematics) with the wrist's joints 4 and 5 turned by 12-25°,
   which tilts the tool by 12-28° about axes that differ from view to view, and joint 6 giving
   the yaw;
3. each view is recorded with the CLI's own code (:func:`~rmrl_env.real.cli.hand_eye.save_view`):
   the controller's TCP pose and one colour image from the real RealSense driver;
4. ``rmrl calibrate hand-eye --views DIR --output DIR/calibration.json`` solves them (its
   printed per-view residual is the lab's check) starting from a copy of the twin's
   calibration file (the intrinsics);
5. the written ``camera_to_base`` is compared with the twin's true camera pose.

The twin's calibration file holds the renderer's pinhole intrinsics, while its lens bends the
image by the cell's ``lens_distortion`` (the sim's "unmodelled lens distortion"); a lab that has
run ``rmrl calibrate intrinsics`` knows its lens. ``--lens-intrinsics`` gives the solve the
true lens (as a good intrinsic calibration would); without it the solve has the pinhole model.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from rmrl_env.cell import Region
from rmrl_env.errors import CalibrationError, RmrlError
from rmrl_env.perception.calibration import load_calibration, save_calibration
from rmrl_env.perception.hand_eye import MIN_VIEWS, rotation_angle_deg, tool_to_base_from_sdk
from rmrl_env.protocols import RigidTransform
from rmrl_env.sim.world import DEFAULT_RESET_REGION

#: The views: (x mm, y mm) of a top-down TCP at :data:`VIEW_Z_MM`, its yaw (deg), then joints 4
#: and 5 turned by (deg). Chosen on the ideal cell so that the wrist hides at most one of the
#: board's 12 markers; the tilts are 12-28° about axes spread over 60° and more.
VIEWS: tuple[tuple[float, float, float, float, float], ...] = (
    (400.0, -70.0, -60.0, -25.0, -12.0),
    (430.0, -40.0, -60.0, -25.0, 0.0),
    (380.0, -110.0, -60.0, 0.0, -12.0),
    (400.0, -70.0, -30.0, -25.0, 0.0),
    (430.0, -110.0, -30.0, -25.0, 12.0),
    (380.0, -40.0, -30.0, 0.0, -12.0),
    (400.0, -70.0, -30.0, 25.0, -12.0),
    (430.0, -40.0, 0.0, -25.0, -12.0),
    (380.0, -110.0, 0.0, -25.0, 0.0),
    (400.0, -70.0, 0.0, 0.0, -12.0),
    (430.0, -110.0, 0.0, 25.0, 0.0),
    (380.0, -40.0, 30.0, 25.0, 0.0),
    (400.0, -70.0, 30.0, 25.0, 12.0),
    (430.0, -40.0, 30.0, -25.0, -12.0),
    (380.0, -110.0, 30.0, 0.0, -12.0),
)
#: Height of the top-down TCP the wrist is turned from, mm (the board is then ~0.55 m from the camera).
VIEW_Z_MM = 300.0
#: Tool speed of the moves between views, m/s.
SPEED_M_S = 0.15
#: Wall seconds to let the arm come to rest before each image.
SETTLE_S = 0.2


@dataclass(frozen=True)
class TwinHandEyeReport:
    """Outcome of :func:`calibrate_on_twin` (lengths mm, angles deg).

    ``error_*``: the hand-eye ``camera_to_base`` against the twin's true camera pose (the
    camera's position and orientation, and :func:`table_error_mm`); ``generated_error_*``: the
    twin's generated calibration (a hand-measured board) against it.
    """

    views_recorded: int
    views_used: int
    tilt_deg: tuple[float, float]
    residual_rms_mm: float
    residual_max_mm: float
    error_trans_mm: float
    error_rot_deg: float
    error_table_mm: float
    generated_error_trans_mm: float
    generated_error_rot_deg: float
    generated_error_table_mm: float
    lens_intrinsics: bool


def transform_error(estimate: RigidTransform, truth: RigidTransform) -> tuple[float, float]:
    """(distance between the origins in mm, angle between the rotations in degrees)."""
    trans_mm = 1000.0 * float(np.linalg.norm(np.asarray(estimate.translation) - np.asarray(truth.translation)))
    return trans_mm, rotation_angle_deg(np.asarray(estimate.rotation).T @ np.asarray(truth.rotation))


def table_error_mm(estimate: RigidTransform, truth: RigidTransform, region: Region = DEFAULT_RESET_REGION) -> float:
    """How far off the estimated camera places what it sees on the table, mm: the RMS over a
    5 x 5 grid of the reset area (table top, z = 0) of the distance between a point and where
    the ray of the pixel that sees it (true camera) meets the table (estimated camera)."""
    base_to_camera = truth.inverse()
    origin = np.asarray(estimate.translation)
    misses = []
    for x in np.linspace(*region.x_m, 5):
        for y in np.linspace(*region.y_m, 5):
            ray = np.asarray(estimate.rotation) @ base_to_camera.apply(np.array([x, y, 0.0]))
            hit = origin + ray * (-origin[2] / ray[2])
            misses.append(float(np.hypot(hit[0] - x, hit[1] - y)))
    return 1000.0 * float(np.sqrt(np.mean(np.square(misses))))


def tilt_deg(tcp_pose_mm_deg: list[float]) -> float:
    """Angle between the tool's z axis and straight down, degrees."""
    z_axis = np.asarray(tool_to_base_from_sdk(tcp_pose_mm_deg).rotation)[:, 2]
    return math.degrees(math.acos(max(-1.0, min(1.0, -float(z_axis[2])))))


def view_joints(arm: Any, view: tuple[float, float, float, float, float]) -> list[float]:
    """Joint angles (deg) of a view: the controller's IK of the top-down pose, wrist turned."""
    x, y, yaw, turn4, turn5 = view
    code, angles = arm.api.get_inverse_kinematics(
        [x, y, VIEW_Z_MM, 180.0, 0.0, yaw], input_is_radian=False, return_is_radian=False
    )
    if code != 0 or not angles:
        raise CalibrationError(f"the controller has no inverse kinematics for the view {view} (SDK code {code})")
    joints = [float(a) for a in list(angles)[:6]]
    joints[3] += turn4
    joints[4] += turn5
    return joints


def check_view_count(n_views: int) -> None:
    """Raise a CalibrationError unless ``n_views`` views can be recorded and solved."""
    if not MIN_VIEWS <= n_views <= len(VIEWS):
        raise CalibrationError(f"the number of views must be between {MIN_VIEWS} and {len(VIEWS)}, got {n_views}")


def record_twin_views(env: Any, directory: Path, n_views: int) -> list[list[float]]:
    """Move the twin's real arm through the first ``n_views`` of :data:`VIEWS` and record each
    (TCP pose from the controller, image from the real camera driver) into ``directory``."""
    from rmrl_env.real.cli.hand_eye import save_view

    check_view_count(n_views)
    drivers = env.unwrapped.backend.drivers
    directory.mkdir(parents=True, exist_ok=True)
    views: list[dict[str, object]] = []
    poses = []
    for view in VIEWS[:n_views]:
        drivers.arm.move_to_joints(view_joints(drivers.arm, view), SPEED_M_S)
        time.sleep(SETTLE_S)
        pose = drivers.arm.tcp_pose_mm_deg()
        save_view(directory, views, pose, drivers.camera.capture().color)
        poses.append(pose)
    drivers.arm.go_home()
    return poses


def calibrate_on_twin(
    directory: Path, *, n_views: int = len(VIEWS), time_scale: float = 5.0, lens_intrinsics: bool = False, **make_kwargs: Any
) -> TwinHandEyeReport:
    """Record, solve with ``rmrl calibrate hand-eye`` and compare with the truth (module docstring).

    ``make_kwargs`` go to ``gym.make`` (the cell: ``errors``, ``cell_seed``...). The views and
    the solved calibration stay in ``directory``.
    """
    import gymnasium as gym

    from rmrl_env.real.cli.calibrate import main as calibrate

    check_view_count(n_views)
    env = gym.make("CellPlatePlace-twin-v0", calibration_marker=True, time_scale=time_scale, **make_kwargs)
    try:
        twin = cast(Any, env.unwrapped).backend.handles["twin"]  # a CellPlateEnv (the env layer is not imported here)
        poses = record_twin_views(env, directory, n_views)
        generated = load_calibration(twin.folder / "calibration.json")
        truth: RigidTransform = twin.camera_to_base
        lens = twin.physics.errors.lens_distortion
    finally:
        env.close()
    assert generated.intrinsics is not None and generated.camera_to_base is not None
    start = generated if not lens_intrinsics else replace(generated, intrinsics=replace(generated.intrinsics, distortion=lens))
    out = directory / "calibration.json"
    save_calibration(out, start)
    if calibrate(["hand-eye", "--views", str(directory), "--output", str(out)]) != 0:
        raise CalibrationError(f"rmrl calibrate hand-eye failed on the views in {directory} (its message is above)")
    solved = load_calibration(out)
    assert solved.camera_to_base is not None
    trans_mm, rot_deg = transform_error(solved.camera_to_base, truth)
    gen_mm, gen_deg = transform_error(generated.camera_to_base, truth)
    tilts = [tilt_deg(p) for p in poses]
    notes = solved.notes
    return TwinHandEyeReport(
        views_recorded=len(poses), views_used=int(notes["hand_eye_views"]), tilt_deg=(min(tilts), max(tilts)),
        residual_rms_mm=float(notes["hand_eye_residual_rms_mm"]), residual_max_mm=float(notes["hand_eye_residual_max_mm"]),
        error_trans_mm=trans_mm, error_rot_deg=rot_deg, error_table_mm=table_error_mm(solved.camera_to_base, truth),
        generated_error_trans_mm=gen_mm, generated_error_rot_deg=gen_deg,
        generated_error_table_mm=table_error_mm(generated.camera_to_base, truth),
        lens_intrinsics=lens_intrinsics,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rmrl_env.hand_eye_demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", help="keep the views and the solved calibration here (default: a temporary folder)")
    parser.add_argument("-n", "--count", type=int, default=len(VIEWS), help="views to record (default %(default)s)")
    parser.add_argument("--time-scale", type=float, default=5.0, help="simulated seconds per wall second (default %(default)s)")
    parser.add_argument("--cell-seed", type=int, default=None, help="a drawn cell instead of the default one")
    parser.add_argument(
        "--lens-intrinsics", action="store_true", help="solve with the true lens (as after `rmrl calibrate intrinsics`)"
    )
    args = parser.parse_args(argv)
    directory = Path(args.views) if args.views else Path(tempfile.mkdtemp(prefix="rmrl-hand-eye-"))
    cell = {} if args.cell_seed is None else {"cell_seed": args.cell_seed}
    try:
        r = calibrate_on_twin(
            directory, n_views=args.count, time_scale=args.time_scale, lens_intrinsics=args.lens_intrinsics, **cell
        )
    except RmrlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if not args.views:
            shutil.rmtree(directory, ignore_errors=True)
    lens = "the true lens" if r.lens_intrinsics else "the pinhole model of the twin's calibration file"
    print(
        f"{r.views_recorded} views recorded (tool tilted {r.tilt_deg[0]:.0f}-{r.tilt_deg[1]:.0f}°), {r.views_used} used; intrinsics: {lens}"
    )
    print(
        f"hand-eye camera_to_base vs the twin's true camera: position {r.error_trans_mm:.2f} mm, rotation "
        f"{r.error_rot_deg:.3f}°, on the table {r.error_table_mm:.2f} mm RMS over the reset area"
    )
    print(
        f"(the twin's generated calibration, a hand-measured board: {r.generated_error_trans_mm:.2f} mm, "
        f"{r.generated_error_rot_deg:.3f}°, on the table {r.generated_error_table_mm:.2f} mm)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
