"""Build the real cell's :class:`~rmrl_env.backend.Backend` (the env is joined to it by
:mod:`rmrl_env.make`).

``gym.make("CellPlatePlace-real-v0", config="real_cell.toml", robot_ip="192.168.1.185")``
loads and validates the config (in :mod:`rmrl_env.make`); :func:`make_real_backend` reads the
calibration file, connects the xArm (after a reachability check bounded by
``robot.connect_timeout_s``), the BIO gripper and the D435, builds the localiser, and hands the
one routine over them to the env.

``dry_run=True`` builds the same env and spaces with no hardware (drivers that refuse to
move), for learners, tests and checking a config; ``config`` may then be omitted (the example
cell's defaults are used).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rmrl_env.backend import Backend
from rmrl_env.cell import PLATE_HEIGHT_M, CellLayout
from rmrl_env.errors import ConfigError, HardwareError
from rmrl_env.perception.calibration import Calibration, load_calibration
from rmrl_env.protocols import CameraIntrinsics, Localiser, PlanarPose, PlateDetection, RigidTransform
from rmrl_env.real.config import RealCellConfig
from rmrl_env.routine import Drivers, PickAndPlace

if TYPE_CHECKING:
    from rmrl_env.real.xarm_arm import XArmArm

logger = logging.getLogger(__name__)

#: The D435 colour stream's nominal intrinsics at 640 x 480 (used without a calibration file).
NOMINAL_D435 = CameraIntrinsics(640, 480, 615.0, 615.0, 319.5, 239.5)
#: A nominal overhead camera 1 m above the table looking down (dry runs without calibration).
NOMINAL_CAMERA_TO_BASE = RigidTransform(
    np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]), np.array([0.45, 0.0, 1.0])
)


class _NoHardware:
    """A dry-run device: it exists so the env can be built, and refuses to do anything."""

    def __init__(self, what: str, intrinsics: CameraIntrinsics | None = None) -> None:
        self._what = what
        self._intrinsics = intrinsics

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise HardwareError(
            f"dry_run=True: the {self._what} is not connected. Build the env without dry_run to use the real cell"
        )

    check_reachable = move_to = go_home = recover = tool_pose = _refuse
    open = close = opening_m = capture = localise = stage_plate = _refuse

    @property
    def intrinsics(self) -> CameraIntrinsics:
        assert self._intrinsics is not None
        return self._intrinsics


def nominal_target(layout: CellLayout, name: str) -> PlateDetection:
    """A target at the receptacle's taught pose, for cells whose targets are not measured yet."""
    rec = layout.receptacle(name)
    return PlateDetection(
        pose=rec.pose, top_z_m=rec.floor_z_m + PLATE_HEIGHT_M, mask=np.zeros((0, 0), bool), bbox_px=(0, 0, 0, 0), depth_m=0.0
    )


def targets_from(calibration: Calibration | None, layout: CellLayout, dry_run: bool) -> dict[str, PlateDetection]:
    """Measured targets from the calibration file; nominal ones (with a warning) where missing."""
    targets: dict[str, PlateDetection] = {}
    for name in layout.receptacles:
        values = calibration.targets.get(name) if calibration is not None else None
        if values is None:
            if not dry_run:
                logger.warning(
                    "no measured target for %r in the calibration file: using the taught receptacle pose. "
                    "Seat the plate there by hand and run `rmrl calibrate target --receptacle %s` for the paper's P^target",
                    name, name,
                )  # fmt: skip
            targets[name] = nominal_target(layout, name)
        else:
            targets[name] = PlateDetection(
                pose=PlanarPose(values["x_m"], values["y_m"], values["yaw_rad"]),
                top_z_m=values["top_z_m"], mask=np.zeros((0, 0), bool), bbox_px=(0, 0, 0, 0), depth_m=0.0,
            )  # fmt: skip
    return targets


def _load_calibration(cfg: RealCellConfig, dry_run: bool) -> Calibration | None:
    if cfg.calibration_file is None:
        if dry_run:
            return None
        raise ConfigError(
            "calibration_file is not set in the config: the real cell needs a camera calibration (see docs/real_cell.md)"
        )
    if dry_run and not Path(cfg.calibration_file).is_file():
        logger.warning(
            "dry_run: the calibration file %s named in the config does not exist; using nominal intrinsics and extrinsics. "
            "The real cell will refuse to start without it (run `rmrl calibrate intrinsics` and `rmrl calibrate extrinsics`)",
            cfg.calibration_file,
        )
        return None
    cal = load_calibration(cfg.calibration_file)
    if not dry_run and cal.camera_to_base is None:
        raise ConfigError(f"{cfg.calibration_file} has no camera_to_base: run `rmrl calibrate extrinsics`")
    return cal


def build_localiser(cfg: RealCellConfig, camera_to_base: RigidTransform) -> Localiser:
    """The localiser the config selects (models load lazily on first use)."""
    p = cfg.perception
    if p.localiser == "classical":
        from rmrl_env.perception.classical import ClassicalLocaliser

        return ClassicalLocaliser(camera_to_base)
    from rmrl_env.perception.foundation import FoundationLocaliser

    return FoundationLocaliser(
        camera_to_base, detector=p.detector, segmenter=p.segmenter, prompt=p.prompt,
        box_threshold=p.box_threshold, text_threshold=p.text_threshold, device=p.device,
    )  # fmt: skip


def connect_arm(cfg: RealCellConfig, api_factory: Callable[..., Any] | None = None) -> XArmArm:
    """Connect the config's xArm (no motion): address, workspace, speeds, home, TCP, time-outs."""
    from rmrl_env.real.payload import Payload
    from rmrl_env.real.xarm_arm import XArmArm

    r, layout = cfg.robot, cfg.layout
    return XArmArm(
        r.ip, cfg.workspace, cfg.speeds, layout.home, home_speed_m_s=min(layout.motion.approach_speed_m_s, cfg.speeds.max_speed_m_s),
        max_joint_speed_deg_s=cfg.safety.max_joint_speed_deg_s, home_joints_deg=cfg.cell.home_joints_deg,
        arrival_tolerance_m=r.arrival_tolerance_m, tcp_offset_m=r.tcp_offset_m, motion_timeout_s=r.motion_timeout_s,
        connect_timeout_s=r.connect_timeout_s, port=r.port, api_factory=api_factory,
        payload=Payload(r.payload_kg, r.payload_com_m), collision_sensitivity=r.collision_sensitivity,
    )  # fmt: skip


def make_real_backend(
    cfg: RealCellConfig,
    *,
    dry_run: bool = False,
    api_factory: Callable[..., Any] | None = None,
    camera_device: Any | None = None,
    localiser_instance: Localiser | None = None,
    reset_log: str | Path | None = None,
    find_camera: Callable[[str], Any] | None = None,
) -> Backend:
    """Connect the devices of a real cell (or stand-ins with ``dry_run``) into a Backend.

    ``camera_device`` streams from a given librealsense device; ``find_camera(serial)`` replaces
    the USB lookup (the twin's camera, which can drop off its "bus" and re-enumerate).
    """
    calibration = _load_calibration(cfg, dry_run)
    intrinsics = calibration.intrinsics if calibration is not None and calibration.intrinsics is not None else None
    camera_to_base = (
        calibration.camera_to_base
        if calibration is not None and calibration.camera_to_base is not None
        else NOMINAL_CAMERA_TO_BASE
    )
    targets = targets_from(calibration, cfg.layout, dry_run)
    if dry_run:
        return _dry_run_backend(cfg, targets, intrinsics, camera_to_base, localiser_instance)
    return _live_backend(
        cfg, targets, intrinsics, camera_to_base, api_factory, camera_device, localiser_instance, reset_log, find_camera
    )


def _dry_run_backend(
    cfg: RealCellConfig,
    targets: dict[str, PlateDetection],
    intrinsics: CameraIntrinsics | None,
    camera_to_base: RigidTransform,
    localiser_instance: Localiser | None,
) -> Backend:
    """The cell's spaces and routine on stand-ins that refuse to move (no hardware)."""
    layout = cfg.layout
    cam_intr = intrinsics or CameraIntrinsics(
        cfg.camera.width,
        cfg.camera.height,
        NOMINAL_D435.fx,
        NOMINAL_D435.fy,
        (cfg.camera.width - 1) / 2,
        (cfg.camera.height - 1) / 2,
    )
    drivers = Drivers(
        arm=_NoHardware("xArm"), gripper=_NoHardware("BIO gripper"),
        camera=_NoHardware("RealSense camera", cam_intr), localiser=localiser_instance or _NoHardware("localiser"),
    )  # fmt: skip
    return Backend(
        name="real",
        routine=PickAndPlace(drivers, layout, localise_attempts=cfg.perception.localise_attempts),
        stager=_NoHardware("robot stager"),
        targets=targets,
        camera_to_base=camera_to_base,
        description={"config": cfg.model_dump(mode="json", by_alias=True)},
    )


def _live_backend(
    cfg: RealCellConfig,
    targets: dict[str, PlateDetection],
    intrinsics: CameraIntrinsics | None,
    camera_to_base: RigidTransform,
    api_factory: Callable[..., Any] | None,
    camera_device: Any | None,
    localiser_instance: Localiser | None,
    reset_log: str | Path | None,
    find_camera: Callable[[str], Any] | None,
) -> Backend:
    """The connected devices: the arm first (closed again if anything after it fails)."""
    layout = cfg.layout
    from rmrl_env.real.bio_gripper import BioGripper
    from rmrl_env.real.realsense import RealSenseCamera
    from rmrl_env.real.stager import RobotStager

    r = cfg.robot
    arm = connect_arm(cfg, api_factory)
    camera = None
    try:
        g = cfg.gripper
        gripper = BioGripper(arm, g.model, g.open_width_m, g.speed, g.force, g.timeout_s)
        c = cfg.camera
        camera = RealSenseCamera(
            c.serial,
            c.width,
            c.height,
            c.fps,
            intrinsics,
            c.undistort,
            c.frame_timeout_s,
            c.reconnect_attempts,
            warmup_frames=c.warmup_frames,
            reenumeration_timeout_s=c.reenumeration_timeout_s,
            device=camera_device,
            find_device=find_camera,
        )
        localiser = localiser_instance or build_localiser(cfg, camera_to_base)
        drivers = Drivers(arm=arm, gripper=gripper, camera=camera, localiser=localiser)
        routine = PickAndPlace(drivers, layout, localise_attempts=cfg.perception.localise_attempts)
        stager = RobotStager(
            routine, cfg.reset.tolerance_m, cfg.reset.tolerance_rad, attempts=cfg.reset.attempts, log_path=reset_log
        )
        if r.home_on_connect:  # otherwise the first reset is the first motion
            arm.go_home()
    except BaseException:
        if camera is not None:
            camera.stop()
        arm.close()
        raise

    def close() -> None:
        camera.stop()
        arm.close()

    return Backend(
        name="real",
        routine=routine,
        stager=stager,
        targets=targets,
        close_fn=close,
        camera_to_base=camera_to_base,
        description={"config": cfg.model_dump(mode="json", by_alias=True)},
    )


__all__ = ["build_localiser", "connect_arm", "make_real_backend", "nominal_target", "targets_from"]
