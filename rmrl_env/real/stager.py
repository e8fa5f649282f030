"""Autonomous reset on the real cell: the robot itself puts the plate at the next initial pose.

:class:`RobotStager` implements :class:`~rmrl_env.protocols.PlateStager` with the same
:meth:`~rmrl_env.routine.PickAndPlace.transfer` the trials use: it localises the plate wherever
the last trial left it (in the box, on the shelf, on the table), picks it there and sets it
down at the requested pose in the reset area, then returns home. A plate that cannot be found
is retried by the routine, then reported; nothing moves without a detection. A plate left on a
rim (a trial's ``not_flat``) is picked up as it lies: the closing jaws level it. Nothing moves
toward a plate the camera sees standing on an end or leaning on a wall (tilted more than
:attr:`~rmrl_env.cell.OutcomeChecks.max_pick_tilt_deg`): the error names its state. Every reset
is appended to an optional JSON-lines log.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from rmrl_env.cell import PLATE_HEIGHT_M, CellLayout
from rmrl_env.errors import PlateNotFoundError, ResetError
from rmrl_env.protocols import Localisation, PlanarPose, PlateDetection, wrap_half_turn
from rmrl_env.routine import Failure, PickAndPlace

logger = logging.getLogger(__name__)

#: A measured surface this close (m) to a known one (table, box floor, shelf floor) snaps to it.
SURFACE_SNAP_M = 0.01


#: A plate this close to the requested pose (m, degrees) is left where it is.
RESET_TOLERANCE_M = 0.002
RESET_TOLERANCE_DEG = 1.0
#: Transfers tried per reset (a missed grasp is retried).
RESET_ATTEMPTS = 2


class RobotStager:
    """Put the plate at a pose with the robot.

    Args:
        routine: the pick-and-place routine (its drivers and layout are used).
        tolerance_m / tolerance_rad: a plate already this close to the request, on the table,
            is left where it is.
        attempts: transfers tried (a missed grasp is retried from a fresh detection).
        log_path: JSON-lines file every reset is appended to (``None``: no log).
    """

    def __init__(
        self,
        routine: PickAndPlace,
        tolerance_m: float = RESET_TOLERANCE_M,
        tolerance_rad: float = math.radians(RESET_TOLERANCE_DEG),
        attempts: int = RESET_ATTEMPTS,
        log_path: str | Path | None = None,
    ) -> None:
        self.routine = routine
        self.layout: CellLayout = routine.layout
        self.tolerance_m = float(tolerance_m)
        self.tolerance_rad = float(tolerance_rad)
        self.attempts = int(attempts)
        self.log_path = Path(log_path) if log_path is not None else None

    def surface_under(self, detection: PlateDetection) -> float:
        """The height of the surface the detected plate rests on (m), snapped to a known one."""
        measured = detection.top_z_m - PLATE_HEIGHT_M
        known = [self.layout.table_z_m] + [r.floor_z_m for r in self.layout.receptacles.values()]
        nearest = min(known, key=lambda z: abs(z - measured))
        return nearest if abs(nearest - measured) <= SURFACE_SNAP_M else measured

    def _close_enough(self, detection: PlateDetection, pose: PlanarPose) -> bool:
        d = math.hypot(detection.pose.x_m - pose.x_m, detection.pose.y_m - pose.y_m)
        dyaw = abs(wrap_half_turn(detection.pose.yaw_rad - pose.yaw_rad))
        on_table = abs(self.surface_under(detection) - self.layout.table_z_m) < 1e-9
        return on_table and d <= self.tolerance_m and dyaw <= self.tolerance_rad

    def stage_plate(self, pose: PlanarPose) -> Localisation:
        """Carry the plate to ``pose`` on the table; the arm ends at home.

        Returns the localisation that verified the reset (the env's observation comes from it,
        so a reset localises no more often than it must).

        Raises:
            PlateNotFoundError: the plate was not found before the reset (nothing moved).
            ResetError: the plate does not lie flat (nothing moved), or the transfer failed
                (unreachable, missed grasp, dropped, collision, not flat after it, plate lost).
        """
        record: dict[str, Any] = {"time": time.time(), "requested": pose.as_array().tolist(), "attempts": []}
        try:
            for attempt in range(self.attempts):
                try:
                    seen = self.routine.localise()
                except PlateNotFoundError as err:
                    raise PlateNotFoundError(
                        f"autonomous reset: {err}. Nothing was moved; put the plate in the reset area by hand and reset again"
                    ) from None
                start = seen.detection.pose
                problem = self.layout.pick_problem(seen.detection)
                if problem is not None:
                    record["attempts"].append({"from": start.as_array().tolist(), "refused": problem})
                    raise ResetError(
                        f"autonomous reset: {problem}, at x={start.x_m:.3f} m, y={start.y_m:.3f} m. Nothing was moved: the "
                        "robot picks a plate lying flat or resting on a rim, not one standing or leaning on a wall. Lay it "
                        "flat in the reset area by hand and reset again"
                    )
                if self._close_enough(seen.detection, pose):
                    record["attempts"].append({"from": start.as_array().tolist(), "skipped": "already there"})
                    return seen
                surface = self.surface_under(seen.detection)
                outcome = self.routine.transfer(start, surface, pose, self.layout.table_z_m)
                record["attempts"].append(
                    {"from": start.as_array().tolist(), "surface_z_m": surface, "failure": outcome.failure, "message": outcome.message,
                     "final": None if outcome.detection is None else outcome.detection.pose.as_array().tolist()}
                )  # fmt: skip
                if outcome.failure is None and outcome.seen is not None:
                    return outcome.seen
                logger.warning(
                    "autonomous reset attempt %d/%d failed: %s %s", attempt + 1, self.attempts, outcome.failure, outcome.message
                )
                if outcome.failure != Failure.GRASP_MISSED:
                    break
            last = record["attempts"][-1]
            raise ResetError(
                f"autonomous reset to {pose} failed ({last.get('failure')}: {last.get('message')}). "
                "The arm is at home; put the plate in the reset area by hand and reset again"
            )
        finally:
            self._log(record)

    def _log(self, record: dict[str, Any]) -> None:
        if self.log_path is None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")


__all__ = ["RobotStager"]
