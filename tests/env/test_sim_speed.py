"""The sim's fast paths give the same results as the straightforward ones they replace.

Each fast path (one render pass for colour and depth, ...) is compared with a reference
written the plain way, on frames of real scenes of the cell.
"""

from __future__ import annotations

import mujoco
import numpy as np
import pytest


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
