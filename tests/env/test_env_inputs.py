"""Careless inputs at gym.make and reset: each is a clear error at the call (or accepted where it is
what a JSON command line naturally gives), never a silent misreading."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.cell import CellLayout, Receptacle, Region
from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid
from rmrl_env.protocols import PlanarPose, ToolPose


def test_a_grid_given_as_a_dict_is_accepted_like_the_dataclass():
    env = gym.make("CellPlatePlace-sim-v0", image_size=(30, 40), grid={"max_xy_mm": 4.0, "step_xy_mm": 2.0})
    assert env.unwrapped.grid == CandidateGrid(max_xy_mm=4.0, step_xy_mm=2.0)
    assert env.action_space.nvec.tolist() == [5, 5, 21]
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": {"max_xy": 4.0}}, r"grid has unknown field\(s\) \['max_xy'\]"),
        ({"grid": [4.0, 1.0]}, "grid must be a CandidateGrid or a dict"),
        ({"grid_max_xy_mm": "ten"}, "grid_max_xy_mm must be a number, got 'ten'"),
        ({"grid_step_xy_mm": 1e-5}, "candidates per axis; at most 1001"),
        ({"cell_seed": -3}, "cell_seed must be a whole number >= 0, got -3"),
        ({"cell_seed": 1.5}, "cell_seed must be a whole number >= 0"),
        ({"simulate_free_space": "false"}, r"simulate_free_space must be true or false \(a boolean\), got 'false'"),
    ],
)
def test_bad_make_kwargs_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        gym.make("CellPlatePlace-sim-v0", image_size=(30, 40), **kwargs)


def test_reset_options_must_be_a_dict_and_the_yaw_must_be_in_range(place_env):
    with pytest.raises(ValueError, match="reset options must be a dict"):
        place_env.reset(options="same")
    region = place_env.unwrapped.backend.layout.reset_region
    if region.yaw_rad[1] - region.yaw_rad[0] < math.pi - 0.05:
        x, y = np.mean(region.x_m), np.mean(region.y_m)
        with pytest.raises(ValueError, match="yaw .* is outside the reset region's yaw range"):
            place_env.reset(options={"initial_pose": [x, y, region.yaw_rad[1] + math.radians(10)]})
    assert region.contains_yaw(region.yaw_rad[0]) and region.contains_yaw(region.yaw_rad[1])


def test_yaw_range_counts_modulo_a_half_turn():
    narrow = Region((0.3, 0.4), (-0.3, -0.1), (math.radians(80), math.radians(100)))
    assert narrow.contains_yaw(math.radians(-85))  # the same outline as 95°
    assert not narrow.contains_yaw(0.0)
    assert Region((0.3, 0.4), (-0.3, -0.1), (-math.pi / 2, math.pi / 2)).contains_yaw(1.2)


def test_a_reset_region_that_reaches_a_receptacle_is_refused():
    box = Receptacle("box", PlanarPose(0.40, 0.20, 0.0), 0.0, 0.003)
    home = ToolPose(0.2, 0.0, 0.3, 0.0)
    CellLayout(0.0, home, Region((0.3, 0.5), (-0.30, 0.04), (0.0, 0.0)), {"box": box})  # 160 mm clear: fine
    with pytest.raises(ConfigError, match="reset region .* comes within 100 mm of the 'box' receptacle"):
        CellLayout(0.0, home, Region((0.3, 0.5), (-0.30, 0.10), (0.0, 0.0)), {"box": box})
