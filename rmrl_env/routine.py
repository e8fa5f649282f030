"""The one pick-and-place routine, written against the driver protocols.

The same code runs in the MuJoCo twin and on the real xArm: approach, descend, grasp, lift,
transport along a pre-planned path, place, release, retract, re-localise. Every pose of a
trial is checked for reachability before the first motion, so a trial that cannot finish
never starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from rmrl_env.cell import CellLayout, Receptacle
from rmrl_env.errors import CollisionError, PlateNotFoundError, UnreachableError
from rmrl_env.protocols import Arm, Camera, Gripper, Localisation, Localiser, PlanarPose, PlateDetection, RGBDFrame, ToolPose

logger = logging.getLogger(__name__)


class Failure(StrEnum):
    """Why a trial did not end with the plate released at the place pose.

    A ``StrEnum``: each member equals its value (``Failure.COLLISION == "collision"``), so logs
    and ``info["failure"]`` stay plain strings.
    """

    UNREACHABLE = "unreachable"
    """A pose of the trial is outside the arm's reach or workspace; no motion was made."""
    GRASP_MISSED = "grasp_missed"
    """The jaws closed on nothing, or stopped at a width that is not the plate's (judged at the close)."""
    DROPPED = "dropped"
    """The plate left the jaws between the lift and the release (the jaws closed further)."""
    COLLISION = "collision"
    """The arm's collision detection stopped a motion."""
    NOT_FLAT = "not_flat"
    """After the trial the camera sees the plate not lying flat: leaning, on a rim, or standing on an end."""
    PLATE_LOST = "plate_not_found"
    """The camera could not find the plate after the trial."""


@dataclass(frozen=True)
class TrialOutcome:
    """What happened in one pick-and-place.

    Attributes:
        failure: ``None`` when the plate was carried and released at the place pose, else the
            :class:`Failure`.
        seen: the plate as localised after the trial, with its frame (``None`` if not found,
            or if the trial never moved).
        message: human-readable detail for failures.
    """

    failure: Failure | None
    seen: Localisation | None
    message: str = ""

    @property
    def detection(self) -> PlateDetection | None:
        """The plate as localised after the trial (``None`` if not found)."""
        return self.seen.detection if self.seen is not None else None

    @property
    def frame(self) -> RGBDFrame | None:
        """The frame the plate was localised in."""
        return self.seen.frame if self.seen is not None else None


@dataclass(frozen=True)
class Drivers:
    """The four devices the routine drives."""

    arm: Arm
    gripper: Gripper
    camera: Camera
    localiser: Localiser


class PickAndPlace:
    """Pick the plate at a pose and put it into a receptacle, then re-localise it.

    Args:
        drivers: arm, gripper, camera and localiser.
        layout: the cell's geometry and motion plan.
        localise_attempts: captures tried before a missing plate is reported.
    """

    def __init__(self, drivers: Drivers, layout: CellLayout, localise_attempts: int = 3) -> None:
        if localise_attempts < 1:
            raise ValueError(f"localise_attempts must be >= 1, got {localise_attempts}")
        self.drivers = drivers
        self.layout = layout
        self.localise_attempts = localise_attempts

    # -- perception ---------------------------------------------------------------------------
    def localise(self) -> Localisation:
        """Capture and localise, retrying on a missed detection.

        Raises:
            PlateNotFoundError: after ``localise_attempts`` captures without a plate.
        """
        last: PlateNotFoundError | None = None
        for attempt in range(self.localise_attempts):
            frame = self.drivers.camera.capture()
            try:
                return Localisation(frame, self.drivers.localiser.localise(frame))
            except PlateNotFoundError as err:
                last = err
                logger.warning("plate not found (attempt %d/%d): %s", attempt + 1, self.localise_attempts, err)
        raise PlateNotFoundError(f"the plate was not found in {self.localise_attempts} captures; last error: {last}")

    # -- planning -----------------------------------------------------------------------------
    def plan(self, pick: PlanarPose, pick_surface_z_m: float, place: PlanarPose, place_surface_z_m: float) -> dict[str, ToolPose]:
        """The tool poses of one trial, in order of execution."""
        motion = self.layout.motion
        grasp_z = self.layout.grasp_z_m(pick_surface_z_m)
        release_z = self.layout.grasp_z_m(place_surface_z_m) + motion.release_gap_m
        return {
            "pre_grasp": ToolPose.above(pick, grasp_z + motion.approach_height_m),
            "grasp": ToolPose.above(pick, grasp_z),
            "lift": ToolPose.above(pick, motion.transit_z_m),
            "pre_place": ToolPose.above(place, motion.transit_z_m),
            "place_approach": ToolPose.above(place, release_z + motion.approach_height_m),
            "release": ToolPose.above(place, release_z),
            "retract": ToolPose.above(place, release_z + motion.approach_height_m),
        }

    # -- execution ----------------------------------------------------------------------------
    def run(self, pick: PlanarPose, receptacle: Receptacle) -> TrialOutcome:
        """Pick at ``pick`` (the adjusted pick pose) from the table and place into ``receptacle``."""
        return self.transfer(pick, self.layout.table_z_m, receptacle.pose, receptacle.floor_z_m)

    def transfer(self, pick: PlanarPose, pick_surface_z_m: float, place: PlanarPose, place_surface_z_m: float) -> TrialOutcome:
        """Carry the plate from ``pick`` to ``place`` and re-localise it.

        Also used by an autonomous reset, which carries the plate from the receptacle back to
        an initial pose on the table.
        """
        arm, gripper = self.drivers.arm, self.drivers.gripper
        waypoints = self.plan(pick, pick_surface_z_m, place, place_surface_z_m)
        try:
            arm.check_reachable(list(waypoints.values()))
        except UnreachableError as err:
            return TrialOutcome(Failure.UNREACHABLE, None, str(err))

        try:
            return self._execute(waypoints)
        except CollisionError as err:
            # The arm stopped itself: let go, clear the stop, back off to home, see where the plate is.
            logger.warning("collision during the trial: %s", err)
            gripper.open()
            # A real arm latches the collision and refuses motions until it is recovered.
            arm.recover()
            self._back_off()
            arm.go_home()
            return self._relocalise(Failure.COLLISION, str(err))

    def _back_off(self) -> None:
        """Straight up from where a collision stopped the arm (by the approach height, at most to
        the transit height), before the joint-space move home: a joint move from a pose pressed
        into something could push further into it."""
        arm, motion = self.drivers.arm, self.layout.motion
        here = arm.tool_pose()
        up_z = max(here.z_m, min(here.z_m + motion.approach_height_m, motion.transit_z_m))
        if up_z > here.z_m:
            arm.move_to(ToolPose(here.x_m, here.y_m, up_z, here.yaw_rad), motion.lift_speed_m_s)

    def _execute(self, waypoints: dict[str, ToolPose]) -> TrialOutcome:
        arm, gripper = self.drivers.arm, self.drivers.gripper
        motion, checks = self.layout.motion, self.layout.checks
        gripper.open()
        arm.move_to(waypoints["pre_grasp"], motion.approach_speed_m_s, linear=False)
        arm.move_to(waypoints["grasp"], motion.descend_speed_m_s)
        caught = gripper.close()
        width = gripper.opening_m()
        if not caught or abs(width - checks.grip_width_m) > checks.grip_width_tolerance_m:
            what = "closed on nothing" if not caught else f"stopped at {width * 1000:.1f} mm, not on the plate's sides"
            gripper.open()
            arm.move_to(waypoints["pre_grasp"], motion.lift_speed_m_s)
            arm.go_home()
            return self._relocalise(
                Failure.GRASP_MISSED, f"the jaws {what} (a plate is {checks.grip_width_m * 1000:.1f} mm across)"
            )
        arm.move_to(waypoints["lift"], motion.lift_speed_m_s)
        dropped = self._lost_grip(width, "the lift")
        if dropped is None:
            arm.move_to(waypoints["pre_place"], motion.transport_speed_m_s)
            arm.move_to(waypoints["place_approach"], motion.lift_speed_m_s)
            dropped = self._lost_grip(width, "the carry")
        if dropped is not None:
            gripper.open()
            arm.go_home()
            return self._relocalise(Failure.DROPPED, dropped)
        arm.move_to(waypoints["release"], motion.descend_speed_m_s)
        gripper.open()
        arm.move_to(waypoints["retract"], motion.lift_speed_m_s)
        arm.go_home()
        return self._relocalise(None)

    def _lost_grip(self, held_width_m: float, during: str) -> str | None:
        """Whether the jaws closed further than the catch since it (the plate slipped out)."""
        now = self.drivers.gripper.opening_m()
        if held_width_m - now > self.layout.checks.slip_m:
            return f"the plate left the jaws during {during}: they closed from {held_width_m * 1000:.1f} to {now * 1000:.1f} mm"
        return None

    def _relocalise(self, failure: Failure | None, message: str = "") -> TrialOutcome:
        """See where the plate ended up. A trial that otherwise went to its end fails as
        ``not_flat`` when the plate does not lie flat (:meth:`CellLayout.lie_problem`)."""
        try:
            seen = self.localise()
        except PlateNotFoundError as err:
            return TrialOutcome(failure or Failure.PLATE_LOST, None, f"{message} {err}".strip())
        if failure is None:
            problem = self.layout.lie_problem(seen.detection)
            if problem is not None:
                return TrialOutcome(Failure.NOT_FLAT, seen, problem)
        return TrialOutcome(failure, seen, message)
