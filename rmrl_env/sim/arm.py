"""Simulated xArm 6 driver (implements :class:`rmrl_env.protocols.Arm`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rmrl_env.errors import CollisionError, ConfigError
from rmrl_env.motion_profile import Trapezoid
from rmrl_env.protocols import ToolPose, wrap_angle
from rmrl_env.sim.kinematics import ArmKinematics
from rmrl_env.sim.world import SimWorld

#: Contact force on one part of the robot over which the arm is colliding, newtons (the jaws'
#: own squeeze on a plate is at most the BIO gripper's 20 N a pad).
COLLISION_FORCE_N = 50.0
#: A collision needs that force to grow by more than this per control tick, newtons.
COLLISION_RISE_N = 10.0


def pushing_into(force_n: float, previous_n: float, limit_n: float) -> bool:
    """Collision detection like the xArm's: a part of the robot presses with more than ``limit_n`` and harder
    than a control tick before (``previous_n``) by over :data:`COLLISION_RISE_N`. An arm backing
    away from a contact, its force steady or falling, is not stopped again."""
    return force_n > limit_n and force_n > previous_n + COLLISION_RISE_N


class SimArm:
    """The arm as a stiff position servo over the MuJoCo model.

    Like the xArm's controller, it plans on the *nominal* kinematics (``kin``): a commanded tool
    pose becomes joint angles by the nominal IK, and :meth:`tool_pose` reports the nominal FK of
    the commanded joints. The joints then drive the *true* arm of ``world``, whose tool lands
    wherever the true kinematics put it (the arm's absolute-accuracy error).

    Linear moves follow a straight Cartesian line with a trapezoidal speed profile
    (``accel_m_s2``), solved by IK at every control tick and interpolated in joint space
    between ticks, while the physics (gripper, plate, contacts) runs. Joint-space moves are
    free-space moves away from any object; they are executed instantly unless
    ``simulate_free_space`` is set, which spends simulation time without changing the outcome.

    Args:
        world: the simulated cell (the true arm).
        home: the parking pose, out of the camera's view; default: the nominal model's ``home``
            keyframe (joint angles, so the park is exactly that configuration).
        kin: the controller's kinematics; default: the nominal arm alone.
        accel_m_s2: Cartesian acceleration of linear moves.
        control_dt_s: control tick of the trajectory.
        simulate_free_space: spend simulation time on joint-space moves too.
        collision_force_n: like the xArm's collision detection, a linear move stops and raises
            :class:`~rmrl_env.errors.CollisionError` when a part of the robot (a link, the
            gripper housing, a finger) presses on anything with
            more than this normal force while pushing into it (see :func:`pushing_into`).
    """

    def __init__(
        self,
        world: SimWorld,
        home: ToolPose | None = None,
        kin: ArmKinematics | None = None,
        accel_m_s2: float = 2.5,
        control_dt_s: float = 0.04,
        simulate_free_space: bool = False,
        collision_force_n: float = COLLISION_FORCE_N,
    ) -> None:
        if accel_m_s2 <= 0 or control_dt_s <= 0 or collision_force_n <= 0:
            raise ConfigError("accel_m_s2, control_dt_s and collision_force_n must be > 0")
        self.world = world
        self.kin = kin if kin is not None else ArmKinematics()
        self.accel_m_s2 = accel_m_s2
        self.substeps = max(1, round(control_dt_s / world.timestep))
        self._fractions = np.arange(1, self.substeps + 1) / self.substeps  # of a tick, at each substep
        self.simulate_free_space = simulate_free_space
        self.collision_force_n = collision_force_n
        if home is None:
            self.q_home = self.kin.home_q.copy()
        else:
            self.q_home = self.kin.solve(home, self.kin.home_q)
        self.home = self.kin.forward(self.q_home)
        world.hold_arm(self.q_home)
        world.forward()

    # -- protocol -----------------------------------------------------------------------------
    def check_reachable(self, poses: Sequence[ToolPose]) -> None:
        seed = self.q_home
        for pose in poses:
            seed = self.kin.solve(pose, seed)

    def move_to(self, pose: ToolPose, speed_m_s: float, linear: bool = True) -> None:
        if not (math.isfinite(speed_m_s) and speed_m_s > 0):
            raise ConfigError(f"speed must be a positive number of m/s, got {speed_m_s!r}")
        if linear or self.simulate_free_space:
            self._move_linear(pose, speed_m_s)
        else:
            q = self.kin.solve(pose, self.world.arm_q_cmd)
            self.world.hold_arm(q)
            self.world.forward()

    def go_home(self) -> None:
        if self.simulate_free_space:
            self._move_linear(self.home, 0.3)
        else:
            self.world.hold_arm(self.q_home)
            self.world.forward()

    def recover(self) -> None:
        """Nothing to clear: a simulated collision stops the motion but latches no error."""

    def tool_pose(self) -> ToolPose:
        return self.kin.forward(self.world.arm_q_cmd)

    # -- internals ----------------------------------------------------------------------------
    def _move_linear(self, pose: ToolPose, speed_m_s: float) -> None:
        start = self.tool_pose()
        p0, p1 = start.as_array()[:3], pose.as_array()[:3]
        dyaw = wrap_angle(pose.yaw_rad - start.yaw_rad)
        # Yaw is traversed as if it were the arc swept 0.1 m from the axis.
        dist = max(float(np.linalg.norm(p1 - p0)), 0.1 * abs(dyaw))
        if dist < 1e-6:
            return
        profile = Trapezoid(dist, speed_m_s, self.accel_m_s2)
        duration = profile.duration
        dt = self.substeps * self.world.timestep
        n_ticks = max(1, math.ceil(duration / dt))
        q_prev = self.world.arm_q_cmd.copy()
        last_force, _ = self.world.robot_contact_force()
        path, fractions = p1 - p0, self._fractions[:, None]
        for k in range(1, n_ticks + 1):
            s = profile.fraction(k * duration / n_ticks)
            p = p0 + s * path
            target = ToolPose(float(p[0]), float(p[1]), float(p[2]), start.yaw_rad + s * dyaw)
            q = self.kin.solve(target, q_prev, max_iter=30)
            tick = q - q_prev
            # The world's step holds the arm on arm_q_cmd: set the velocity once, then each substep's position.
            self.world.hold_arm(q_prev, tick / dt)
            arm_q_cmd, step = self.world.arm_q_cmd, self.world.step
            for q_j in q_prev + fractions * tick:
                arm_q_cmd[:] = q_j
                step(1)
            q_prev = q
            force, where = self.world.robot_contact_force()
            collides, last_force = pushing_into(force, last_force, self.collision_force_n), force
            if collides:
                self.world.hold_arm(q_prev)
                here = self.tool_pose()
                raise CollisionError(
                    f"collision: {self.world.describe_contact(where)} pressed with {force:.0f} N (limit {self.collision_force_n:g} N) "
                    f"at x={here.x_m:.4f} m, y={here.y_m:.4f} m, z={here.z_m:.4f} m; the motion was stopped"
                )
        self.world.hold_arm(q_prev)
