"""What only the simulator knows about the arm, and the oracle adjustment built on it.

For analysis, tests and demos only: nothing here is handed to a learner. A policy sees the
image and P^e; the oracle sees the true plate pose and the true arm.

* :class:`TrueArm`: where the tool's grasp centre (midway between the pads, so including the
  TCP offset and half the jaw asymmetry) truly is for joint angles ``q``, on the true arm of
  the simulated cell.
* :func:`command_for`: the commanded (nominal) tool pose that puts the true grasp centre at a
  wanted pose: nominal IK, true FK, and a fixed-point correction. A lab does the same by
  jogging the arm until the tool sits right (teaching), which is how the place poses of the
  sim's receptacles are taught (:func:`teach`).
* :func:`oracle_adjustment` / :func:`oracle_action`: the adjustment that puts the true grasp
  centre where the plate truly is, over every error source (perception, calibration, arm
  kinematics, TCP, jaws).

The sim's ground truth in a step/reset ``info`` is read with :func:`rmrl_env.info.privileged`.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from rmrl_env.cell import Receptacle
from rmrl_env.errors import UnreachableError
from rmrl_env.info import privileged
from rmrl_env.protocols import PlanarPose, ToolPose, wrap_angle, wrap_half_turn
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


def oracle_adjustment(env: gym.Env, estimate: PlanarPose, true_pose: PlanarPose) -> np.ndarray:
    """``[Δx_m, Δy_m, Δψ_rad]`` that puts the true grasp centre on the plate's true pose.

    Args:
        env: a sim env (any wrapper).
        estimate: P^e, the pose the adjustment is added to.
        true_pose: the plate's true pose (``privileged(info)["true_pose"]``).
    """
    u: Any = env.unwrapped  # a CellPlateEnv over the sim backend (the sim never imports the env)
    arm = u.backend.drivers.arm
    layout = u.backend.layout
    true_arm = TrueArm(arm.world)
    yaw = wrap_half_turn(true_pose.yaw_rad)
    wanted = ToolPose(true_pose.x_m, true_pose.y_m, layout.grasp_z_m(layout.table_z_m), yaw)
    try:
        cmd = command_for(true_arm, arm.kin, wanted, arm.q_home)
    except UnreachableError:
        cmd = wanted
    return np.array([cmd.x_m - estimate.x_m, cmd.y_m - estimate.y_m, math.remainder(cmd.yaw_rad - estimate.yaw_rad, math.pi)])


def oracle_action(env: gym.Env, obs: dict[str, np.ndarray], info: dict[str, Any]) -> tuple[np.ndarray, bool]:
    """The grid action nearest to the oracle adjustment, and whether the adjustment lies on
    the grid (within its range plus half a step on every axis)."""
    u: Any = env.unwrapped
    estimate = PlanarPose.from_array(np.asarray(obs["pose"], dtype=np.float64))
    truth = PlanarPose.from_array(np.asarray(privileged(info)["true_pose"], dtype=np.float64))
    adj = oracle_adjustment(env, estimate, truth)
    grid = u.grid
    on_grid = bool(np.all(np.abs(adj) <= grid.reach))
    return grid.to_action(*adj, clip=True), on_grid
