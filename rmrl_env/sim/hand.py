"""The simulator's hand and eyes: staging the plate and reading the true state.

:class:`SimHand` implements :class:`rmrl_env.protocols.PlateStager` the way a person resets a
trial: the arm goes home, and the plate is set down at the requested pose and left to settle.
:class:`SimGroundTruth` reports what only a simulator knows.
"""

from __future__ import annotations

import math

from rmrl_env.cell import PLATE_HEIGHT_M, Receptacle
from rmrl_env.protocols import PlanarPose, wrap_half_turn
from rmrl_env.sim.arm import SimArm
from rmrl_env.sim.gripper import SimGripper
from rmrl_env.sim.world import SimWorld


class SimHand:
    """Set the plate down at a pose on a surface and let it settle (``settle_s`` seconds)."""

    def __init__(
        self, world: SimWorld, arm: SimArm, gripper: SimGripper, surface_z_m: float = 0.0, settle_s: float = 0.08
    ) -> None:
        self.world = world
        self.arm = arm
        self.gripper = gripper
        self.surface_z_m = surface_z_m
        self.settle_steps = max(1, int(settle_s / world.timestep))

    def stage_plate(self, pose: PlanarPose) -> None:
        """Set the plate down at ``pose`` on the table; the env then localises it."""
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
    slot's clearance.
    """

    def __init__(self, world: SimWorld, max_tilt_deg: float = 0.5, max_height_error_m: float = 0.001) -> None:
        self.world = world
        self.max_tilt_rad = math.radians(max_tilt_deg)
        self.max_height_error_m = max_height_error_m

    def plate_pose(self) -> PlanarPose:
        return self.world.plate_pose()

    def plate_seated(self, receptacle: Receptacle) -> bool:
        pose = self.world.plate_pose()
        dx, dy = pose.x_m - receptacle.pose.x_m, pose.y_m - receptacle.pose.y_m
        c, s = math.cos(receptacle.pose.yaw_rad), math.sin(receptacle.pose.yaw_rad)
        along, across = c * dx + s * dy, -s * dx + c * dy
        resting_z = receptacle.floor_z_m + PLATE_HEIGHT_M / 2.0
        return (
            self.world.plate_tilt_rad() <= self.max_tilt_rad
            and abs(self.world.plate_height_z() - resting_z) <= self.max_height_error_m
            and abs(along) <= receptacle.clearance_m + 5e-4
            and abs(across) <= receptacle.clearance_m + 5e-4
            and abs(wrap_half_turn(pose.yaw_rad - receptacle.pose.yaw_rad)) < math.radians(5)
        )
