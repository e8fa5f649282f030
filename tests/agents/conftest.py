"""Shared fixtures and constants of the agents tests: a tiny policy and the synthetic env."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import pytest
import torch

from rmrl_agents.common.envs import SYNTHETIC_ENV_ID, register_synthetic_env

register_synthetic_env()

#: a small policy for tests: the same architecture with fewer channels
TINY_POLICY_KWARGS: dict[str, Any] = {
    "resnet_depth": 10,
    "resnet_width": 8,
    "pose_hidden": [64, 64],
    "head_hidden": [64],
}
#: seed of the evaluation scenes (the same scenes for every evaluation of a test)
EVAL_SEED = 12345


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The tests' networks are tiny, and on a shared 2-core machine two-thread kernels
    spin-wait (several times slower); restored afterwards for other test folders."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_policy() -> dict:
    """A small policy so that tests learn in seconds (same architecture, fewer channels)."""
    return dict(TINY_POLICY_KWARGS)


@pytest.fixture
def make_env():
    def _make(**kwargs) -> gym.Env:
        return gym.make(SYNTHETIC_ENV_ID, **kwargs)

    return _make
