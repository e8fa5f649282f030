"""The nominal arm the controller plans on, the true arm of the cell, and the oracle built on both."""

from __future__ import annotations

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.cell import GRASP_HEIGHT_M
from rmrl_env.info import privileged
from rmrl_env.protocols import PlanarPose, ToolPose
from rmrl_env.sim.assets import arm_path
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.kinematics import ArmKinematics
from rmrl_env.sim.oracle import oracle_adjustment
from rmrl_env.sim.teaching import TrueArm, command_for
from rmrl_env.sim.world import DEFAULT_RESET_REGION, SimWorld

PICK = ToolPose(0.45, -0.20, 0.10, 0.3)


@pytest.fixture(scope="module")
def kin():
    return ArmKinematics()


def _true_at(kin: ArmKinematics, errors: ErrorSources, pose: ToolPose = PICK) -> tuple[ToolPose, ToolPose]:
    """Where the true grasp centre goes when the controller commands ``pose``, and where the
    nominal kinematics put it (the IK's solution is good to 0.05 mm)."""
    q = kin.solve(pose, kin.home_q)
    return TrueArm(SimWorld(errors)).grasp_pose(q), kin.forward(q)


def test_the_arm_mjcf_loads_on_its_own_with_its_home_keyframe(kin):
    model = mujoco.MjModel.from_xml_path(str(arm_path()))
    assert model.nq == 8 and model.key("home").id == 0  # six joints, two finger slides
    env = gym.make("CellPlatePlace-sim-v0").unwrapped
    home = env.backend.layout.home
    assert kin.forward(kin.home_q) == home
    assert (home.x_m, home.y_m, home.z_m, home.yaw_rad) == pytest.approx((0.15, 0.0, 0.30, 0.0), abs=1e-4)
    # the sim parks exactly at the keyframe's joint angles
    assert np.array_equal(env.backend.drivers.arm.world.arm_q_cmd, kin.home_q)
    env.close()


def test_an_ideal_arm_goes_where_it_is_commanded(kin):
    got, nominal = _true_at(kin, ErrorSources.ideal())
    assert got.as_array() == pytest.approx(nominal.as_array(), abs=1e-9)
    assert got.as_array() == pytest.approx(PICK.as_array(), abs=5e-5)


def test_a_joint_1_zero_offset_turns_the_tcp_about_the_base_axis(kin):
    delta = math.radians(0.1)
    got, nom = _true_at(kin, ErrorSources.ideal().replace(joint_zero_offsets_deg=(0.1, 0, 0, 0, 0, 0)))
    # r·δ tangentially: (-y, x)·δ (≈ 0.35, 0.79 mm here), and the tool's yaw turns by δ
    assert got.x_m - nom.x_m == pytest.approx(-nom.y_m * delta, abs=2e-6)
    assert got.y_m - nom.y_m == pytest.approx(nom.x_m * delta, abs=2e-6)
    assert got.yaw_rad - nom.yaw_rad == pytest.approx(delta, abs=1e-6)


def test_a_joint_6_zero_offset_turns_the_tool_but_not_the_tcp(kin):
    got, nom = _true_at(kin, ErrorSources.ideal().replace(joint_zero_offsets_deg=(0, 0, 0, 0, 0, 0.2)))
    assert math.dist(got.as_array()[:3], nom.as_array()[:3]) < 1e-6
    # the tool points down, so a turn about its own axis is a turn of -δ about the base z axis
    assert got.yaw_rad - nom.yaw_rad == pytest.approx(-math.radians(0.2), abs=1e-6)


def test_a_joint_1_origin_error_shifts_the_whole_arm(kin):
    err = (0.3, -0.2, 0.1)
    got, nom = _true_at(kin, ErrorSources.ideal().replace(link_origin_errors_mm=(*err, *(0.0,) * 15)))
    assert (got.as_array()[:3] - nom.as_array()[:3]) * 1000 == pytest.approx(err, abs=1e-6)


def test_tcp_offset_and_jaw_asymmetry_move_the_grasp_centre_in_the_tool_frame(kin):
    c, s = math.cos(PICK.yaw_rad), math.sin(PICK.yaw_rad)
    got, nom = _true_at(kin, ErrorSources.ideal().replace(tcp_offset_mm=(1.0, 0.5, 0.0)))
    # tool x = (cos ψ, sin ψ), tool y = (sin ψ, -cos ψ) for a tool pointing down
    assert (got.x_m - nom.x_m) * 1000 == pytest.approx(1.0 * c + 0.5 * s, abs=1e-3)
    assert (got.y_m - nom.y_m) * 1000 == pytest.approx(1.0 * s - 0.5 * c, abs=1e-3)
    got, nom = _true_at(kin, ErrorSources.ideal().replace(jaw_asymmetry_mm=0.8))
    # the jaws centre a part midway between the pads: 0.4 mm toward the right pad (-y tool)
    assert (got.x_m - nom.x_m) * 1000 == pytest.approx(-0.4 * s, abs=1e-3)
    assert (got.y_m - nom.y_m) * 1000 == pytest.approx(0.4 * c, abs=1e-3)


def _area_errors_mm(kin: ArmKinematics, errors: ErrorSources) -> np.ndarray:
    """(x, y) error of the true grasp centre over a 3 x 3 x 3 grid of reset poses (yaw too), mm."""
    true_arm = TrueArm(SimWorld(errors))
    region = DEFAULT_RESET_REGION
    out = []
    for x in np.linspace(*region.x_m, 3):
        for y in np.linspace(*region.y_m, 3):
            for yaw in np.linspace(region.yaw_rad[0] + 0.1, region.yaw_rad[1] - 0.1, 3):
                cmd = ToolPose(float(x), float(y), GRASP_HEIGHT_M, float(yaw))
                q = kin.solve(cmd, kin.home_q)
                got, nom = true_arm.grasp_pose(q), kin.forward(q)
                out.append([(got.x_m - nom.x_m) * 1000, (got.y_m - nom.y_m) * 1000])
    return np.array(out)


def test_drawn_arms_are_millimetres_off_and_the_error_changes_over_the_workspace(kin):
    rms, spread = [], []
    for seed in range(4):
        errors = ErrorSources.ideal().replace(
            **{
                k: getattr(ErrorSources.sample(np.random.default_rng(seed)), k)
                for k in ("joint_zero_offsets_deg", "link_origin_errors_mm")
            }
        )
        e = _area_errors_mm(kin, errors)
        rms.append(float(np.sqrt(np.mean(np.sum(e**2, axis=1)))))
        spread.append(float(np.max(np.ptp(e, axis=0))))
    # uncalibrated absolute accuracy of the order of a few mm (module docstring of error_sources)
    assert 0.7 < float(np.median(rms)) < 5.0, rms
    # not one rigid offset: over the area and the yaws the error moves by a millimetre or more
    assert min(spread) > 0.5, spread


def test_command_for_and_the_taught_place_poses_put_the_true_grasp_where_wanted(kin):
    env = gym.make("CellPlateShelf-sim-v0").unwrapped
    world = env.backend.drivers.arm.world
    true_arm = TrueArm(world)
    wanted = ToolPose(0.3, -0.3, GRASP_HEIGHT_M, -1.2)
    cmd = command_for(true_arm, kin, wanted, kin.home_q)
    assert true_arm.grasp_pose(kin.solve(cmd, kin.home_q)).as_array() == pytest.approx(wanted.as_array(), abs=2e-6)
    assert math.dist(cmd.as_array()[:2], wanted.as_array()[:2]) > 2e-4  # the default arm is off there
    layout = env.backend.layout
    for name, taught in layout.receptacles.items():
        slot = env.backend.ground_truth.slot_pose(taught)
        at = ToolPose.above(taught.pose, layout.grasp_z_m(taught.floor_z_m))
        got = true_arm.grasp_pose(kin.solve(at, kin.home_q))
        assert [got.x_m, got.y_m] == pytest.approx([slot.x_m, slot.y_m], abs=1e-5), name
    env.close()


def test_the_oracle_adjustment_puts_the_true_grasp_on_the_true_plate():
    env = gym.make("CellPlateShelf-sim-v0", plate_mix={"standard": 1.0})
    u = env.unwrapped
    obs, info = env.reset(seed=4)
    est = PlanarPose.from_array(obs["pose"].astype(np.float64))
    truth = PlanarPose.from_array(privileged(info)["true_pose"])
    adj = oracle_adjustment(env, est, truth)
    arm = u.backend.drivers.arm
    pick = ToolPose(est.x_m + adj[0], est.y_m + adj[1], GRASP_HEIGHT_M, est.yaw_rad + adj[2])
    got = TrueArm(arm.world).grasp_pose(arm.kin.solve(pick, arm.q_home))
    assert [got.x_m, got.y_m] == pytest.approx([truth.x_m, truth.y_m], abs=1e-5)
    # and the nearest grid action seats the plate on the shelf (1.5 mm clearance)
    _, _, _, _, step = env.step(u.adjustment_to_action(*adj))
    assert step["success"] and privileged(step)["true_e_trans_mm"] < 1.5
    env.close()
