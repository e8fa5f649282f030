"""Bad input gets a clear error at the call, naming the problem and what is valid."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.errors import ConfigError, PlateNotFoundError


def test_action_outside_the_space_names_the_grid(place_env):
    place_env.reset(seed=0)
    with pytest.raises(ValueError, match=r"outside the grid.*MultiDiscrete\(\[25, 25, 21\]\)"):
        place_env.step(np.array([25, 0, 0]))
    with pytest.raises(ValueError, match="not finite"):
        place_env.step(np.array([np.nan, 0.0, 0.0]))


def test_step_before_reset_is_refused():
    env = gym.make("CellPlatePlace-sim-v0").unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step(np.array([10, 10, 10]))


def test_unknown_reset_options_are_named(place_env):
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['sceen'\]"):
        place_env.reset(options={"sceen": "same"})
    with pytest.raises(ValueError, match="'new' or 'same'"):
        place_env.reset(options={"scene": "again"})
    with pytest.raises(ValueError, match="outside the reset region"):
        place_env.reset(options={"initial_pose": [1.5, 0.0, 0.0]})
    with pytest.raises(ValueError, match="finite"):
        place_env.reset(options={"initial_pose": [0.4, np.inf, 0.0]})


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"grid_max_xy_mm": 900, "grid_step_xy_mm": 100}, ConfigError, "more than the .* workspace"),
        (
            {"grid_max_xy_mm": 500, "grid_step_xy_mm": 100},
            ConfigError,
            "±500 mm, more than the 350 mm width of the workspace's reset area",
        ),
        ({"image_size": (4000, 10)}, ConfigError, "image_size"),
        ({"reward_length_m": -1.0}, ConfigError, "reward_length_m"),
        ({"tcp_offset_mm": (50.0, 0.0, 0.0)}, ConfigError, "tcp_offset_mm"),
        ({"extrinsic_rot_deg": (0.1, float("nan"), 0.0)}, ConfigError, "finite"),
        ({"gripper_force": 3}, TypeError, r"unknown keyword argument\(s\) \['gripper_force'\]"),
    ],
)
def test_impossible_kwargs_fail_at_make(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        gym.make("CellPlatePlace-sim-v0", **kwargs)


def test_a_plate_the_camera_cannot_see_is_a_clear_error(place_env):
    u = place_env.unwrapped
    place_env.reset(seed=0)
    world = u.backend.drivers.arm.world
    from rmrl_env.protocols import PlanarPose

    world.put_plate(PlanarPose(2.0, 2.0, 0.0), -1.0)  # off the bench, out of view
    world.forward()
    with pytest.raises(PlateNotFoundError, match="not found in 3 captures") as err:
        u.routine.localise()
    # the sim's causes, not the real camera's advice about lighting (logged mid-training)
    assert "in the sim the plate has left the camera's view" in str(err.value) and "lighting" not in str(err.value)


def test_unreachable_pick_ends_the_trial_with_reward_zero_and_no_motion():
    env = gym.make("CellPlatePlace-sim-v0", grid_max_xy_mm=300, grid_step_xy_mm=100).unwrapped
    env.reset(seed=0)
    home = env.backend.drivers.arm.tool_pose()
    _, reward, terminated, _, info = env.step(np.array([6, 0, 10]))  # +0.3 m in x, -0.3 m in y
    assert info["failure"] == "unreachable" and reward == 0.0 and terminated
    assert "outside the arm's reach" in info["message"]
    assert env.backend.drivers.arm.tool_pose() == home
    assert not info["success"] and np.isnan(info["e_trans_mm"])
