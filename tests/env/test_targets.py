"""P^target per plate type is chosen by what the camera measures, never by the sim's ground truth."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rmrl_env  # noqa: F401


@pytest.mark.parametrize("env_id", ["CellPlatePlace-sim-v0", "CellPlateShelf-sim-v0"])
def test_the_target_follows_the_measured_plate_height(env_id, monkeypatch):
    env = gym.make(env_id, image_size=(30, 40)).unwrapped
    try:
        name = env.receptacle.name
        assert {name, f"{name}:deep_well"} <= set(env.backend.targets)  # one target per plate type
        seen_types = set()
        for k in range(8):
            _, info = env.reset(seed=k)
            plate = info["privileged"]["plate_type"]
            seen_types.add(plate)
            expected = env.backend.targets[name if plate == "standard" else f"{name}:{plate}"]
            assert env._target(env._estimate) is expected
        assert seen_types == {"standard", "deep_well"}
        # A step never asks the ground truth which plate it is.
        env.reset(seed=0)

        def no_peeking() -> str:
            raise AssertionError("the reward's target must not come from ground truth")

        monkeypatch.setattr(env.backend.ground_truth, "plate_type", no_peeking)
        monkeypatch.setattr(env, "_privileged", lambda after_step=False: {})
        _, reward, terminated, _, info = env.step(env.grid.zero_action())
        assert terminated and 0.0 <= reward <= 1.0
    finally:
        env.close()
