"""The oracle adjustment: what only the simulator can compute, for analysis, tests and demos.

A policy sees the image and P^e; the oracle sees the true plate pose and the true arm
(:class:`~rmrl_env.sim.teaching.TrueArm`). :func:`oracle_adjustment` / :func:`oracle_action`
give the adjustment that puts the true grasp centre where the plate truly is, over every error
source (perception, calibration, arm kinematics, TCP, jaws). Nothing here is handed to a learner.

The sim's ground truth in a step/reset ``info`` is read with :func:`rmrl_env.info.privileged`.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from rmrl_env.errors import UnreachableError
from rmrl_env.info import privileged
from rmrl_env.protocols import PlanarPose, ToolPose, wrap_half_turn
from rmrl_env.sim.teaching import TrueArm, command_for


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
