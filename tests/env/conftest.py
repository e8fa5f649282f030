"""Shared fixtures for the env tests: envs are costly to build (~0.5 s), so share them."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rmrl_env  # noqa: F401
from rmrl_env.sim.error_sources import ErrorSources


@pytest.fixture(scope="module")
def place_env():
    env = gym.make("CellPlatePlace-sim-v0")
    yield env
    env.close()


@pytest.fixture(scope="module")
def ideal_place_env():
    """A perfectly calibrated cell with standard plates: the pick pose error is perspective and pixels only."""
    env = gym.make("CellPlatePlace-sim-v0", errors=ErrorSources.ideal(), plate_mix={"standard": 1.0})
    yield env
    env.close()


@pytest.fixture(scope="module")
def ideal_shelf_env():
    env = gym.make("CellPlateShelf-sim-v0", errors=ErrorSources.ideal(), plate_mix={"standard": 1.0})
    yield env
    env.close()
