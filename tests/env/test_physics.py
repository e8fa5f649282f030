"""The contact physics poses the real problem: what the gripper does with a pick-pose error."""

from __future__ import annotations

import math
import re

import gymnasium as gym
import numpy as np
import pytest

from rmrl_env.cell import Receptacle
from rmrl_env.protocols import PlanarPose


def _offset_pick(
    env,
    along_m: float = 0.0,
    across_m: float = 0.0,
    receptacle: Receptacle | None = None,
    seed: int = 0,
    failure: str | None = None,
):
    """Stage a plate, pick it at its TRUE pose shifted in the plate frame, place, and return
    the true placement error (metres, plate-long-axis and closing-axis components)."""
    u = env.unwrapped
    _, info = env.reset(seed=seed)
    true = PlanarPose.from_array(info["privileged"]["true_pose"])
    c, s = math.cos(true.yaw_rad), math.sin(true.yaw_rad)
    pick = PlanarPose(true.x_m + c * along_m - s * across_m, true.y_m + s * along_m + c * across_m, true.yaw_rad)
    receptacle = receptacle or u.receptacle
    outcome = u.routine.run(pick, receptacle)
    assert outcome.failure == failure, outcome.message
    final = u.backend.ground_truth.plate_pose()
    dx, dy = final.x_m - receptacle.pose.x_m, final.y_m - receptacle.pose.y_m
    cr, sr = math.cos(receptacle.pose.yaw_rad), math.sin(receptacle.pose.yaw_rad)
    return np.array([cr * dx + sr * dy, -sr * dx + cr * dy]), final


def _open_table_receptacle():
    """Somewhere free on the bench: no walls, so the error is not changed by a rim."""
    return Receptacle("open", PlanarPose(0.45, 0.05, 0.0), 0.0, 0.05)


def test_offset_along_the_jaws_carries_into_the_final_error(ideal_place_env):
    base, _ = _offset_pick(ideal_place_env, receptacle=_open_table_receptacle())
    shifted, _ = _offset_pick(ideal_place_env, along_m=0.005, receptacle=_open_table_receptacle())
    # picking 5 mm forward of the centre leaves the plate 5 mm behind the TCP at the place
    assert shifted[0] - base[0] == pytest.approx(-0.005, abs=0.0008)
    assert abs(shifted[1] - base[1]) < 0.0008


def test_offset_across_the_jaws_is_centred_by_the_gripper(ideal_place_env):
    base, _ = _offset_pick(ideal_place_env, receptacle=_open_table_receptacle())
    shifted, _ = _offset_pick(ideal_place_env, across_m=0.005, receptacle=_open_table_receptacle())
    assert np.linalg.norm(shifted - base) < 0.001


def test_plate_missing_the_box_lands_on_the_rim(ideal_place_env):
    """... and the routine sees it there from depth: the trial fails as ``not_flat``."""
    err, _ = _offset_pick(ideal_place_env, along_m=0.006, failure="not_flat")
    world = ideal_place_env.unwrapped.backend.drivers.arm.world
    assert math.degrees(world.plate_tilt_rad()) > 1.0  # resting on a wall, not on the floor
    assert not ideal_place_env.unwrapped.backend.ground_truth.plate_seated(ideal_place_env.unwrapped.receptacle)
    assert 0.004 < np.linalg.norm(err) < 0.012


def test_shelf_placement_within_clearance_succeeds_and_beyond_fails(ideal_shelf_env):
    u = ideal_shelf_env.unwrapped
    _offset_pick(ideal_shelf_env, along_m=0.0)
    assert u.backend.ground_truth.plate_seated(u.receptacle)
    _offset_pick(ideal_shelf_env, along_m=0.004, failure="not_flat")  # beyond the 1.5 mm clearance
    assert not u.backend.ground_truth.plate_seated(u.receptacle)


def test_env_success_flag_follows_the_seating(ideal_shelf_env):
    env = ideal_shelf_env
    u = env.unwrapped
    obs, info = env.reset(seed=2)
    delta = info["privileged"]["true_pose"] - obs["pose"]
    _, r_good, _, _, good = env.step(u.adjustment_to_action(*delta))
    env.reset(options={"scene": "same"})
    along = 0.006 * np.array([math.cos(info["privileged"]["true_pose"][2]), math.sin(info["privileged"]["true_pose"][2])])
    _, r_bad, _, _, bad = env.step(u.adjustment_to_action(delta[0] + along[0], delta[1] + along[1], delta[2]))
    assert good["success"] and not bad["success"]
    assert r_good > r_bad


def test_pressing_on_the_plate_stops_the_arm_like_collision_detection():
    """Picking 40 mm off across the jaws lands a pad on the plate (the jaws open to 150 mm, so
    only an error that large can): the arm stops."""
    env = gym.make("CellPlatePlace-sim-v0", grid_max_xy_mm=40, grid_step_xy_mm=10, plate_mix={"standard": 1.0})
    u = env.unwrapped
    start = [0.4219, -0.2646, 0.0]
    env.reset(seed=1, options={"initial_pose": start})
    _, reward, _, _, info = env.step(u.adjustment_to_action(0.0, 0.040, 0.0))
    assert info["failure"] == "collision"
    assert re.search(r"finger_(left|right) on 'plate' pressed with \d+ N", info["message"]), info["message"]
    assert "the motion was stopped" in info["message"]
    world = u.backend.drivers.arm.world
    # the plate is where it was, flat on the bench, and was seen there again
    assert np.linalg.norm(world.data.xpos[world.plate_body][:2] - np.array(start[:2])) < 0.003
    assert world.plate_tilt_rad() < math.radians(1.0)
    assert info["e_trans_mm"] > 100.0  # measured where it lies, and scored 0 as every failure is
    assert reward == 0.0 and not info["success"]
    env.close()
