"""The geometry of a robot cell: where things are, how the routine moves between them.

A :class:`CellLayout` is plain data shared by the sim and the real backend: the sim reads it
from the MJCF scene, the real backend from the cell's config file. All lengths in metres,
angles in radians, robot base frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rmrl_env.errors import ConfigError
from rmrl_env.protocols import PlanarPose, ToolPose

#: ANSI/SLAS 1-2004 microplate footprint and height (m).
PLATE_LENGTH_M = 0.12776
PLATE_WIDTH_M = 0.08548
PLATE_HEIGHT_M = 0.01435


@dataclass(frozen=True)
class Receptacle:
    """A place the plate is put down: a box on the table or a shelf slot.

    Attributes:
        name: ``"box"`` or ``"shelf"`` (free text for other cells).
        pose: nominal centre and yaw of the slot (the taught place pose).
        floor_z_m: height of the surface the plate rests on when seated.
        clearance_m: free space between plate and wall, per side, when centred.
    """

    name: str
    pose: PlanarPose
    floor_z_m: float
    clearance_m: float


@dataclass(frozen=True)
class Region:
    """A box of initial plate poses: ``[low, high]`` in x (m), y (m) and yaw (rad)."""

    x_m: tuple[float, float]
    y_m: tuple[float, float]
    yaw_rad: tuple[float, float]

    def __post_init__(self) -> None:
        for name in ("x_m", "y_m", "yaw_rad"):
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ConfigError(f"region.{name} must be a finite [low, high] with low <= high, got {(low, high)}")

    def contains(self, pose: PlanarPose, margin_m: float = 0.0) -> bool:
        return (
            self.x_m[0] - margin_m <= pose.x_m <= self.x_m[1] + margin_m
            and self.y_m[0] - margin_m <= pose.y_m <= self.y_m[1] + margin_m
        )


@dataclass(frozen=True)
class MotionPlan:
    """Heights and speeds of the pick-and-place routine (m, m/s).

    Attributes:
        approach_height_m: the last stretch above a grasp or release pose, travelled slowly.
        transit_z_m: TCP height of the transport between pick and place (clears the shelf).
        release_gap_m: height of the plate's bottom above the floor when the jaws open.
        approach_speed_m_s: free-space moves.
        descend_speed_m_s: the slow final approach to a grasp or release.
        lift_speed_m_s: vertical moves away from, or toward, the approach height.
        transport_speed_m_s: the horizontal carry at transit height.
    """

    approach_height_m: float = 0.03
    transit_z_m: float = 0.10
    release_gap_m: float = 0.002
    approach_speed_m_s: float = 0.25
    descend_speed_m_s: float = 0.10
    lift_speed_m_s: float = 0.30
    transport_speed_m_s: float = 0.60


@dataclass(frozen=True)
class CellLayout:
    """Everything the routine needs to know about the cell's geometry.

    Attributes:
        table_z_m: height of the table top (the plate's resting surface at pick).
        home: the arm's parking pose, out of the camera's view.
        reset_region: initial plate poses drawn for new scenes.
        receptacles: the places a task can put the plate, by name.
        motion: heights and speeds of the routine.
    """

    table_z_m: float
    home: ToolPose
    reset_region: Region
    receptacles: dict[str, Receptacle]
    motion: MotionPlan = field(default_factory=MotionPlan)

    def receptacle(self, name: str) -> Receptacle:
        try:
            return self.receptacles[name]
        except KeyError:
            raise ConfigError(f"the cell has no receptacle {name!r}; it has {sorted(self.receptacles)}") from None

    def grasp_z_m(self, surface_z_m: float) -> float:
        """TCP height that centres the jaws on the side of a plate resting at ``surface_z_m``."""
        return surface_z_m + PLATE_HEIGHT_M / 2.0
