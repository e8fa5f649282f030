"""The sim's fast paths give the same results as the straightforward ones they replace.

Each fast path (one render pass for colour and depth, the IK's leaner iteration (slices, NumPy's solve kernel), the lens applied to
the upside-down buffers, the sensor model's in-place noise) is compared with a reference
written the plain way, on frames of real scenes of the cell.
"""

from __future__ import annotations

import math

import cv2
import mujoco
import numpy as np
import pytest

from rmrl_env.sim.camera import SensorDepth, SimCamera, flip_maps, metric_depth
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.kinematics import POS_TOL_M, ROT_TOL_RAD, ArmKinematics, tool_quaternion
from rmrl_env.sim.world import SimWorld


@pytest.fixture(scope="module")
def scenes(place_env):
    """A few staged scenes of the default cell (plates of both types at random poses), with a
    mujoco.Renderer of the camera's size for the reference renders."""
    u = place_env.unwrapped
    camera = u.backend.drivers.camera
    renderer = mujoco.Renderer(camera.world.model, height=camera.intrinsics.height, width=camera.intrinsics.width)
    yield place_env, camera, renderer
    renderer.close()


def reference_render(renderer: mujoco.Renderer, camera) -> tuple[np.ndarray, np.ndarray]:
    """Colour and depth the plain way: mujoco.Renderer's colour pass, then its depth pass."""
    world = camera.world
    renderer.update_scene(world.data, camera=world.camera_id)
    color = renderer.render()
    renderer.enable_depth_rendering()
    renderer.update_scene(world.data, camera=world.camera_id)
    depth = renderer.render()
    renderer.disable_depth_rendering()
    return color, depth


def test_one_render_pass_gives_the_colour_and_depth_of_two(scenes):
    env, camera, renderer = scenes
    for seed in range(6):
        env.reset(seed=seed)
        color, depth = camera.render_ideal()
        ref_color, ref_depth = reference_render(renderer, camera)
        assert color.dtype == np.uint8 and depth.dtype == np.float32
        np.testing.assert_array_equal(color, ref_color)
        np.testing.assert_array_equal(depth, ref_depth)


def reference_ik(kin: ArmKinematics, pos_t: np.ndarray, quat_t: np.ndarray, seed: np.ndarray, max_iter: int) -> np.ndarray | None:
    """Damped least squares written plainly: full forward pass, stacked site Jacobian, clip."""
    quat, e_rot = np.empty(4), np.empty(3)
    jacp, jacr = np.zeros((3, kin.model.nv)), np.zeros((3, kin.model.nv))
    q = np.clip(np.asarray(seed, dtype=float).copy(), kin.lower, kin.upper)
    m, d, site = kin.model, kin.data, kin.tcp_site
    for _ in range(max_iter):
        d.qpos[kin.qadr] = q
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        mujoco.mju_mat2Quat(quat, d.site_xmat[site])
        mujoco.mju_subQuat(e_rot, quat_t, quat)
        e_rot = d.site_xmat[site].reshape(3, 3) @ e_rot
        e_pos = pos_t - d.site_xpos[site]
        if np.linalg.norm(e_pos) < POS_TOL_M and np.linalg.norm(e_rot) < ROT_TOL_RAD:
            return q
        mujoco.mj_jacSite(m, d, jacp, jacr, site)
        jac = np.vstack([jacp[:, kin.dadr], jacr[:, kin.dadr]])
        dq = jac.T @ np.linalg.solve(jac @ jac.T + kin.damping**2 * np.eye(6), np.concatenate([e_pos, e_rot]))
        step = np.max(np.abs(dq))
        if step > 0.5:
            dq *= 0.5 / step
        q = np.clip(q + dq, kin.lower, kin.upper)
    return None


def test_ik_gives_the_plain_solvers_joint_angles_bit_for_bit():
    """Over the workspace, near and far seeds, the short budget of a control tick and the full one:
    the same joint angles (so the same trajectories), and the same poses found unreachable."""
    kin = ArmKinematics()
    rng = np.random.default_rng(7)
    unreachable = 0
    for i in range(300):
        pos = np.array([rng.uniform(0.15, 0.6), rng.uniform(-0.45, 0.3), rng.uniform(0.0, 0.35)])
        quat = tool_quaternion(rng.uniform(-math.pi, math.pi))
        seed = kin.home_q + rng.normal(0.0, 0.3 if i % 2 else 0.02, 6)
        max_iter = 30 if i % 3 else 100
        want = reference_ik(kin, pos, quat, seed, max_iter)
        got = kin.solve_pose(pos, quat, seed, max_iter)
        if want is None:
            unreachable += 1
            assert got is None
        else:
            assert got is not None
            np.testing.assert_array_equal(got, want)
    assert 0 < unreachable < 100  # both outcomes were exercised


def reference_sensor(camera, color: np.ndarray, depth: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The lens and the sensor noise applied the plain way, with fresh arrays at every step."""
    e, bank = camera.errors, camera._noise_bank
    map1, map2 = camera._maps

    def normal(shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        start = int(rng.integers(0, bank.size - size))
        return bank[start : start + size].reshape(shape)

    color = cv2.remap(color, map1, map2, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    depth = cv2.remap(depth, map1, map2, interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    color = np.clip(color + normal(color.shape) * np.float32(e.color_noise_std), 0, 255).astype(np.uint8)
    sigma = depth * depth * (e.depth_noise_subpixel / (e.depth_focal_px * e.depth_baseline_m))
    depth = (depth + normal(depth.shape) * sigma) * np.float32(1.0 + e.depth_scale_error)
    return color, depth


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_sensor_model_gives_the_plain_computations_frames(scenes, seed):
    env, camera, _ = scenes
    env.reset(seed=seed)
    ideal = camera.render_ideal()
    camera.seed(5)
    frames = [camera.capture() for _ in range(3)]  # scratch buffers reused from one frame to the next
    rng = np.random.default_rng(5)
    for frame in frames:
        color, depth = reference_sensor(camera, ideal[0], ideal[1], rng)
        np.testing.assert_array_equal(frame.color, color)
        np.testing.assert_array_equal(frame.depth_m, depth)
    assert not np.array_equal(frames[0].color, frames[1].color)  # fresh noise on every frame


@pytest.mark.parametrize("seed", [11, 12])
def test_a_frames_depth_at_some_pixels_is_its_whole_depth_there(scenes, seed):
    """Localisation reads the depth at the plate's pixels alone (depth_at): the same float32 values
    as the whole image has there, at every pixel, the lens's clamped border included; and reading
    them computes nothing else."""
    env, camera, _ = scenes
    env.reset(seed=seed)
    camera.seed(3)
    lazy = camera.capture()
    camera.seed(3)
    whole = camera.capture().depth_m
    vs, us = np.nonzero(np.ones(whole.shape, dtype=bool))
    np.testing.assert_array_equal(lazy.depth_at(vs, us), whole[vs, us])
    assert lazy._depth_m is None
    np.testing.assert_array_equal(lazy.depth_m, whole)


@pytest.mark.parametrize("lens", [False, True])
@pytest.mark.parametrize("noise", [False, True])
def test_sensor_depth_at_pixels_matches_the_whole_image_without_lens_or_noise_too(lens, noise):
    rng = np.random.default_rng(0)
    h, w = 48, 64
    buffer = rng.uniform(0.2, 0.9, (h, w)).astype(np.float32)
    nearest = None
    if lens:  # a table reaching past every border, where the replicated border is read
        nearest = np.stack([rng.integers(-3, w + 3, (h, w)), rng.integers(-3, h + 3, (h, w))], axis=-1).astype(np.int16)
    bank = (0.013, rng.standard_normal(h * w).astype(np.float32)) if noise else None
    depth = SensorDepth(buffer, nearest, (np.float32(-0.01), np.float32(0.05)), bank, np.float32(1.002))
    whole = depth.full()
    vs, us = rng.integers(0, h, 500), rng.integers(0, w, 500)
    np.testing.assert_array_equal(depth.at(vs, us), whole[vs, us])
    if not lens and not noise:  # the buffer is bottom row first
        np.testing.assert_array_equal(whole, metric_depth(buffer[::-1], *depth.coefficients) * np.float32(1.002))


def test_the_sim_runs_opencv_on_one_thread_and_its_frames_do_not_depend_on_it(scenes):
    """make_sim_backend sets one OpenCV thread; frames and detections with two are the same."""
    env, camera, _ = scenes
    assert cv2.getNumThreads() == 1
    localiser = env.unwrapped.backend.drivers.localiser
    env.reset(seed=21)
    results = []
    for threads in (1, 2):
        cv2.setNumThreads(threads)
        camera.seed(4)
        frame = camera.capture()
        results.append((frame.color, frame.depth_m, localiser.localise(frame).pose))
    cv2.setNumThreads(1)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][2] == results[1][2]


def test_flipped_maps_sample_an_upside_down_image_as_the_maps_sample_it_upright():
    """Every sub-pixel fraction (32 x 32), coordinates past each border, images of both kinds:
    bilinear colour (three channels or four) and nearest depth through the flipped tables equal
    the plain remap of the upright image."""
    h, w = 48, 64
    rng = np.random.default_rng(0)
    xs = rng.uniform(-3.0, w + 2.0, (h, w)).astype(np.float32)
    ys = rng.uniform(-3.0, h + 2.0, (h, w)).astype(np.float32)
    fractions = np.arange(h * w) % 1024  # each (row, column) fraction pair at least twice
    xs = np.floor(xs) + (fractions.reshape(h, w) % 32) / 32.0
    ys = np.floor(ys) + (fractions.reshape(h, w) // 32) / 32.0
    map1, map2 = cv2.convertMaps(xs.astype(np.float32), ys.astype(np.float32), cv2.CV_16SC2)
    (linear1, linear2), nearest = flip_maps(map1, map2, h)
    color = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 1.5, (h, w)).astype(np.float32)
    border = {"borderMode": cv2.BORDER_REPLICATE}
    want = cv2.remap(color, map1, map2, interpolation=cv2.INTER_LINEAR, **border)
    got = cv2.remap(np.ascontiguousarray(color[::-1]), linear1, linear2, interpolation=cv2.INTER_LINEAR, **border)
    np.testing.assert_array_equal(got, want)
    # With a fourth channel (the RGBA the camera reads), each channel is sampled as on its own.
    rgba = np.ascontiguousarray(np.dstack([color, rng.integers(0, 256, (h, w), dtype=np.uint8)])[::-1])
    got = cv2.cvtColor(cv2.remap(rgba, linear1, linear2, interpolation=cv2.INTER_LINEAR, **border), cv2.COLOR_RGBA2RGB)
    np.testing.assert_array_equal(got, want)
    want = cv2.remap(depth, map1, map2, interpolation=cv2.INTER_NEAREST, **border)
    got = cv2.remap(np.ascontiguousarray(depth[::-1]), nearest, None, interpolation=cv2.INTER_NEAREST, **border)
    np.testing.assert_array_equal(got, want)


def test_a_camera_that_sees_the_sky_renders_it_as_the_plain_renderer_does():
    """Turned 35° up from overhead, the camera sees past the bench: the frame must be rendered
    with the skybox, like mujoco.Renderer's, not with the clear colour behind the bench."""
    errors = ErrorSources()
    world = SimWorld(errors)
    turn, quat = np.empty(4), np.empty(4)
    mujoco.mju_axisAngle2Quat(turn, np.array([1.0, 0.0, 0.0]), math.radians(35.0))
    mujoco.mju_mulQuat(quat, turn, world.model.cam_quat[world.camera_id].copy())
    world.model.cam_quat[world.camera_id] = quat
    world.forward()
    camera = SimCamera(world, errors)
    renderer = mujoco.Renderer(world.model, height=480, width=640)
    try:
        color, depth = camera.render_ideal()
        ref_color, ref_depth = reference_render(renderer, camera)
        np.testing.assert_array_equal(color, ref_color)
        np.testing.assert_array_equal(depth, ref_depth)
        renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False  # without the sky, the frame differs
        assert not np.array_equal(renderer.render(), ref_color)
    finally:
        renderer.close()
        camera.close()


def test_colour_noise_past_black_and_white_is_clipped_as_the_plain_computation_clips_it():
    """Noise strong enough to push pixels below 0 and above 255: the clipped frame is the plain one."""
    errors = ErrorSources(color_noise_std=80.0)
    world = SimWorld(errors)
    camera = SimCamera(world, errors)
    try:
        ideal = camera.render_ideal()
        camera.seed(3)
        frame = camera.capture()
        color, depth = reference_sensor(camera, ideal[0], ideal[1], np.random.default_rng(3))
        np.testing.assert_array_equal(frame.color, color)
        np.testing.assert_array_equal(frame.depth_m, depth)
        assert (frame.color == 0).sum() > 100 and (frame.color == 255).sum() > 100  # both ends were clipped
    finally:
        camera.close()


def model_arrays(model: mujoco.MjModel) -> dict[str, bytes]:
    """Every array of a model, and of its statistics, as bytes."""
    out = {}
    for owner, prefix in ((model, ""), (model.stat, "stat.")):
        for name in dir(owner):
            value = getattr(owner, name) if not name.startswith("_") else None
            if isinstance(value, (np.ndarray, float)):
                out[prefix + name] = np.asarray(value).tobytes()
    return out


def test_plate_type_changes_on_one_scratch_give_the_model_fresh_scratch_data_gives():
    """The world recomputes the model's constants on one kept scratch MjData; the plain way makes
    fresh data for each change. Every array of the model must come out the same, change after change."""
    from rmrl_env.cell import PLATE_TYPES

    kept, plain = SimWorld(ErrorSources()), SimWorld(ErrorSources())
    for name in ["deep_well", "standard", "deep_well", "standard", "deep_well"]:
        kept.set_plate_type(name)
        # the plain way: the same model edits, then mj_setConst on fresh data
        plain._const_scratch = None
        plain.set_plate_type(name)
        want = model_arrays(plain.model)
        got = model_arrays(kept.model)
        assert want.keys() == got.keys() and len(want) > 100
        assert [k for k in want if want[k] != got[k]] == []
        assert kept.plate_type == PLATE_TYPES[name]
    kept._const_scratch.qpos[:] = 0.5  # whatever the scratch holds does not matter
    kept._const_scratch.qvel[:] = 2.0
    kept.set_plate_type("standard")
    plain._const_scratch = None
    plain.set_plate_type("standard")
    assert model_arrays(kept.model) == model_arrays(plain.model)
