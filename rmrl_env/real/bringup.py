"""The staged bring-up of a real cell (``rmrl bringup``): one device at a time, slowly.

Stages, in order (each announced and waiting for the operator's "y", or ``--yes``):

1. ``connect``: connect the xArm (clears what is latched, sets TCP, payload, collision
   sensitivity); measures the SDK and firmware versions, state, codes, payload read back.
2. ``home``: joint-space move home at the reduced speed.
3. ``linear``: one short slow straight move (30 mm down from home at 20 mm/s) and back.
4. ``gripper``: enable, open, close, open; measures the openings.
5. ``camera``: one frame, the plate localised; the frame with the localisation drawn on it is
   saved as ``camera_localisation.png``.
6. ``pick_place``: one pick-and-place of that plate at the reduced speed, then home: by default
   onto the middle of the reset area (a day-one check needs no learned correction), or into a
   receptacle (``--place box``); measures where the plate ended up against where it was put.

The first error stops the bring-up: the arm is stopped (the gripper is left as it is), one
line names the stage, the error and the runbook's advice (:mod:`rmrl_env.real.runbook`). What
every stage measured goes into ``bringup.json`` in the output folder after every stage.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rmrl_env.errors import RmrlError
from rmrl_env.protocols import PlanarPose, PlateDetection, RGBDFrame, ToolPose
from rmrl_env.real.config import RealCellConfig
from rmrl_env.real.runbook import RUNBOOK, entry_key
from rmrl_env.routine import Drivers, Failure, PickAndPlace

#: The bring-up's speeds are the config's times this (``--speed-scale``).
SPEED_SCALE = 0.25
#: ``place`` for the middle of the reset area, on the table.
TABLE = "table"
#: The short linear move: distance (m) and speed (m/s).
LINEAR_STEP_M, LINEAR_SPEED_M_S = 0.03, 0.02
REPORT_NAME, IMAGE_NAME = "bringup.json", "camera_localisation.png"

_OUTCOME_KEYS = {
    Failure.COLLISION: "C31",
    Failure.GRASP_MISSED: "grasp",
    Failure.DROPPED: "grasp",
    Failure.NOT_FLAT: "plate not flat",
    Failure.PLATE_LOST: "plate not found",
    Failure.UNREACHABLE: "unreachable",
}


class StageError(RmrlError):
    """A stage ended without an exception of its own but not as it should (a failed trial)."""

    def __init__(self, message: str, runbook_key: str) -> None:
        super().__init__(message)
        self.runbook_key = runbook_key


@dataclass(frozen=True)
class Stage:
    name: str
    announce: str
    run: Callable[[], dict[str, Any]]
    device: str  # the runbook entry of an error the stage's device raises that names nothing else


def _mm(v: float) -> float:
    return round(1000.0 * v, 2)


class Bringup:
    """Run the stages on a loaded config (see the module docstring).

    Args:
        cfg: the cell's config.
        out_dir: where ``bringup.json`` and the camera image go (created).
        confirm: asks the operator before a stage (the announcement) → go ahead or not;
            ``None`` goes ahead (``--yes``).
        speed_scale: the config's speeds are multiplied by this, (0, 1].
        place: where the pick-and-place puts the plate: :data:`TABLE` (the middle of the reset
            area) or a receptacle's name.
        api_factory, find_camera: the xArm SDK and the camera lookup (the twin passes its own).
        say: prints a progress line.
    """

    def __init__(
        self,
        cfg: RealCellConfig,
        out_dir: str | Path,
        *,
        confirm: Callable[[str], bool] | None = None,
        speed_scale: float = SPEED_SCALE,
        place: str = TABLE,
        api_factory: Callable[..., Any] | None = None,
        find_camera: Callable[[str], Any] | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        if not (math.isfinite(speed_scale) and 0.0 < speed_scale <= 1.0):
            raise ValueError(f"--speed-scale must be in (0, 1], got {speed_scale}")
        if place != TABLE:
            cfg.layout.receptacle(place)  # a ConfigError naming the receptacles if unknown
        self.cfg, self.out_dir = cfg, Path(out_dir)
        self.confirm, self.speed_scale, self.place = confirm, speed_scale, place
        self.api_factory, self.find_camera, self.say = api_factory, find_camera, say
        self.arm: Any = None
        self.gripper: Any = None
        self.camera: Any = None
        self.localiser: Any = None
        self.seen: tuple[RGBDFrame, PlateDetection] | None = None
        self.report: dict[str, Any] = {"speed_scale": speed_scale, "place": place, "stages": []}
        slow = self._scaled(cfg.layout.motion.approach_speed_m_s)
        self.stages = [
            Stage("connect", f"connect to the xArm at {cfg.robot.ip} (no motion)", self._connect, "connection"),
            Stage("home", f"move home in joint space at {slow:.3f} m/s", self._home, "workspace"),
            Stage(
                "linear",
                f"move {LINEAR_STEP_M * 1000:.0f} mm straight down from home at {LINEAR_SPEED_M_S} m/s and back",
                self._linear,
                "workspace",
            ),
            Stage("gripper", f"open, close and open the {cfg.gripper.model} gripper", self._gripper, "gripper"),
            Stage("camera", "take one frame and localise the plate (no motion)", self._camera, "camera"),
            Stage(
                "pick_place",
                f"pick the plate and put it {'on the reset area' if place == TABLE else f'into {place!r}'} at "
                f"{self.speed_scale:g} x the config's speeds",
                self._pick_place,
                "C31",
            ),
        ]

    def _scaled(self, speed_m_s: float) -> float:
        return min(speed_m_s * self.speed_scale, self.cfg.speeds.max_speed_m_s)

    # -- running ------------------------------------------------------------------------------
    def run(self) -> int:
        """Run every stage; 0 when all passed, 1 when one failed or the operator stopped."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _move_aside(self.out_dir / REPORT_NAME)
        try:
            for n, stage in enumerate(self.stages, 1):
                line = f"[{n}/{len(self.stages)}] {stage.name}: {stage.announce}"
                if self.confirm is not None and not self.confirm(line):
                    self.say(f"bringup: stopped by the operator before stage {stage.name!r}")
                    self.report["stopped_before"] = stage.name
                    return 1
                self.say(line)
                if not self._run_stage(stage):
                    return 1
            self.say(f"bringup: all {len(self.stages)} stages passed; measurements in {self.out_dir / REPORT_NAME}")
            return 0
        finally:
            self._write_report()
            self.close()

    def _run_stage(self, stage: Stage) -> bool:
        t0 = time.monotonic()
        record: dict[str, Any] = {"stage": stage.name}
        self.report["stages"].append(record)
        try:
            record["measured"] = stage.run()
        except (Exception, KeyboardInterrupt) as err:
            self._stop_arm()
            key = err.runbook_key if isinstance(err, StageError) else entry_key(err, stage.device)
            entry = RUNBOOK[key] if key is not None else None
            record.update(ok=False, seconds=round(time.monotonic() - t0, 3), error=f"{type(err).__name__}: {err}")
            advice = f" Runbook ({entry.error}): {entry.operator}." if entry is not None else ""
            record["runbook"] = dataclasses.asdict(entry) if entry is not None else None
            self.say(f"bringup: stage {stage.name!r} failed, the arm is stopped: {err}.{advice}")
            return False
        record.update(ok=True, seconds=round(time.monotonic() - t0, 3))
        self.say(f"  ok ({record['seconds']:.1f} s): {json.dumps(record['measured'])}")
        self._write_report()
        return True

    def _stop_arm(self) -> None:
        if self.arm is not None and self.arm.api is not None:
            try:
                self.arm.stop()
            except Exception as err:  # the connection may be what failed
                self.say(f"bringup: stopping the arm failed too ({err}): use the emergency stop if it moves")

    def _write_report(self) -> None:
        (self.out_dir / REPORT_NAME).write_text(json.dumps(self.report, indent=2) + "\n")

    def close(self) -> None:
        """Stop the camera and disconnect the arm (it holds its pose)."""
        if self.camera is not None:
            self.camera.stop()
        if self.arm is not None and self.arm.api is not None:
            self.arm.close()

    # -- stages -------------------------------------------------------------------------------
    def _connect(self) -> dict[str, Any]:
        from rmrl_env.real.backend import connect_arm

        t0 = time.monotonic()
        self.arm = connect_arm(self.cfg, self.api_factory)
        api = self.arm.api
        try:
            sdk = metadata.version("xarm-python-sdk")
        except metadata.PackageNotFoundError:
            sdk = "unknown"
        code, codes = api.get_err_warn_code()
        pose = self.arm.tool_pose()
        load = api.tcp_load
        return {
            "connect_s": round(time.monotonic() - t0, 3),
            "sdk_version": sdk,
            "firmware": str(api.version),
            "state": api.get_state()[1],
            "error_warn_codes": list(codes) if code == 0 else None,
            "payload_kg": load[0],
            "payload_com_mm": list(load[1]),
            "collision_sensitivity": api.collision_sensitivity,
            "tcp_mm": [_mm(pose.x_m), _mm(pose.y_m), _mm(pose.z_m)],
        }

    def _arrival(self, target: ToolPose) -> float:
        reached = self.arm.tool_pose()
        return _mm(math.dist((reached.x_m, reached.y_m, reached.z_m), (target.x_m, target.y_m, target.z_m)))

    def _home(self) -> dict[str, Any]:
        self.arm.home_speed_m_s = self._scaled(self.arm.home_speed_m_s)
        self.arm.go_home()
        return {"speed_m_s": self.arm.home_speed_m_s, "arrival_error_mm": self._arrival(self.arm.home)}

    def _linear(self) -> dict[str, Any]:
        home = self.arm.home
        below = dataclasses.replace(home, z_m=home.z_m - LINEAR_STEP_M)
        self.arm.workspace.check(below, "the short linear move below home")
        t0 = time.monotonic()
        self.arm.move_to(below, LINEAR_SPEED_M_S)
        down = {"seconds": round(time.monotonic() - t0, 2), "arrival_error_mm": self._arrival(below)}
        self.arm.move_to(home, LINEAR_SPEED_M_S)
        return {"down": down, "back_arrival_error_mm": self._arrival(home)}

    def _gripper(self) -> dict[str, Any]:
        from rmrl_env.real.bio_gripper import BioGripper

        g = self.cfg.gripper
        self.gripper = BioGripper(self.arm, g.model, g.open_width_m, g.speed, g.force, g.timeout_s)
        self.gripper.open()
        opened = self.gripper.opening_m()
        caught = self.gripper.close()
        closed = self.gripper.opening_m()
        self.gripper.open()
        return {"open_mm": _mm(opened), "closed_mm": _mm(closed), "caught_something": caught}

    def _camera(self) -> dict[str, Any]:
        from rmrl_env.real.backend import _load_calibration, build_localiser
        from rmrl_env.real.realsense import RealSenseCamera

        cal = _load_calibration(self.cfg, dry_run=False)
        assert cal is not None and cal.camera_to_base is not None
        c = self.cfg.camera
        self.camera = RealSenseCamera(
            c.serial, c.width, c.height, c.fps, cal.intrinsics, c.undistort, c.frame_timeout_s, c.reconnect_attempts,
            warmup_frames=c.warmup_frames, reenumeration_timeout_s=c.reenumeration_timeout_s, find_device=self.find_camera,
        )  # fmt: skip
        self.localiser = build_localiser(self.cfg, cal.camera_to_base)
        frame = self.camera.capture()
        image = self.out_dir / IMAGE_NAME
        try:
            detection = self.localiser.localise(frame)
        except Exception:
            save_localisation(image, frame, None)
            raise
        save_localisation(image, frame, detection)
        self.seen = (frame, detection)
        problem = self.cfg.layout.lie_problem(detection)
        if problem is not None:
            raise StageError(f"the plate does not lie flat: {problem} (see {image})", "plate not flat")
        p = detection.pose
        return {
            "plate_mm_deg": [_mm(p.x_m), _mm(p.y_m), round(math.degrees(p.yaw_rad), 2)],
            "top_z_mm": _mm(detection.top_z_m),
            "depth_m": round(float(detection.depth_m), 4),
            "image": str(image),
        }

    def _pick_place(self) -> dict[str, Any]:
        from rmrl_env.real.backend import _load_calibration, targets_from

        assert self.seen is not None
        layout = self.cfg.layout
        m = layout.motion
        slow = dataclasses.replace(
            m, **{f: self._scaled(getattr(m, f)) for f in ("approach_speed_m_s", "descend_speed_m_s", "lift_speed_m_s", "transport_speed_m_s")}
        )  # fmt: skip
        layout = dataclasses.replace(layout, motion=slow)
        drivers = Drivers(arm=self.arm, gripper=self.gripper, camera=self.camera, localiser=self.localiser)
        routine = PickAndPlace(drivers, layout, localise_attempts=self.cfg.perception.localise_attempts)
        if self.place == TABLE:
            region = layout.reset_region
            target = PlanarPose(float(np.mean(region.x_m)), float(np.mean(region.y_m)), 0.0)
            outcome = routine.transfer(self.seen[1].pose, layout.table_z_m, target, layout.table_z_m)
        else:
            target = targets_from(_load_calibration(self.cfg, dry_run=False), layout, dry_run=False)[self.place].pose
            outcome = routine.run(self.seen[1].pose, layout.receptacle(self.place))
        self.arm.go_home()
        if outcome.failure is not None:
            raise StageError(
                f"the pick-and-place ended as {outcome.failure.value!r}: {outcome.message}", _OUTCOME_KEYS[outcome.failure]
            )
        placed = outcome.detection
        assert placed is not None
        return {
            "placed_mm_deg": [_mm(placed.pose.x_m), _mm(placed.pose.y_m), round(math.degrees(placed.pose.yaw_rad), 2)],
            "error_from_target_mm": _mm(math.dist((placed.pose.x_m, placed.pose.y_m), (target.x_m, target.y_m))),
        }


def save_localisation(path: Path, frame: RGBDFrame, detection: PlateDetection | None) -> None:
    """Write the frame with the plate's outline, box and pose drawn on it (or "not found")."""
    image = cv2.cvtColor(np.ascontiguousarray(frame.color), cv2.COLOR_RGB2BGR)
    if detection is None:
        text = "plate not found"
    else:
        contours, _ = cv2.findContours(detection.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(image, contours, -1, (0, 255, 0), 2)
        u0, v0, u1, v1 = (int(v) for v in detection.bbox_px)
        cv2.rectangle(image, (u0, v0), (u1, v1), (0, 220, 255), 1)
        p = detection.pose
        text = f"x {p.x_m * 1000:.1f} mm  y {p.y_m * 1000:.1f} mm  yaw {math.degrees(p.yaw_rad):.1f} deg"
    cv2.putText(image, text, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")


def _move_aside(path: Path) -> None:
    """Keep an earlier report: rename it to ``bringup.1.json``, ``bringup.2.json``, ..."""
    if not path.exists():
        return
    n = 1
    while (aside := path.with_name(f"{path.stem}.{n}{path.suffix}")).exists():
        n += 1
    path.rename(aside)
