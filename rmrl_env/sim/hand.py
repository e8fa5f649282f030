"""The simulator's hand and eyes: staging the plate and reading the true state.

:class:`SimHand` implements :class:`rmrl_env.protocols.PlateStager` the way a person resets a
trial: the arm goes home, a plate of a type drawn from the cell's mix is set down at the
requested pose and left to settle. :class:`SimGroundTruth` reports what only a simulator knows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from rmrl_env.cell import PLATE_TYPES, Receptacle
from rmrl_env.errors import ConfigError
from rmrl_env.protocols import PlanarPose, wrap_half_turn
from rmrl_env.sim.arm import SimArm
from rmrl_env.sim.gripper import SimGripper
from rmrl_env.sim.world import SimWorld

#: Default share of each plate type among the plates a person leaves (a lab handling both).
DEFAULT_PLATE_MIX: dict[str, float] = {"standard": 0.5, "deep_well": 0.5}


def check_plate_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """Validate a plate mix (type name → share ≥ 0, not all zero) and normalise it to sum 1."""
    try:
        shares = {str(k): float(v) for k, v in dict(mix).items()}
    except (TypeError, ValueError):
        raise ConfigError(f"plate_mix must map plate types to shares, got {mix!r}") from None
    unknown = sorted(set(shares) - set(PLATE_TYPES))
    if unknown:
        raise ConfigError(f"plate_mix names unknown plate type(s) {unknown}; valid: {sorted(PLATE_TYPES)}")
    if not shares or any(not (math.isfinite(v) and v >= 0) for v in shares.values()) or sum(shares.values()) <= 0:
        raise ConfigError(f"plate_mix shares must be finite, >= 0 and not all zero, got {shares}")
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


class SimHand:
    """Set a plate down at a pose on a surface and let it settle (``settle_s`` seconds).

    Args:
        plate_mix: share of each plate type (:data:`~rmrl_env.cell.PLATE_TYPES`) among the
            staged plates; one type is drawn per staged scene from the hand's seeded generator.
    """

    def __init__(
        self,
        world: SimWorld,
        arm: SimArm,
        gripper: SimGripper,
        surface_z_m: float = 0.0,
        settle_s: float = 0.08,
        plate_mix: Mapping[str, float] | None = None,
    ) -> None:
        self.world = world
        self.arm = arm
        self.gripper = gripper
        self.surface_z_m = surface_z_m
        self.settle_steps = max(1, int(settle_s / world.timestep))
        self.plate_mix = check_plate_mix(DEFAULT_PLATE_MIX if plate_mix is None else plate_mix)
        self.rng = np.random.default_rng(0)

    def seed(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(seed)

    def stage_plate(self, pose: PlanarPose) -> None:
        """Set a plate (type drawn from the mix) down at ``pose`` on the table; the env then localises it."""
        names = sorted(self.plate_mix)
        shares = np.array([self.plate_mix[n] for n in names])
        self.world.set_plate_type(names[int(self.rng.choice(len(names), p=shares))])
        self.put(pose, self.surface_z_m)

    def put(self, pose: PlanarPose, surface_z_m: float) -> None:
        """Put the plate at ``pose`` on a surface at ``surface_z_m``; arm home, gripper open."""
        self.world.reset_state()
        self.arm.go_home()
        self.world.set_fingers(self.gripper.open_m)
        self.world.put_plate(pose, surface_z_m)
        self.world.forward()
        self.world.step(self.settle_steps)


class SimGroundTruth:
    """True plate state and a physical seating test.

    A plate is seated when it lies flat (tilt ≤ ``max_tilt_deg``) at the receptacle's floor
    (centre within ``max_height_error_m`` of its resting height) with its centre inside the
    true slot's clearance. The true slot is the model's; the layout's receptacle pose is the
    taught place pose, which differs from it by the arm's absolute error there.
    """

    def __init__(self, world: SimWorld, max_tilt_deg: float = 0.5, max_height_error_m: float = 0.001) -> None:
        self.world = world
        self.max_tilt_rad = math.radians(max_tilt_deg)
        self.max_height_error_m = max_height_error_m

    def plate_pose(self) -> PlanarPose:
        return self.world.plate_pose()

    def plate_type(self) -> str:
        """Name of the plate type on the table (a key of :data:`~rmrl_env.cell.PLATE_TYPES`)."""
        return self.world.plate_type.name

    def plate_tilt_rad(self) -> float:
        return self.world.plate_tilt_rad()

    def slot_pose(self, receptacle: Receptacle) -> PlanarPose:
        """The true pose of the receptacle's slot (a receptacle the model lacks is taken as given)."""
        if self.world.has_slot(receptacle.name):
            return self.world.receptacle(receptacle.name, receptacle.clearance_m).pose
        return receptacle.pose

    def plate_seated(self, receptacle: Receptacle) -> bool:
        pose = self.world.plate_pose()
        slot = self.slot_pose(receptacle)
        dx, dy = pose.x_m - slot.x_m, pose.y_m - slot.y_m
        c, s = math.cos(slot.yaw_rad), math.sin(slot.yaw_rad)
        along, across = c * dx + s * dy, -s * dx + c * dy
        resting_z = receptacle.floor_z_m + self.world.plate_type.height_m / 2.0
        return (
            self.world.plate_tilt_rad() <= self.max_tilt_rad
            and abs(self.world.plate_height_z() - resting_z) <= self.max_height_error_m
            and abs(along) <= receptacle.clearance_m + 5e-4
            and abs(across) <= receptacle.clearance_m + 5e-4
            and abs(wrap_half_turn(pose.yaw_rad - slot.yaw_rad)) < math.radians(5)
        )
