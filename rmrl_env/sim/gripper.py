"""Simulated BIO gripper driver (implements :class:`rmrl_env.protocols.Gripper`).

Both fingers are driven by one force-limited position servo through an equality coupling,
like the BIO gripper's single motor, so a closing gripper pushes the plate across the table
until it is centred between the pads (along the closing axis only).
"""

from __future__ import annotations

import math

from rmrl_env.errors import ConfigError
from rmrl_env.sim.world import SimWorld

#: The BIO gripper's maximum gripping force, newtons: the squeeze of each jaw on the part
#: (UFactory, BIO gripper technical specifications: 20 N, stroke 70-150 mm). The original BIO
#: gripper has no force setting and grips with it; the G2's force register (1-100) is taken as
#: a percentage of it.
BIO_MAX_GRIP_FORCE_N = 20.0


class SimGripper:
    """Args:
    world: the simulated cell.
    open_m: pad distance from the centre when open: 0.075 m, i.e. 150 mm between the pads, the
        top of the BIO gripper's stroke (the xArm SDK clamps the G2's reported position to
        71-150 mm). A sim that opened less would invent collisions a real cell does not have.
    closed_m: the servo's target when closing; an empty grasp ends there.
    timeout_s: longest a motion of the jaws is simulated.
    grip_force_n: each jaw's squeeze on a part, newtons (at most the BIO gripper's 20 N).
    """

    def __init__(
        self,
        world: SimWorld,
        open_m: float = 0.075,
        closed_m: float = 0.015,
        timeout_s: float = 0.8,
        grip_force_n: float = BIO_MAX_GRIP_FORCE_N,
    ) -> None:
        low, high = world.finger_range
        if not (low <= closed_m < open_m <= high):
            raise ConfigError(f"need {low} <= closed_m < open_m <= {high} (m), got closed_m={closed_m}, open_m={open_m}")
        if not (math.isfinite(grip_force_n) and 0 < grip_force_n <= BIO_MAX_GRIP_FORCE_N):
            raise ConfigError(
                f"grip_force_n must be in (0, {BIO_MAX_GRIP_FORCE_N:g}] N (the BIO gripper's maximum), got {grip_force_n!r}"
            )
        self.world = world
        world.set_grip_force(grip_force_n)
        self.open_m = open_m
        self.closed_m = closed_m
        self.max_steps = int(timeout_s / world.timestep)
        self.settle_steps = max(1, int(0.03 / world.timestep))
        world.set_fingers(open_m)

    def open(self) -> None:
        w = self.world
        w.data.ctrl[w.gripper_actuator] = self.open_m
        qpos, finger, step = w.data.qpos, w.finger_qadr, w.step  # read at every physics step: no method calls
        for _ in range(self.max_steps):
            step(1)
            if abs(qpos[finger] - self.open_m) < 5e-4:
                break

    def close(self) -> bool:
        w = self.world
        w.data.ctrl[w.gripper_actuator] = self.closed_m
        still = 0
        qpos, qvel, finger, speed, step = w.data.qpos, w.data.qvel, w.finger_qadr, w.finger_dadr, w.step
        for _ in range(self.max_steps):
            step(1)
            still = still + 1 if abs(qvel[speed]) < 2e-3 else 0
            if still >= self.settle_steps or qpos[finger] <= self.closed_m + 5e-4:
                break
        return w.finger_q() > self.closed_m + 0.003

    def opening_m(self) -> float:
        return 2.0 * self.world.finger_q() + self.world.jaw_asymmetry_m
