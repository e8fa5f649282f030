"""Drawn cells, camera mounting and calibration errors, plate types and the reset area."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.cell import PLATE_LENGTH_M, PLATE_TYPES, PLATE_WIDTH_M
from rmrl_env.errors import ConfigError
from rmrl_env.info import privileged
from rmrl_env.perception.localise import project
from rmrl_env.protocols import PlanarPose
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.oracle import oracle_action
from rmrl_env.sim.world import DEFAULT_RESET_REGION

PLATE = PlanarPose(0.42, -0.25, 0.4)


def _estimate(errors: ErrorSources, pose: PlanarPose = PLATE, plate: str = "standard") -> PlanarPose:
    """P^e of a plate set down at ``pose`` in a noise-free cell with ``errors``."""
    env = gym.make("CellPlatePlace-sim-v0", errors=errors, plate_mix={plate: 1.0})
    u = env.unwrapped
    u.backend.drivers.arm.world.set_plate_type(plate)
    u.backend.stager.put(pose, 0.0)
    est = u.routine.localise().detection.pose
    env.close()
    return est


def test_sample_draws_whole_cells_reproducibly_within_the_documented_spreads():
    a = ErrorSources.sample(np.random.default_rng(3))
    assert a == ErrorSources.sample(np.random.default_rng(3))
    b = ErrorSources.sample(np.random.default_rng(4))
    for name in (
        "joint_zero_offsets_deg",
        "link_origin_errors_mm",
        "camera_mount_offset_mm",
        "camera_mount_rot_deg",
        "extrinsic_rot_deg",
    ):
        assert getattr(a, name) != getattr(b, name), name
    draws = [ErrorSources.sample(np.random.default_rng(s)) for s in range(40)]
    joints = np.array([d.joint_zero_offsets_deg for d in draws])
    links = np.array([d.link_origin_errors_mm for d in draws])
    assert joints.std() == pytest.approx(0.1, rel=0.25) and np.abs(joints).max() <= 0.3 + 1e-12
    assert links.std() == pytest.approx(0.3, rel=0.25) and np.abs(links).max() <= 0.9 + 1e-12
    tilt = np.array([d.camera_mount_rot_deg for d in draws])
    assert tilt.std() == pytest.approx(0.7, rel=0.25) and np.abs(tilt).max() <= 2.1 + 1e-12


def test_impossible_new_sources_are_refused():
    with pytest.raises(ConfigError, match="joint_zero_offsets_deg needs 6 values"):
        ErrorSources(joint_zero_offsets_deg=(0.1, 0.2))
    with pytest.raises(ConfigError, match="beyond ±1°"):
        ErrorSources().replace(joint_zero_offsets_deg=(2.0, 0, 0, 0, 0, 0))
    with pytest.raises(ConfigError, match="camera_mount_rot_deg"):
        ErrorSources().replace(camera_mount_rot_deg=(0.0, 12.0, 0.0))


def test_a_camera_mount_the_calibration_knows_moves_the_camera_not_the_estimate():
    ideal = ErrorSources.ideal()
    moved = ideal.replace(camera_mount_offset_mm=(20.0, -10.0, 0.0), camera_mount_rot_deg=(1.0, -1.5, 2.0))
    env_a = gym.make("CellPlatePlace-sim-v0", errors=ideal).unwrapped
    env_b = gym.make("CellPlatePlace-sim-v0", errors=moved).unwrapped
    ta, tb = env_a.backend.drivers.camera.true_camera_to_base(), env_b.backend.drivers.camera.true_camera_to_base()
    assert (np.asarray(tb.translation) - np.asarray(ta.translation)) * 1000 == pytest.approx([20.0, -10.0, 0.0], abs=1e-6)
    turn = np.asarray(tb.rotation) @ np.asarray(ta.rotation).T
    assert math.degrees(math.acos((np.trace(turn) - 1) / 2)) == pytest.approx(math.hypot(1.0, 1.5, 2.0), abs=1e-3)
    env_a.close(), env_b.close()
    # calibrated to the true mount, only perspective changes: the estimate stays within a millimetre
    ea, eb = _estimate(ideal), _estimate(moved)
    assert math.hypot(ea.x_m - eb.x_m, ea.y_m - eb.y_m) < 1e-3


def test_an_extrinsic_tilt_shifts_the_estimate_by_range_times_angle():
    ideal = ErrorSources.ideal()
    base = _estimate(ideal)
    tilted = _estimate(ideal.replace(extrinsic_rot_deg=(0.0, 0.2, 0.0)))
    # believed camera turned +0.2° about y through its centre: a point ~1 m below moves by -sin(0.2°) m in x
    assert (tilted.x_m - base.x_m) * 1000 == pytest.approx(-1000 * math.sin(math.radians(0.2)), abs=0.3)
    assert abs(tilted.y_m - base.y_m) < 3e-4


def test_a_deep_well_plate_is_staged_reported_seen_taller_and_placed():
    env = gym.make("CellPlateShelf-sim-v0", plate_mix={"deep_well": 1.0})
    u = env.unwrapped
    obs, info = env.reset(seed=1)
    assert privileged(info)["plate_type"] == "deep_well"
    assert u.backend.drivers.arm.world.plate_height_z() == pytest.approx(PLATE_TYPES["deep_well"].height_m / 2, abs=5e-4)
    # its top face is 44 mm up: the perspective bias differs from a standard plate's at the same pose
    truth = privileged(info)["true_pose"]
    deep = _estimate(ErrorSources.ideal(), PlanarPose.from_array(truth), "deep_well")
    standard = _estimate(ErrorSources.ideal(), PlanarPose.from_array(truth), "standard")
    assert math.hypot(deep.x_m - standard.x_m, deep.y_m - standard.y_m) > 5e-4
    action, on_grid = oracle_action(env, obs, info)
    _, _, _, _, step = env.step(action)
    assert on_grid and step["success"], step["message"]
    # measured against the target measured with a deep-well plate
    assert step["target_pose"] == pytest.approx(u.backend.targets["shelf:deep_well"].pose.as_array())
    assert step["e_trans_mm"] < 2.5
    env.close()


def test_the_plate_mix_is_drawn_per_scene_and_checked():
    env = gym.make("CellPlatePlace-sim-v0", plate_mix={"standard": 1, "deep_well": 1}, image_size=(30, 40))
    kinds = {privileged(env.reset(seed=s)[1])["plate_type"] for s in range(8)}
    assert kinds == {"standard", "deep_well"}
    env.close()
    with pytest.raises(ConfigError, match="unknown plate type"):
        gym.make("CellPlatePlace-sim-v0", plate_mix={"lidded": 1.0})


@pytest.mark.parametrize(("cell_seed", "min_margin_px"), [(None, 40), (6, 20), (20, 20)])
def test_every_pose_of_the_reset_area_is_reachable_and_seen_with_margin(cell_seed, min_margin_px):
    env = gym.make("CellPlateShelf-sim-v0", cell_seed=cell_seed)
    u = env.unwrapped
    region = u.backend.layout.reset_region
    assert region == DEFAULT_RESET_REGION
    assert (region.x_m[1] - region.x_m[0], region.y_m[1] - region.y_m[0]) == pytest.approx((0.35, 0.425))
    assert region.yaw_rad == pytest.approx((-math.pi / 2, math.pi / 2))
    cam = u.backend.drivers.camera
    to_cam = cam.true_camera_to_base().inverse()
    intr = cam.intrinsics
    height = max(p.height_m for p in PLATE_TYPES.values())
    margin = np.inf
    for x in np.linspace(*region.x_m, 4):
        for y in np.linspace(*region.y_m, 4):
            for yaw in np.linspace(region.yaw_rad[0], region.yaw_rad[1] - 1e-3, 7):
                pose = PlanarPose(float(x), float(y), float(yaw))
                for receptacle in u.backend.layout.receptacles.values():
                    waypoints = u.routine.plan(pose, 0.0, receptacle.pose, receptacle.floor_z_m)
                    u.backend.drivers.arm.check_reachable(list(waypoints.values()))  # raises if not
                c, s = math.cos(yaw), math.sin(yaw)
                corners = [
                    (
                        x + c * a * PLATE_LENGTH_M / 2 - s * b * PLATE_WIDTH_M / 2,
                        y + s * a * PLATE_LENGTH_M / 2 + c * b * PLATE_WIDTH_M / 2,
                        z,
                    )
                    for a in (-1, 1)
                    for b in (-1, 1)
                    for z in (0.0, height)
                ]
                px = project(to_cam.apply(np.array(corners)), intr)
                margin = min(
                    margin, px[:, 0].min(), px[:, 1].min(), intr.width - 1 - px[:, 0].max(), intr.height - 1 - px[:, 1].max()
                )
    assert margin > min_margin_px, margin
    env.close()
