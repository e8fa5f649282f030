"""The candidate grid and the reward, checked exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid
from rmrl_env.protocols import PlanarPose, wrap_half_turn
from rmrl_env.reward import placement_error, reward, reward_for_error_mm


def test_default_grid_is_12_mm_and_5_degrees_in_mm_and_half_degrees():
    grid = CandidateGrid()
    assert grid.nvec.tolist() == [25, 25, 21]
    assert grid.dx_m[0] == pytest.approx(-0.012) and grid.dx_m[-1] == pytest.approx(0.012)
    assert np.diff(grid.dx_m) == pytest.approx(np.full(24, 0.001))
    assert np.degrees(np.diff(grid.dyaw_rad)) == pytest.approx(np.full(20, 0.5))
    assert grid.to_adjustment(grid.zero_action()) == pytest.approx([0.0, 0.0, 0.0])


def test_adjustment_round_trip_and_nearest():
    grid = CandidateGrid()
    action = grid.to_action(0.0034, -0.0071, math.radians(1.3))
    assert action.tolist() == [15, 5, 13]
    assert grid.to_adjustment(action) == pytest.approx([0.003, -0.007, math.radians(1.5)])
    # up to half a step beyond the edge: the edge candidate; farther only when asked to clip
    assert grid.to_action(0.0124, -0.0124, math.radians(5.2)).tolist() == [24, 0, 20]
    assert grid.to_action(0.5, -0.5, 1.0, clip=True).tolist() == [24, 0, 20]


@pytest.mark.parametrize("adjustment", [(0.5, 0.0, 0.0), (0.0, -0.013, 0.0), (0.0, 0.0, math.radians(5.3)), (0.0, 0.0, 5.0)])
def test_an_adjustment_beyond_the_grid_is_refused_naming_the_range(adjustment):
    """0.5 (millimetres taken for metres) is not silently clipped to the grid's edge."""
    with pytest.raises(ValueError, match=r"outside the grid's ±12 mm and ±5° .*give metres and radians"):
        CandidateGrid().to_action(*adjustment)


@pytest.mark.parametrize("bad", [[25, 0, 0], [0, 0, 21], [-1, 3, 3], [1, 2], [0.5, 1, 1], [np.nan, 1, 1], "abc"])
def test_invalid_actions_name_the_grid(bad):
    with pytest.raises(ValueError, match=r"MultiDiscrete\(\[25, 25, 21\]\)"):
        CandidateGrid().validate(bad)


def test_bad_grid_configs_fail_at_construction():
    with pytest.raises(ConfigError, match="whole number"):
        CandidateGrid(max_xy_mm=10.0, step_xy_mm=3.0)
    with pytest.raises(ConfigError, match="step > 0"):
        CandidateGrid(step_yaw_deg=0.0)


def test_reward_matches_the_papers_tables_with_L_0_1_m():
    # Table 2 pairs (e_trans mm -> reported reward) are reproduced by exp(-(e/L)) with L = 0.1 m.
    for e_mm, expected in [(2.1, 0.979), (3.0, 0.970), (3.6, 0.965), (5.8, 0.944)]:
        assert reward_for_error_mm(e_mm) == pytest.approx(expected, abs=1.5e-3)
    assert reward_for_error_mm(0.0) == 1.0
    assert reward_for_error_mm(2.0, length_scale_m=0.01) == pytest.approx(math.exp(-0.2))


def test_placement_error_treats_the_plate_as_half_turn_symmetric():
    target = PlanarPose(0.4, 0.2, 0.0)
    err = placement_error(PlanarPose(0.403, 0.204, math.pi - math.radians(1.0)), target)
    assert err.e_trans_mm == pytest.approx(5.0)
    assert err.e_rot_deg == pytest.approx(1.0)
    assert reward(err) == pytest.approx(math.exp(-(0.05 + 1 - math.cos(math.radians(1.0)))))
    assert wrap_half_turn(math.radians(100)) == pytest.approx(math.radians(-80))
