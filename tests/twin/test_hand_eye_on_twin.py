"""Hand-eye calibration end to end on the twin: the board on the gripper (visual only, absent
unless asked for), tilted views through the real ``XArmArm`` against the emulator, recorded and
solved with the CLI's code, and the result checked against the twin's true camera pose."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from rmrl_env.errors import ConfigError, UnreachableError, WorkspaceViolation
from rmrl_env.protocols import PlanarPose, ToolPose
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox
from rmrl_env.real.xarm_arm import XArmArm
from rmrl_env.sim.assets import scene_path
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.world import MARKER_GEOM, SimWorld


def _marker_geoms(world: SimWorld) -> list[int]:
    m = world.model
    return [g for g in range(m.ngeom) if (m.geom(g).name or "").startswith(MARKER_GEOM)]


def test_the_board_is_absent_unless_asked_for_and_changes_no_physics():
    plain, marked = SimWorld(ErrorSources()), SimWorld(ErrorSources(), calibration_marker=True)
    assert _marker_geoms(plain) == [] and mujoco.mj_name2id(plain.model, mujoco.mjtObj.mjOBJ_TEXTURE, MARKER_GEOM) < 0
    scene = mujoco.MjModel.from_xml_path(str(scene_path()))
    assert (plain.model.ngeom, plain.model.ntex, plain.model.nmesh) == (scene.ngeom, scene.ntex, scene.nmesh)
    geoms = _marker_geoms(marked)
    assert len(geoms) == 3 and marked.model.ngeom == plain.model.ngeom + 3
    m = marked.model
    assert all(m.geom_contype[g] == 0 and m.geom_conaffinity[g] == 0 for g in geoms), "the board must not touch anything"
    assert all(m.geom_bodyid[g] == m.body("gripper").id for g in geoms)
    np.testing.assert_array_equal(m.body_mass, plain.model.body_mass)
    np.testing.assert_array_equal(m.body_inertia, plain.model.body_inertia)
    # A plate dropped and the jaws closing on nothing: the same trajectory to the bit.
    for world in (plain, marked):
        world.put_plate(PlanarPose(0.40, -0.15, 0.3), 0.02)
        world.data.ctrl[world.gripper_actuator] = 0.02
        world.step(300)
    np.testing.assert_array_equal(marked.data.qpos, plain.data.qpos)
    with pytest.raises(ConfigError, match="calibration_marker must be True or False"):
        SimWorld(ErrorSources(), calibration_marker="yes")  # type: ignore[arg-type]  # the bad input under test


@pytest.mark.real
def test_move_to_joints_checks_limits_and_the_box_before_anything_moves(emulator):
    box = WorkspaceBox((0.1, 0.7), (-0.45, 0.45), (0.0, 0.40))
    arm = XArmArm(emulator.host, box, SpeedLimits(0.25, 1.0), ToolPose(0.25, 0.0, 0.25, 0.0), tcp_offset_m=(0.0, 0.0, 0.15))
    try:
        code, top_down = arm.api.get_inverse_kinematics(
            [400.0, -70.0, 300.0, 180.0, 0.0, 0.0], input_is_radian=False, return_is_radian=False
        )
        assert code == 0
        samples = len(emulator.sink.samples()[0])
        with pytest.raises(ConfigError, match="6 finite numbers"):
            arm.move_to_joints(top_down[:5], 0.1)
        with pytest.raises(UnreachableError, match="beyond the joint limits"):
            arm.move_to_joints([*top_down[:4], -120.0, top_down[5]], 0.1)
        with pytest.raises(WorkspaceViolation):
            arm.move_to_joints([top_down[0] + 180.0, *top_down[1:6]], 0.1)  # the tool behind the base
        assert len(emulator.sink.samples()[0]) == samples, "a refused move must send nothing"
        tilted = [*top_down[:3], top_down[3] - 25.0, top_down[4], top_down[5]]
        arm.move_to_joints(tilted, 0.1)
        assert [float(a) for a in arm.api.get_servo_angle(is_radian=False)[1][:6]] == pytest.approx(tilted, abs=0.05)
        x, _y, z, roll, pitch, _yaw = arm.tcp_pose_mm_deg()
        assert box.x_m[0] <= x / 1000.0 <= box.x_m[1] and z / 1000.0 <= box.z_m[1]
        tilt = math.degrees(math.acos(-math.cos(math.radians(roll)) * math.cos(math.radians(pitch))))
        assert 20.0 < tilt < 30.0, f"the tool should be tilted ~24°, is {tilt:.1f}°"
    finally:
        arm.close()
