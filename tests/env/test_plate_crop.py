"""The ``plate_crop`` observation: off by default, a fixed-shape crop of the colour frame at the
camera's resolution centred on the estimated pose P^e and turned to its yaw, for every plate type,
padded where the window leaves the image."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.cell import PLATE_LENGTH_M, PLATE_WIDTH_M
from rmrl_env.env_settings import PLATE_CROP_M_PER_PX, PLATE_CROP_WINDOW_M
from rmrl_env.errors import ConfigError
from rmrl_env.make import make_real_env
from rmrl_env.perception.plate_crop import PAD_RGB, PLATE_CROP_KEY
from rmrl_env.protocols import PlanarPose

#: Poses across the reset area and the yaw range, both ends of it included.
POSES = [(0.25, -0.30, 0.0), (0.40, -0.15, math.radians(45)), (0.52, 0.0, math.radians(-80)), (0.30, -0.37, 1.5)]
#: Brightest channel of a plate pixel (the classical localiser's threshold).
DARK = 60


def _dark(crop: np.ndarray) -> np.ndarray:
    return crop.max(axis=-1) < DARK


@pytest.fixture(scope="module", params=["standard", "deep_well"])
def crop_env(request):
    env = gym.make("CellPlatePlace-sim-v0", plate_crop=True, plate_mix={request.param: 1.0})
    env.plate_type = request.param
    yield env
    env.close()


def test_off_by_default_and_the_observation_is_unchanged(place_env):
    assert set(place_env.observation_space.spaces) == {"image", "pose"}
    off = gym.make("CellPlatePlace-sim-v0", plate_crop=False)
    try:
        assert off.observation_space == place_env.observation_space
        assert off.unwrapped.config_hash == place_env.unwrapped.config_hash  # old runs keep their hash
        obs, _ = off.reset(seed=0)
        assert set(obs) == {"image", "pose"}
    finally:
        off.close()


def test_the_crop_key_has_a_fixed_uint8_shape_from_the_metric_window(crop_env):
    space = crop_env.observation_space[PLATE_CROP_KEY]
    along, across = PLATE_CROP_WINDOW_M
    shape = (round(across / PLATE_CROP_M_PER_PX), round(along / PLATE_CROP_M_PER_PX), 3)
    assert shape == (75, 100, 3)
    assert space.shape == shape and space.dtype == np.uint8
    obs, _ = crop_env.reset(seed=1)
    assert obs[PLATE_CROP_KEY].shape == shape and obs[PLATE_CROP_KEY].dtype == np.uint8
    assert crop_env.observation_space.contains(obs)
    assert crop_env.unwrapped.config_hash != gym.make("CellPlatePlace-sim-v0").unwrapped.config_hash


@pytest.mark.parametrize("pose", POSES)
def test_the_whole_plate_lies_in_the_middle_of_the_crop_along_its_long_axis(crop_env, pose):
    obs, info = crop_env.reset(seed=5, options={"initial_pose": pose})
    assert info["privileged"]["plate_type"] == crop_env.plate_type
    dark = _dark(obs[PLATE_CROP_KEY])
    h, w = dark.shape
    rows, cols = np.nonzero(dark)
    # centred: the plate's pixels average to the crop's centre within 2 px (3 mm)
    assert abs(cols.mean() - (w - 1) / 2) < 2.0 and abs(rows.mean() - (h - 1) / 2) < 2.0, (cols.mean(), rows.mean())
    # whole, with table around it: no plate pixel on the crop's border
    assert not (dark[0].any() or dark[-1].any() or dark[:, 0].any() or dark[:, -1].any())
    # turned to the plate's yaw: its long side runs along the crop's width, at the crop's metric scale (a
    # deep-well plate's top face is nearer the camera and its sides show: up to 15 % larger)
    length, width = (np.ptp(cols) + 1) * PLATE_CROP_M_PER_PX, (np.ptp(rows) + 1) * PLATE_CROP_M_PER_PX
    assert 0.93 < length / PLATE_LENGTH_M < 1.15 and 0.93 < width / PLATE_WIDTH_M < 1.15, (length, width)


def test_the_two_plate_types_look_different_in_the_crop():
    crops = {}
    for plate in ("standard", "deep_well"):
        env = gym.make("CellPlatePlace-sim-v0", plate_crop=True, plate_mix={plate: 1.0})
        obs, _ = env.reset(seed=5, options={"initial_pose": POSES[1]})
        crops[plate] = _dark(obs[PLATE_CROP_KEY])
        env.close()
    # the window lies on the table: a deep-well plate's top face is 30 mm nearer the camera, so larger
    assert crops["deep_well"].sum() > 1.04 * crops["standard"].sum()


def test_a_window_leaving_the_image_is_padded(crop_env):
    env = crop_env.unwrapped
    crop_env.reset(seed=2)
    frame, cropper = env._last_frame, env.plate_crop
    intr = frame.intrinsics
    # the window's centre on the image's left edge: about half of it is outside the image
    half = cropper(frame.color, _pose_at_pixel(cropper, intr, 0.0, intr.cy), cropper.table_z_m, intr)
    assert half.shape == cropper.shape and half.dtype == np.uint8
    assert 0.3 < np.all(half == PAD_RGB, axis=-1).mean() < 0.7
    # a window far outside the camera's view: all padding
    far = cropper(frame.color, PlanarPose(5.0, 5.0, 0.3), cropper.table_z_m, intr)
    assert far.shape == cropper.shape and np.all(far == PAD_RGB)


def _pose_at_pixel(cropper, intr, u: float, v: float) -> PlanarPose:
    """The point of the table seen at pixel (u, v), as a pose with zero yaw."""
    rot, t = np.asarray(cropper.camera_to_base.rotation), np.asarray(cropper.camera_to_base.translation)
    ray = rot @ np.array([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, 1.0])
    scale = (cropper.table_z_m - t[2]) / ray[2]
    point = t + scale * ray
    return PlanarPose(float(point[0]), float(point[1]), 0.0)


@pytest.mark.parametrize("value", ["yes", 1, (0.16,), (0.16, 0.001), (0.16, float("nan")), (0.16, 2.0)])
def test_a_bad_window_is_a_config_error_naming_it(value):
    with pytest.raises(ConfigError, match="plate_crop"):
        gym.make("CellPlatePlace-sim-v0", plate_crop=value)


def test_another_window_and_the_real_backend_give_the_shape_of_the_window():
    env = make_real_env("place", dry_run=True, plate_crop=(0.2, 0.08))
    assert env.observation_space[PLATE_CROP_KEY].shape == (50, 125, 3)
    real = make_real_env("place", dry_run=True, plate_crop=True)
    assert real.observation_space[PLATE_CROP_KEY].shape == (75, 100, 3)  # the sim's: one model fits both
