"""The plate crop on the twin: the real drivers' frame and the calibration file's extrinsics give the
same crop as the sim, with the plate in its middle."""

from __future__ import annotations

import numpy as np
import pytest

from rmrl_env.perception.plate_crop import PLATE_CROP_KEY

from .twin_env import make_twin

pytest.importorskip("xarm")
pytest.importorskip("pyrealsense2")
pytestmark = [pytest.mark.real, pytest.mark.slow]


def test_the_twins_crop_has_the_sims_shape_and_the_plate_in_its_middle():
    env = make_twin(plate_crop=True)
    try:
        assert env.observation_space[PLATE_CROP_KEY].shape == (75, 100, 3)
        obs, _ = env.reset(seed=3)
        crop = obs[PLATE_CROP_KEY]
        assert env.observation_space.contains(obs)
        rows, cols = np.nonzero(crop.max(axis=-1) < 60)  # the dark plate on the light bench
        h, w, _ = crop.shape
        assert abs(cols.mean() - (w - 1) / 2) < 2.0 and abs(rows.mean() - (h - 1) / 2) < 2.0
        assert np.ptp(cols) > np.ptp(rows)  # turned to the plate's yaw: its long side across the crop
    finally:
        env.close()
