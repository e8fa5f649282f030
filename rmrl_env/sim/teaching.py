"""What only the simulator knows about the arm, and teaching the cell's poses on it.

Used to build the sim's and the twin's cells (their place poses are taught); nothing here is
handed to a learner.

* :class:`TrueArm`: where the tool's grasp centre (midway between the pads, so including the
  TCP offset and half the jaw asymmetry) truly is for joint angles ``q``, on the true arm of
  the simulated cell.
* :func:`command_for`: the commanded (nominal) tool pose that puts the true grasp centre at a
  wanted pose: nominal IK, true FK, and a fixed-point correction. A lab does the same by
  jogging the arm until the tool sits right (teaching), which is how the place poses of the
  sim's receptacles are taught (:func:`teach`).

The analysis oracle built on them is :mod:`rmrl_env.sim.oracle`.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from rmrl_env.cell import Receptacle
from rmrl_env.protocols import PlanarPose, ToolPose, wrap_angle
from rmrl_env.sim.kinematics import ArmKinematics
from rmrl_env.sim.world import SimWorld

#: Convergence of :func:`command_for`: position (m) and yaw (rad).
_TOL_M = 1e-6
_TOL_RAD = 1e-5


class TrueArm:
    """Forward kinematics of the true arm's grasp centre (site ``grasp_centre``) on private data."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.data = mujoco.MjData(world.model)

    def grasp_pose(self, q: np.ndarray) -> ToolPose:
        """Where the jaws centre a part at joint angles ``q`` (rad, shape (6,)), and the tool's yaw."""
        w = self.world
        self.data.qpos[w.arm_qadr] = q
        mujoco.mj_kinematics(w.model, self.data)
        pos = self.data.site_xpos[w.grasp_site]
        rot = self.data.site_xmat[w.grasp_site].reshape(3, 3)
        return ToolPose(float(pos[0]), float(pos[1]), float(pos[2]), math.atan2(rot[1, 0], rot[0, 0]))


def command_for(true_arm: TrueArm, kin: ArmKinematics, wanted: ToolPose, seed: np.ndarray, max_iter: int = 10) -> ToolPose:
    """The nominal tool pose whose execution puts the true grasp centre at ``wanted``.

    Raises:
        UnreachableError: the nominal IK cannot reach a needed command.
    """
    cmd = wanted
    for _ in range(max_iter):
        got = true_arm.grasp_pose(kin.solve(cmd, seed))
        dx, dy, dz = wanted.x_m - got.x_m, wanted.y_m - got.y_m, wanted.z_m - got.z_m
        dyaw = wrap_angle(wanted.yaw_rad - got.yaw_rad)
        if math.sqrt(dx * dx + dy * dy + dz * dz) < _TOL_M and abs(dyaw) < _TOL_RAD:
            break
        cmd = ToolPose(cmd.x_m + dx, cmd.y_m + dy, cmd.z_m + dz, cmd.yaw_rad + dyaw)
    return cmd


def teach(true_arm: TrueArm, kin: ArmKinematics, slot: Receptacle, grasp_z_m: float) -> Receptacle:
    """The receptacle as a lab teaches it: the commanded pose that puts the true grasp centre
    over the true slot (at the grasp height above its floor), recorded as the place pose."""
    wanted = ToolPose(slot.pose.x_m, slot.pose.y_m, grasp_z_m, slot.pose.yaw_rad)
    cmd = command_for(true_arm, kin, wanted, kin.home_q)
    return Receptacle(slot.name, PlanarPose(cmd.x_m, cmd.y_m, cmd.yaw_rad), slot.floor_z_m, slot.clearance_m)
