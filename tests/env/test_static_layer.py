"""The camera's static layer (rendered once, the moving geoms laid over it) gives the frames of
rendering every geom for every frame, bit for bit, and is rendered again when what it shows changes."""

from __future__ import annotations

import math

import cv2
import mujoco
import numpy as np
import pytest

from rmrl_env.protocols import ToolPose
from rmrl_env.sim.camera import SimCamera
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.kinematics import ArmKinematics
from rmrl_env.sim.static_layer import LensWindow, merge_boxes, nonzero_boxes, projected_boxes
from rmrl_env.sim.world import SimWorld


@pytest.fixture(scope="module")
def cell():
    """One world seen by two cameras: one with the static layer, one rendering everything each frame."""
    errors = ErrorSources()
    world = SimWorld(errors)
    layered, whole = SimCamera(world, errors), SimCamera(world, errors, reuse_static=False)
    yield world, layered, whole
    layered.close()
    whole.close()


def passes(camera: SimCamera) -> list[int]:
    """Record the categories of every render pass the camera makes (returned list, appended to)."""
    seen: list[int] = []
    plain = camera._update_scene

    def spy(categories, *args, **kwargs):
        seen.append(int(categories))
        return plain(categories, *args, **kwargs)

    camera._update_scene = spy  # type: ignore[method-assign]
    return seen


def assert_same_frames(layered: SimCamera, whole: SimCamera, seed: int) -> None:
    for a, b in zip(layered.render_ideal(), whole.render_ideal(), strict=True):
        np.testing.assert_array_equal(a, b)
    layered.seed(seed)
    whole.seed(seed)
    got, want = layered.capture(), whole.capture()
    np.testing.assert_array_equal(got.color, want.color)
    np.testing.assert_array_equal(got.depth_m, want.depth_m)


def place(world: SimWorld, plate_xy_yaw: tuple[float, float, float], tool: ToolPose | None) -> None:
    """Put the plate flat at ``(x, y, yaw)`` on the bench and the arm's tool at ``tool`` (home if None)."""
    kin = ArmKinematics()
    q = world.home_q if tool is None else kin.solve(tool, world.home_q)
    world.hold_arm(q)
    adr = world.model.jnt_qposadr[world.model.joint("plate_free").id]
    x, y, yaw = plate_xy_yaw
    world.data.qpos[adr : adr + 7] = [x, y, world.plate_type.height_m / 2, math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)]
    world.forward()


SCENES = [
    ((0.40, -0.20, 0.0), None),  # the arm parked, the plate alone moving in view
    ((0.42, -0.12, 0.4), ToolPose(0.42, -0.12, 0.12, 0.4)),  # the gripper just above the plate
    ((0.40, 0.20, 0.0), ToolPose(0.40, 0.20, 0.09, 0.0)),  # the plate in the box under the jaws
    ((0.55, 0.05, -0.7), ToolPose(0.30, 0.05, 0.30, 1.2)),  # the forearm across the view
]


@pytest.mark.parametrize("bounds", ["projected", "whole buffers"])
def test_layers_give_the_frames_of_rendering_every_geom(cell, bounds, monkeypatch):
    """With the moving geoms' boxes from their projected bounding spheres, and with the fallback
    that reads the whole buffers (a scene those spheres cannot bound)."""
    world, layered, whole = cell
    if bounds == "whole buffers":
        monkeypatch.setattr("rmrl_env.sim.camera.projected_boxes", lambda *args: None)
    seen = passes(layered)
    in_view = []
    for k, (plate, tool) in enumerate(SCENES):
        place(world, plate, tool)
        assert_same_frames(layered, whole, seed=k)
        in_view.append(layered._changed)
    static = int(mujoco.mjtCatBit.mjCAT_STATIC)
    # The static geoms were rendered for the first frame only; every frame rendered its moving geoms.
    moving = int(mujoco.mjtCatBit.mjCAT_DYNAMIC | mujoco.mjtCatBit.mjCAT_DECOR)
    assert seen.count(static) <= 1 and seen.count(moving) == 2 * len(SCENES)  # render_ideal, capture
    assert all(boxes is not None for boxes in in_view)  # every frame was made of the layers
    areas = [sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in boxes) for boxes in in_view]
    assert areas[0] < 0.1 * 640 * 480  # the arm parked: the plate's box (and its base's edge) alone are composited
    assert max(areas) > 2 * areas[0]  # the arm in view adds its own


def test_projected_boxes_hold_every_pixel_of_the_moving_geoms(cell):
    """The boxes read back after the moving pass (the geoms' bounding spheres projected) hold
    every pixel the moving geoms cover in the whole buffer."""
    world, layered, _ = cell
    r = layered._renderer
    r._gl_context.make_current()
    rgba, depth = np.empty((480, 640, 4), np.uint8), np.empty((480, 640), np.float32)
    rng = np.random.default_rng(2)
    scenes = SCENES + [
        ((rng.uniform(0.3, 0.55), rng.uniform(-0.25, 0.25), rng.uniform(-3, 3)),
         ToolPose(rng.uniform(0.25, 0.55), rng.uniform(-0.25, 0.25), rng.uniform(0.05, 0.35), rng.uniform(-3, 3)))
        for _ in range(6)
    ]  # fmt: skip
    shares = []
    for plate, tool in scenes:
        place(world, plate, tool)
        layered._update_scene(mujoco.mjtCatBit.mjCAT_DYNAMIC | mujoco.mjtCatBit.mjCAT_DECOR, sky=False)
        mujoco.mjr_render(r._rect, r.scene, r._mjr_context)
        layered._read(rgba, depth)
        boxes = projected_boxes(world.model, world.data, layered._static.moving_geoms, world.camera_id, 480, 640)
        assert boxes is not None
        covered = np.zeros(depth.shape, bool)
        for y0, y1, x0, x1 in boxes:
            covered[y0:y1, x0:x1] = True
        assert (depth > 0).sum() > 1000 and covered[depth > 0].all()
        shares.append(covered.mean())
    assert shares[0] < 0.2  # the arm parked: small boxes, not the whole frame


def test_merged_boxes_cover_the_same_pixels_without_overlap():
    rng = np.random.default_rng(3)
    for _ in range(100):
        boxes = []
        for _ in range(int(rng.integers(1, 8))):
            y0, x0 = int(rng.integers(0, 40)), int(rng.integers(0, 40))
            boxes.append((y0, y0 + int(rng.integers(1, 15)), x0, x0 + int(rng.integers(1, 15))))
        merged = merge_boxes(boxes)
        cover = np.zeros((60, 60), int)
        for y0, y1, x0, x1 in merged:
            cover[y0:y1, x0:x1] += 1
        assert cover.max() == 1  # no two overlap
        for y0, y1, x0, x1 in boxes:
            assert (cover[y0:y1, x0:x1] == 1).all()


@pytest.mark.parametrize("change", ["box_moved", "bench_recoloured", "camera_turned", "light_dimmed"])
def test_a_change_to_what_the_static_layer_shows_renders_it_again(cell, change):
    world, layered, whole = cell
    m = world.model
    place(world, SCENES[1][0], SCENES[1][1])
    assert_same_frames(layered, whole, seed=0)  # the layer is current
    saved = {
        "box_moved": (m.body_pos, m.body("box").id),
        "bench_recoloured": (m.geom_rgba, m.geom("table").id),
        "camera_turned": (m.cam_quat, world.camera_id),
        "light_dimmed": (m.light_diffuse, 0),
    }[change]
    array, index = saved
    before = array[index].copy()
    try:
        if change == "box_moved":
            array[index] += [0.03, -0.02, 0.0]
        elif change == "bench_recoloured":
            array[index] = [0.2, 0.6, 0.3, 1.0]
        elif change == "camera_turned":
            turn = np.empty(4)
            mujoco.mju_axisAngle2Quat(turn, np.array([1.0, 0.0, 0.0]), math.radians(3.0))
            mujoco.mju_mulQuat(array[index], turn, before)
        else:
            array[index] *= 0.5
        world.forward()
        seen = passes(layered)
        assert_same_frames(layered, whole, seed=1)
        assert seen.count(int(mujoco.mjtCatBit.mjCAT_STATIC)) == 1
    finally:
        array[index] = before
        world.forward()


def test_lens_window_holds_every_pixel_that_reads_the_box():
    """A remap of an image lit only inside a box lights pixels inside the window's box alone, with
    tables that reach past every border (replicated) and bend rows and columns."""
    rng = np.random.default_rng(0)
    h, w = 60, 80
    vv, uu = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((uu - w / 2) ** 2 + (vv - h / 2) ** 2) / (w / 2) ** 2
    xs, ys = w / 2 + (uu - w / 2) * (1 + 0.08 * r2) + 0.3, h / 2 + (vv - h / 2) * (1 + 0.08 * r2) - 0.2
    map1, map2 = cv2.convertMaps(xs.astype(np.float32), ys.astype(np.float32), cv2.CV_16SC2)
    window = LensWindow(map1, h, w)
    for _ in range(200):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = y0 + int(rng.integers(1, 12)), x0 + int(rng.integers(1, 12))
        image = np.zeros((h, w), np.uint8)
        image[y0:y1, x0:x1] = 255
        lit = cv2.remap(image, map1, map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) > 0
        box = window.box((y0, min(y1, h), x0, min(x1, w)))
        inside = np.zeros_like(lit)
        if box is not None:
            inside[box[0] : box[1], box[2] : box[3]] = True
        assert not (lit & ~inside).any()
        if box is not None:
            assert (box[1] - box[0]) * (box[3] - box[2]) < h * w / 4  # not just the whole image


def test_nonzero_boxes_hold_every_moving_pixel_in_a_box_per_cluster():
    depth = np.zeros((30, 44), np.float32)
    assert nonzero_boxes(depth) == []
    depth[5, 7] = 0.3  # one cluster of blocks ...
    depth[12, 10] = 0.9
    depth[29, 43] = 0.5  # ... and another, in the corner of a partial block
    assert sorted(nonzero_boxes(depth)) == [(0, 16, 0, 16), (24, 30, 40, 44)]
    rng = np.random.default_rng(1)
    for _ in range(50):
        depth = np.where(rng.random((30, 44)) < 0.01, rng.uniform(0.1, 1.0, (30, 44)), 0.0).astype(np.float32)
        covered = np.zeros(depth.shape, bool)
        for y0, y1, x0, x1 in nonzero_boxes(depth):
            covered[y0:y1, x0:x1] = True
        assert covered[depth > 0].all()
