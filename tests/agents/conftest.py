"""Shared fixtures of the agents tests: a tiny policy and the synthetic env."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import pytest
import torch

import rmrl_agents  # noqa: F401  (registers rmrl_agents/SyntheticPlate-v0)
from rmrl_agents.testing import TINY_POLICY_KWARGS


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
        return gym.make("rmrl_agents/SyntheticPlate-v0", **kwargs)

    return _make
