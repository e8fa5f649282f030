"""The geometry of a robot cell: where things are, how the routine moves between them.

A :class:`CellLayout` is plain data shared by the sim and the real backend: the sim reads it
from the MJCF scene, the real backend from the cell's config file. All lengths in metres,
angles in radians, robot base frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rmrl_env.errors import ConfigError
from rmrl_env.protocols import PlanarPose, PlateDetection, ToolPose, wrap_half_turn

#: ANSI/SLAS 1-2004 microplate footprint and height (m).
PLATE_LENGTH_M = 0.12776
PLATE_WIDTH_M = 0.08548
PLATE_HEIGHT_M = 0.01435
#: The plate's diagonal (m): two plate centres this far apart cannot overlap, whatever their yaws.
PLATE_DIAGONAL_M = math.hypot(PLATE_LENGTH_M, PLATE_WIDTH_M)
#: Height of the TCP (the middle of the 12 mm tall pads) above the resting surface when the jaws
#: grip a plate (m): a taught height, the same for every plate type, low on the plate's side
#: where every SLAS plate has its skirt. 10 mm keeps the pads 4 mm clear of the surface, more
#: than an uncalibrated arm's height error (up to about 2.5 mm over drawn arms), and still grips
#: 10 mm of a standard plate's 14.35 mm side.
GRASP_HEIGHT_M = 0.010


@dataclass(frozen=True)
class PlateType:
    """A kind of plate: SLAS footprint (``PLATE_LENGTH_M`` x ``PLATE_WIDTH_M``), its own height.

    Attributes:
        name: key in :data:`PLATE_TYPES`.
        height_m: total height, metres.
        mass_kg: empty mass, kilograms.
    """

    name: str
    height_m: float
    mass_kg: float


#: Plates a person leaves on the table. ``standard``: a 96-well SLAS plate (ANSI/SLAS 2-2004
#: height 14.35 mm, about 80 g in polystyrene). ``deep_well``: a 96-well 2 mL deep-well plate
#: with the same footprint, about 44 mm tall and about 100 g in polypropylene (typical of the
#: manufacturers' data sheets for 2 mL deep-well plates).
PLATE_TYPES: dict[str, PlateType] = {
    "standard": PlateType("standard", PLATE_HEIGHT_M, 0.080),
    "deep_well": PlateType("deep_well", 0.0441, 0.100),
}


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

    def contains_yaw(self, yaw_rad: float, margin_rad: float = 0.0) -> bool:
        """Whether a plate yaw lies in the yaw range (modulo a half turn: the outline is symmetric)."""
        low, high = self.yaw_rad
        if high - low >= math.pi - 2 * margin_rad:
            return True
        centre = 0.5 * (low + high)
        return abs(wrap_half_turn(yaw_rad - centre)) <= 0.5 * (high - low) + margin_rad

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


#: A plate whose top is this far (m) above the surface under it stands on an end or a side: the
#: tallest plate lying flat is 44 mm tall, the narrowest side of the footprint 85.48 mm.
STANDING_TOP_M = 0.065


@dataclass(frozen=True)
class OutcomeChecks:
    """Thresholds of the routine's checks of what became of the plate (metres, degrees).

    Attributes:
        grip_width_m: the jaws hold a plate across its width (the SLAS footprint's 85.48 mm,
            every plate type).
        grip_width_tolerance_m: jaws that stop farther than this from ``grip_width_m`` did not
            close on the plate's sides (``grasp_missed``).
        slip_m: jaws that close by more than this after the catch have lost the plate
            (``dropped``); a gripper that does not report its opening cannot tell.
        max_tilt_deg: a plate whose top face (plane fitted to depth) is tilted more is not
            lying flat (``not_flat``): one end on an 8 mm rim tilts a plate 3.6° or more.
        surface_tolerance_m: a flat plate's measured top lies within this of a known surface
            plus one plate type's height; farther, it rests on something else (a rim, a wall,
            another plate) or stands on an end.
        max_pick_tilt_deg: a plate tilted up to this (one end or side on a rim) is still gripped
            across its width, and the closing jaws level it: the autonomous reset picks it up.
            One tilted more (leaning on a wall), or standing on an end, is left for a person.
    """

    grip_width_m: float = PLATE_WIDTH_M
    grip_width_tolerance_m: float = 0.008
    slip_m: float = 0.004
    max_tilt_deg: float = 2.5
    surface_tolerance_m: float = 0.004
    max_pick_tilt_deg: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "grip_width_m",
            "grip_width_tolerance_m",
            "slip_m",
            "max_tilt_deg",
            "surface_tolerance_m",
            "max_pick_tilt_deg",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"checks.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class CellLayout:
    """Everything the routine needs to know about the cell's geometry.

    Attributes:
        table_z_m: height of the table top (the plate's resting surface at pick).
        home: the arm's parking pose, out of the camera's view.
        reset_region: initial plate poses drawn for new scenes.
        receptacles: the places a task can put the plate, by name.
        motion: heights and speeds of the routine.
        checks: thresholds of the routine's checks of the grasp, the carry and how the plate lies.
    """

    table_z_m: float
    home: ToolPose
    reset_region: Region
    receptacles: dict[str, Receptacle]
    motion: MotionPlan = field(default_factory=MotionPlan)
    checks: OutcomeChecks = field(default_factory=OutcomeChecks)

    def __post_init__(self) -> None:
        # A plate anywhere in the reset region must not overlap a receptacle: no two plate centres
        # closer than a plate's diagonal can be guaranteed apart, whatever their yaws.
        region = self.reset_region
        for rec in self.receptacles.values():
            dx = max(region.x_m[0] - rec.pose.x_m, 0.0, rec.pose.x_m - region.x_m[1])
            dy = max(region.y_m[0] - rec.pose.y_m, 0.0, rec.pose.y_m - region.y_m[1])
            if math.hypot(dx, dy) < PLATE_DIAGONAL_M + rec.clearance_m:
                raise ConfigError(
                    f"the reset region x {region.x_m} m, y {region.y_m} m comes within {math.hypot(dx, dy) * 1000:.0f} mm "
                    f"of the {rec.name!r} receptacle at ({rec.pose.x_m:.3f}, {rec.pose.y_m:.3f}) m: a plate staged there "
                    f"could land on it. Keep the region {PLATE_DIAGONAL_M * 1000:.0f} mm (a plate's diagonal) clear of every receptacle"
                )

    def receptacle(self, name: str) -> Receptacle:
        try:
            return self.receptacles[name]
        except KeyError:
            raise ConfigError(f"the cell has no receptacle {name!r}; it has {sorted(self.receptacles)}") from None

    def surfaces_z_m(self) -> list[float]:
        """Heights of the surfaces a plate can rest flat on: the table and every receptacle's floor."""
        return sorted({self.table_z_m, *(r.floor_z_m for r in self.receptacles.values())})

    def surface_under(self, x_m: float, y_m: float) -> float:
        """The height of the surface under a point: the floor of a receptacle whose slot (with a
        plate's margin of 20 mm) holds it, else the table."""
        for rec in self.receptacles.values():
            dx, dy = x_m - rec.pose.x_m, y_m - rec.pose.y_m
            c, s = math.cos(rec.pose.yaw_rad), math.sin(rec.pose.yaw_rad)
            if abs(c * dx + s * dy) <= PLATE_LENGTH_M / 2 + 0.02 and abs(-s * dx + c * dy) <= PLATE_WIDTH_M / 2 + 0.02:
                return rec.floor_z_m
        return self.table_z_m

    def pick_problem(self, seen: PlateDetection) -> str | None:
        """``None`` when a plate seen so can be picked up (it lies flat, or rests tilted on a rim by
        at most :attr:`OutcomeChecks.max_pick_tilt_deg`); else why the robot must leave it alone."""
        problem = self.lie_problem(seen)
        if problem is None:
            return None
        standing = seen.top_z_m - self.surface_under(seen.pose.x_m, seen.pose.y_m) > STANDING_TOP_M
        if standing or (math.isfinite(seen.tilt_rad) and math.degrees(seen.tilt_rad) > self.checks.max_pick_tilt_deg):
            return problem
        return None

    def lie_problem(self, seen: PlateDetection) -> str | None:
        """``None`` when the plate as localised (its top's height and, where measured, its top
        face's tilt) lies flat on the surface under it; else what the camera sees (thresholds:
        :attr:`checks`)."""
        checks, pose, top_z_m, tilt_rad = self.checks, seen.pose, seen.top_z_m, seen.tilt_rad
        if math.isfinite(tilt_rad) and math.degrees(tilt_rad) > checks.max_tilt_deg:
            return (
                f"the plate is tilted by {math.degrees(tilt_rad):.1f}° (more than {checks.max_tilt_deg:g}°): "
                "it leans on a wall or rests on a rim"
            )
        surface = self.surface_under(pose.x_m, pose.y_m)
        above = top_z_m - surface
        if above > STANDING_TOP_M:
            return f"the plate's top is {above * 1000:.0f} mm above the surface under it: it stands on an end or a side"
        gap = min((above - t.height_m for t in PLATE_TYPES.values()), key=abs)
        if abs(gap) > checks.surface_tolerance_m:
            return (
                f"the plate's top is {gap * 1000:+.0f} mm from where a flat plate's would be on the surface under it "
                f"(z = {surface * 1000:.0f} mm): it rests on a rim or on something else"
            )
        return None

    def grasp_z_m(self, surface_z_m: float) -> float:
        """TCP height of the grasp of a plate resting at ``surface_z_m``.

        A fixed height above the surface (:data:`GRASP_HEIGHT_M`, the middle of a standard
        plate's side), the same for every plate type: labs teach one grasp height at the skirt
        rather than measuring each plate's top, so a taller plate is gripped low on its side.
        """
        return surface_z_m + GRASP_HEIGHT_M
