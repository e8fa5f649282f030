"""Every trial is scored for what happened: a dropped, standing or tilted plate is never a placement,
and every part of the robot collides."""

from __future__ import annotations

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest

from rmrl_env.cell import PLATE_LENGTH_M, PLATE_TYPES
from rmrl_env.protocols import PlanarPose, ToolPose
from rmrl_env.routine import Failure
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.gripper import BIO_MAX_GRIP_FORCE_N, SimGripper


def _stand_plate_on_end(world, x_m: float, y_m: float) -> None:
    """A deep-well plate standing on its 85 x 44 mm end face: 128 mm tall, its 44 mm thickness
    along y (the closing axis of a tool at yaw 0)."""
    world.set_plate_type("deep_well")
    adr = world.plate_qadr
    world.data.qpos[adr : adr + 3] = (x_m, y_m, PLATE_LENGTH_M / 2.0 + 1e-4)
    quat = np.empty(4)
    # plate x (its length) up: a quarter turn about y; then its width along x, thickness along y
    mujoco.mju_axisAngle2Quat(quat, np.array([0.0, 1.0, 0.0]), -math.pi / 2)
    world.data.qpos[adr + 3 : adr + 7] = quat
    world.data.qvel[world.plate_dadr : world.plate_dadr + 6] = 0.0
    world.forward()
    world.step(200)


@pytest.fixture
def ideal_env():
    env = gym.make("CellPlatePlace-sim-v0", errors=ErrorSources.ideal(), plate_mix={"standard": 1.0})
    yield env
    env.close()


def test_the_grasp_holds_the_bio_grippers_force_and_pads_resist_twisting():
    """The pads carry torsional friction (condim 4) and squeeze with the BIO gripper's 20 N."""
    from rmrl_env.sim.world import SimWorld

    world = SimWorld(ErrorSources.ideal())
    pad = world.model.geom("finger_left_pad")
    assert int(pad.condim[0]) == 4 and float(pad.friction[1]) > 0.0
    SimGripper(world)
    assert tuple(world.model.actuator_forcerange[world.gripper_actuator]) == (-2 * BIO_MAX_GRIP_FORCE_N, 2 * BIO_MAX_GRIP_FORCE_N)
    SimGripper(world, grip_force_n=5.0)
    assert tuple(world.model.actuator_forcerange[world.gripper_actuator]) == (-10.0, 10.0)
    with pytest.raises(Exception, match="grip_force_n"):
        SimGripper(world, grip_force_n=25.0)


def test_a_plate_that_slips_out_of_the_jaws_is_dropped_and_scores_zero(ideal_env):
    """Pads that turn slippery once they have caught the plate: it slides out during the lift, the
    jaws close behind it, and the routine says so instead of 'placing' nothing."""
    u = ideal_env.unwrapped
    world = u.backend.ground_truth.world
    gripper = u.backend.drivers.gripper
    # MuJoCo takes the larger friction of two geoms in contact: make both sides slippery
    pads = [world.model.geom(n).id for n in ("finger_left_pad", "finger_right_pad", "plate")]
    friction = world.model.geom_friction[pads].copy()
    catch = gripper.close

    def close_then_slip() -> bool:
        caught = catch()
        world.model.geom_friction[pads, 0] = 0.005  # 2 x 20 N x 0.005 cannot hold 80 g
        return caught

    obs, info = ideal_env.reset(seed=3)
    gripper.close = close_then_slip
    try:
        delta = info["privileged"]["true_pose"] - obs["pose"]
        _, reward, _, _, step = ideal_env.step(u.adjustment_to_action(*delta))
    finally:
        del gripper.close
        world.model.geom_friction[pads] = friction
    assert step["failure"] == Failure.DROPPED, step["message"]
    assert "left the jaws during the lift" in step["message"]
    assert reward == 0.0 and not step["success"]
    assert step["privileged"]["true_e_trans_mm"] > 100.0  # it is back on the table, far from the box


def test_jaws_that_stop_short_of_the_plate_are_a_missed_grasp_at_the_close(ideal_env):
    """A grip too weak to push the jaws shut stalls them wide open: judged at the close, before any lift."""
    u = ideal_env.unwrapped
    world = u.backend.ground_truth.world
    obs, info = ideal_env.reset(seed=3)
    world.set_grip_force(0.05)
    try:
        delta = info["privileged"]["true_pose"] - obs["pose"]
        _, reward, _, _, step = ideal_env.step(u.adjustment_to_action(*delta))
    finally:
        world.set_grip_force(BIO_MAX_GRIP_FORCE_N)
    assert step["failure"] == Failure.GRASP_MISSED and "not on the plate's sides" in step["message"]
    assert reward == 0.0
    assert step["privileged"]["true_e_trans_mm"] > 100.0  # never lifted


def test_a_plate_standing_on_end_is_seen_and_judged_not_flat(ideal_env):
    """The detector finds a plate standing on an end (it used to report it missing) and the depth
    says it stands."""
    u = ideal_env.unwrapped
    ideal_env.reset(seed=0)
    world = u.backend.ground_truth.world
    _stand_plate_on_end(world, 0.40, -0.20)
    assert math.degrees(world.plate_tilt_rad()) == pytest.approx(90.0, abs=2.0)
    seen = u.routine.localise()
    assert math.hypot(seen.detection.pose.x_m - 0.40, seen.detection.pose.y_m + 0.20) < 0.03
    problem = u.routine.layout.lie_problem(seen.detection)
    assert problem is not None and "stands on an end" in problem


def test_flat_plates_are_judged_flat_and_tilted_ones_are_not(ideal_env):
    u = ideal_env.unwrapped
    for plate in PLATE_TYPES:
        ideal_env.reset(seed=1)
        world = u.backend.ground_truth.world
        world.set_plate_type(plate)
        u.backend.stager.put(PlanarPose(0.35, -0.15, 0.3), 0.0)
        seen = u.routine.localise()
        assert seen.detection.tilt_rad < math.radians(1.5), plate
        assert u.routine.layout.lie_problem(seen.detection) is None, plate
        # the same plate with one long side propped up on a 12 mm block: 8° about its long axis
        adr = world.plate_qadr
        quat = np.empty(4)
        mujoco.mju_axisAngle2Quat(quat, np.array([math.cos(0.3), math.sin(0.3), 0.0]), math.radians(8.0))
        mujoco.mju_mulQuat(quat, quat, world.data.qpos[adr + 3 : adr + 7].copy())
        world.data.qpos[adr + 3 : adr + 7] = quat
        world.data.qpos[adr + 2] += 0.006
        world.model.opt.gravity[:] = 0.0  # hold it there while the camera looks
        try:
            world.forward()
            seen = u.routine.localise()
        finally:
            world.model.opt.gravity[:] = (0.0, 0.0, -9.81)
        assert math.degrees(seen.detection.tilt_rad) == pytest.approx(8.0, abs=1.0), plate
        assert "tilted" in (u.routine.layout.lie_problem(seen.detection) or ""), plate


def test_the_gripper_housing_pressing_on_a_plate_is_a_collision(ideal_env):
    """Not only the pads collide: the housing coming down on a plate standing between the open jaws
    stops the move, and the message names the part."""
    u = ideal_env.unwrapped
    ideal_env.reset(seed=0)
    world = u.backend.ground_truth.world
    arm = u.backend.drivers.arm
    _stand_plate_on_end(world, 0.40, -0.20)
    arm.move_to(ToolPose(0.40, -0.20, 0.25, 0.0), 0.2, linear=False)
    with pytest.raises(Exception, match=r"gripper on 'plate' pressed with \d+ N") as caught:
        arm.move_to(ToolPose(0.40, -0.20, 0.02, 0.0), 0.1)
    assert type(caught.value).__name__ == "CollisionError"
    # stopped with the housing on the plate's top (128 mm), the TCP 80 mm lower: far above 20 mm
    assert arm.tool_pose().z_m > 0.04


def test_every_link_collides_with_the_cell_and_not_with_itself():
    from rmrl_env.sim.world import SimWorld

    world = SimWorld(ErrorSources.ideal())
    m = world.model
    table = m.geom("table").id
    robot = np.nonzero(world.robot_geom)[0]
    bodies = {m.body(int(m.geom_bodyid[g])).name for g in robot if m.geom_contype[g] or m.geom_conaffinity[g]}
    assert {"link1", "link2", "link3", "link4", "link5", "link6", "gripper", "finger_left", "finger_right"} <= bodies
    for g in robot:
        name = m.body(int(m.geom_bodyid[g])).name
        if name == "link_base" or not (m.geom_contype[g] or m.geom_conaffinity[g]):
            continue  # the base is bolted to the table
        assert m.geom_contype[g] & m.geom_conaffinity[table], name
        for h in robot:
            pads = {"finger_left_pad", "finger_right_pad"}
            if m.geom(int(g)).name in pads and m.geom(int(h)).name in pads:
                continue  # the two pads never meet (excluded), and never reach each other anyway
            assert not (m.geom_contype[g] & m.geom_conaffinity[h] or m.geom_contype[h] & m.geom_conaffinity[g]), (
                name,
                m.body(int(m.geom_bodyid[h])).name,
            )


def test_info_carries_the_true_tilt(ideal_env):
    u = ideal_env.unwrapped
    obs, info = ideal_env.reset(seed=5)
    delta = info["privileged"]["true_pose"] - obs["pose"]
    _, reward, _, _, step = ideal_env.step(u.adjustment_to_action(*delta))
    assert step["failure"] is None and reward > 0.9
    assert 0.0 <= step["privileged"]["true_tilt_deg"] < 1.0


def test_the_collision_check_reads_the_same_forces_as_mujocos_contact_force(ideal_env):
    """The vectorised check (normal rows of the constraint forces) against mj_contactForce, contact
    by contact, at every control tick of a trial that grips, carries and places a plate."""
    u = ideal_env.unwrapped
    world = u.backend.ground_truth.world
    m, d = world.model, world.data
    fast = world.robot_contact_force
    checked = []

    def compare():
        force, (part, _other) = fast()
        totals: dict[int, float] = {}
        wrench = np.zeros(6)
        for i in range(d.ncon):
            g1, g2 = int(d.contact.geom1[i]), int(d.contact.geom2[i])
            if world.robot_geom[g1] == world.robot_geom[g2]:
                continue
            body = int(m.geom_bodyid[g1 if world.robot_geom[g1] else g2])
            mujoco.mj_contactForce(m, d, i, wrench)
            totals[body] = totals.get(body, 0.0) + abs(float(wrench[0]))
        assert force == (max(totals.values()) if totals else 0.0)
        if force > 0:
            assert totals[part] == force
            checked.append(force)
        return fast()

    obs, info = ideal_env.reset(seed=4)
    world.robot_contact_force = compare
    try:
        delta = info["privileged"]["true_pose"] - obs["pose"]
        ideal_env.step(u.adjustment_to_action(*delta))
    finally:
        del world.robot_contact_force
    assert len(checked) > 20 and max(checked) > 10.0  # the jaws' squeeze was among them
