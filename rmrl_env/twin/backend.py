"""Build the twin's :class:`~rmrl_env.backend.Backend`: the real cell's drivers against an emulated
controller and the MuJoCo cell.

``gym.make("CellPlatePlace-twin-v0")`` lands in :func:`make_twin_backend`, which

1. builds the MuJoCo cell (:class:`~rmrl_env.twin.physics.TwinPhysics`, the same true arm,
   camera mount and sensor errors as ``CellPlatePlace-sim-v0`` with the same ``cell_seed``);
2. starts an xArm controller emulator on a loopback address of its own whose motions, jaws and
   collisions are that cell's;
3. writes what a lab would have after its set-up day into a folder of its own: a config (the
   twin's geometry, receptacles taught on the true arm) and a calibration file (intrinsics,
   the extrinsics a hand calibration gets, and each receptacle's target measured by the
   camera with a plate seated by hand);
4. hands both to :func:`rmrl_env.real.backend.make_real_backend`, which connects the real
   :class:`~rmrl_env.real.xarm_arm.XArmArm` through the unmodified xArm SDK, the real
   :class:`~rmrl_env.real.bio_gripper.BioGripper`, the real
   :class:`~rmrl_env.real.realsense.RealSenseCamera` (on a librealsense software device fed by
   the twin's renders), the real safety checks and the robot stager.

With ``config=PATH`` the lab's own file is used instead (its workspace box, speeds, motion plan,
reset area, gripper and camera settings, receptacle poses); only the robot's address, the
calibration file and the TCP offset (the gripper is the twin's) are the twin's. The twin's physical cell stays the MuJoCo model, so receptacle
poses taught on another table will miss its slots: the rehearsal checks the config, the safety
box, the speeds and the resets, not the lab's geometry.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_env.backend import Backend
from rmrl_env.errors import PlateNotFoundError
from rmrl_env.perception.calibration import Calibration, save_calibration
from rmrl_env.perception.classical import ClassicalLocaliser
from rmrl_env.protocols import PlanarPose, RigidTransform
from rmrl_env.real.config import RealCellConfig, config_from_dict
from rmrl_env.sim.camera import believed_camera_to_base, true_camera_to_base
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.hand import SimGroundTruth
from rmrl_env.sim.kinematics import ArmKinematics
from rmrl_env.sim.teaching import TrueArm, teach
from rmrl_env.twin.config import twin_cell_data
from rmrl_env.twin.physics import TwinPhysics
from rmrl_env.twin.xarm_emulator import XArmEmulator
from rmrl_env.twin.xarm_emulator.controller import MOVING

logger = logging.getLogger(__name__)

#: The twin's gripper: a BIO gripper G2 (it reports its opening) open to its full 150 mm stroke.
TWIN_GRIPPER = {"model": "bio_g2", "open_width_m": 0.15}
#: Simulated seconds the plate is left to settle after being put down by hand.
SETTLE_S = 0.3


class TwinCell:
    """The running twin: the emulator, the MuJoCo cell and the folder of generated files.

    Attributes:
        emulator: the xArm controller emulator (fault injection: ``latch_error``,
            ``error_mid_motion``, ``drop_connections``, ``silence_reports``, ``gripper_fault``,
            ``fail_ik``...).
        physics: the MuJoCo cell (``put_plate``, ``plate_pose``, ``render_now``, the software
            camera as ``physics.device``).
        folder: where the generated config and calibration live.
        camera_to_base: the camera's true pose (the calibration file holds a measured one).
    """

    def __init__(self, emulator: XArmEmulator, physics: TwinPhysics, folder: Path, owns_folder: bool) -> None:
        self.emulator = emulator
        self.physics = physics
        self.folder = folder
        self._owns_folder = owns_folder
        self.camera_to_base: RigidTransform = true_camera_to_base(physics.world)

    def settle(self, sim_s: float = SETTLE_S, timeout_s: float = 10.0) -> None:
        """Wait until the physics has advanced ``sim_s`` simulated seconds (a plate comes to rest)."""
        start = float(self.physics.world.data.time)
        deadline = time.monotonic() + timeout_s
        while float(self.physics.world.data.time) - start < sim_s:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the twin's physics did not advance {sim_s} s within {timeout_s} s of wall time")
            time.sleep(0.005)

    def put_plate(self, pose: PlanarPose, surface_z_m: float = 0.0) -> None:
        """A person puts the plate down at ``pose`` (it settles before this returns)."""
        self.physics.put_plate(pose, surface_z_m)
        self.settle()

    def close(self) -> None:
        self.emulator.stop()
        self.physics.stop()
        if self._owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def _on_collision(emulator: XArmEmulator) -> Any:
    """Latch a collision error like the controller's detection: only while moving, only once."""

    def latch(code: int) -> bool:
        c = emulator.controller
        if c.state != MOVING or c.error_code != 0:
            return False
        emulator.latch_error(code)
        return True

    return latch


def start_twin(
    errors: ErrorSources,
    *,
    time_scale: float,
    folder: str | Path | None,
    gripper_model: str,
    lifetime_s: float,
    calibration_marker: bool = False,
) -> TwinCell:
    """Start the MuJoCo cell and the emulator that drives it."""
    physics = TwinPhysics(errors, time_scale=time_scale, calibration_marker=calibration_marker)
    emulator = XArmEmulator(
        gripper_model=gripper_model, sink=physics, jaws=physics, clock=physics.clock, external_ticks=True, lifetime_s=lifetime_s
    )
    try:
        physics.start(emulator.tick, _on_collision(emulator))
        emulator.start()
    except BaseException:
        emulator.stop()
        physics.stop()
        raise
    owns = folder is None
    path = Path(tempfile.mkdtemp(prefix="rmrl-twin-")) if folder is None else Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return TwinCell(emulator, physics, path, owns)


def taught_receptacles(twin: TwinCell) -> dict[str, dict[str, float]]:
    """Each true slot as a lab teaches it by jogging the (true) arm: config ``cell.receptacles`` tables."""
    world = twin.physics.world
    true_arm, kin, layout = TrueArm(world), ArmKinematics(), world.layout()
    out: dict[str, dict[str, float]] = {}
    for name, slot in world.slots().items():
        rec = teach(true_arm, kin, slot, layout.grasp_z_m(slot.floor_z_m))
        out[name] = {
            "x_m": round(rec.pose.x_m, 6),
            "y_m": round(rec.pose.y_m, 6),
            "yaw_deg": round(math.degrees(rec.pose.yaw_rad), 6),
            "floor_z_m": round(rec.floor_z_m, 6),
            "clearance_m": rec.clearance_m,
        }
    return out


def measure_calibration(twin: TwinCell, errors: ErrorSources) -> Calibration:
    """The calibration a lab ends its set-up day with: intrinsics, extrinsics off by the cell's
    calibration error, and the target of each receptacle measured with a plate seated by hand."""
    physics = twin.physics
    camera_to_base = believed_camera_to_base(twin.camera_to_base, errors)
    localiser = ClassicalLocaliser(camera_to_base)
    targets: dict[str, dict[str, float]] = {}
    for name, slot in physics.world.slots().items():
        twin.put_plate(slot.pose, slot.floor_z_m)
        seen = localiser.localise(physics.render_now())
        if seen is None:
            raise PlateNotFoundError(f"the twin's camera cannot see a plate seated in the {name!r} slot")
        targets[name] = {"x_m": seen.pose.x_m, "y_m": seen.pose.y_m, "yaw_rad": seen.pose.yaw_rad, "top_z_m": seen.top_z_m}
    return Calibration(
        intrinsics=physics.intrinsics,
        camera_to_base=camera_to_base,
        targets=targets,
        notes={"source": "generated by the MuJoCo twin", "errors": asdict(errors)},
    )


def twin_config(twin: TwinCell, config: RealCellConfig | None, calibration_file: Path) -> RealCellConfig:
    """The twin's own config (``config=None``) or the lab's, pointed at the emulator and the twin's calibration."""
    serial = {"serial": twin.physics.device.serial}
    if config is None:
        data = twin_cell_data()
        data["cell"]["receptacles"] = taught_receptacles(twin)
        data["gripper"] = dict(TWIN_GRIPPER)
        data["perception"] = {"localiser": "classical"}
        data["camera"] = serial
        data["robot"]["ip"] = twin.emulator.host
        data["calibration_file"] = str(calibration_file)
        cfg = config_from_dict(data)
        (twin.folder / "twin_cell.toml").write_text(_config_toml(cfg))
        return cfg
    cfg = config.with_overrides(
        robot_ip=twin.emulator.host, calibration_file=str(calibration_file), camera_serial=serial["serial"]
    )
    # The TCP belongs to the gripper on the flange, and the gripper here is the twin's.
    twin_tcp = tuple(twin_cell_data()["robot"]["tcp_offset_m"])
    if tuple(cfg.robot.tcp_offset_m) != twin_tcp:
        logger.warning(
            "rehearsing on the twin: robot.tcp_offset_m %s of the config is the twin gripper's %s here "
            "(the TCP belongs to the gripper, and the gripper is the twin's)",
            list(cfg.robot.tcp_offset_m), list(twin_tcp),
        )  # fmt: skip
        cfg = cfg.model_copy(update={"robot": cfg.robot.model_copy(update={"tcp_offset_m": twin_tcp})})
    return cfg


def _config_toml(cfg: RealCellConfig) -> str:
    from rmrl_env.real.config.writer import to_toml

    return to_toml(cfg, header="# The twin's cell, generated by rmrl_env.twin.backend (a lab's file looks like this).\n")


def initial_pose(cfg: RealCellConfig, seed: int | None) -> PlanarPose:
    """Where a person leaves the plate before the first reset: the reset area's middle, or a seeded draw in it."""
    region = cfg.layout.reset_region
    if seed is None:
        return PlanarPose(float(np.mean(region.x_m)), float(np.mean(region.y_m)), 0.0)
    rng = np.random.default_rng(seed)
    return PlanarPose(float(rng.uniform(*region.x_m)), float(rng.uniform(*region.y_m)), float(rng.uniform(*region.yaw_rad)))


def make_twin_backend(
    errors: ErrorSources,
    config: RealCellConfig | None = None,
    *,
    time_scale: float = 1.0,
    folder: str | Path | None = None,
    plate_seed: int | None = None,
    reset_log: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    lifetime_s: float = 24 * 3600.0,
    before_connect: Callable[[TwinCell], None] | None = None,
    calibration_marker: bool = False,
) -> tuple[Backend, RealCellConfig]:
    """Start the twin and connect the real cell's drivers to it (see the module docstring).

    ``before_connect(twin)`` runs once the twin is up and before the drivers connect (to leave
    an error latched, as a crashed program would). ``calibration_marker`` mounts the hand-eye
    calibration board on the gripper. ``config`` is a lab's loaded config (None: the twin's own).
    Returns the backend
    (``backend.handles["twin"]`` is the :class:`TwinCell`) and the config used.
    """
    from rmrl_env.real.backend import make_real_backend

    model = TWIN_GRIPPER["model"] if config is None else config.gripper.model
    twin = start_twin(
        errors, time_scale=time_scale, folder=folder, gripper_model=str(model), lifetime_s=lifetime_s,
        calibration_marker=calibration_marker,
    )  # fmt: skip
    try:
        calibration_file = twin.folder / "calibration.json"
        cfg = twin_config(twin, config, calibration_file)
        if overrides:
            cfg = cfg.with_overrides(**overrides)
        save_calibration(calibration_file, measure_calibration(twin, errors))
        twin.put_plate(initial_pose(cfg, plate_seed), cfg.layout.table_z_m)
        if before_connect is not None:
            before_connect(twin)
        backend = make_real_backend(cfg, find_camera=twin.physics.device.find, reset_log=reset_log)
    except BaseException:
        twin.close()
        raise
    real_close = backend.close_fn

    def close() -> None:
        try:
            if real_close is not None:
                real_close()
        finally:
            twin.close()

    backend.name = "twin"
    backend.close_fn = close
    backend.ground_truth = SimGroundTruth(twin.physics.world)
    backend.handles["twin"] = twin
    backend.description["twin"] = {"errors": asdict(errors), "time_scale": time_scale}
    return backend, cfg


__all__ = ["TwinCell", "make_twin_backend", "measure_calibration", "start_twin", "twin_config"]
