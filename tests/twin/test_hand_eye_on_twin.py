"""Hand-eye calibration end to end on the twin: the board on the gripper (visual only, absent
unless asked for), tilted views through the real ``XArmArm`` against the emulator, recorded and
solved with the CLI's code, and the result checked against the twin's true camera pose."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from rmrl_env.errors import ConfigError
from rmrl_env.protocols import PlanarPose
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
