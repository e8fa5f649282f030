"""Generated data and a small imitation-trained DDIM policy shared by the RL100 tests.

The "task": conditions c ∈ [-1, 1]^4 (stand-ins for trunk features) and a known smooth
optimal action a*(c) ∈ [-0.75, 0.75]^3 that varies with c.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch as th

from rmrl_agents.rl100 import DDIMSampler, Denoiser, imitation_loss

COND_DIM, ACTION_DIM = 4, 3


def optimal_action(cond: th.Tensor) -> th.Tensor:
    """a*(c) (B, 3) for conditions (B, 4)."""
    return th.stack(
        [0.6 * th.sin(1.5 * cond[:, 0]) + 0.15 * cond[:, 3], 0.5 * cond[:, 1] * cond[:, 2], -0.7 * th.tanh(2 * cond[:, 2])],
        dim=-1,
    )


def conditions(n: int, seed: int) -> th.Tensor:
    return th.rand(n, COND_DIM, generator=th.Generator().manual_seed(seed)) * 2 - 1


@dataclass
class Trained:
    """An imitation-trained denoiser, its sampler and the training conditions."""

    model: Denoiser
    sampler: DDIMSampler
    cond: th.Tensor


def train_imitation(actions_of, n_steps: int = 1000, seed: int = 0, k: int = 5) -> Trained:
    """Fit a small denoiser by the noise-prediction loss to (c, actions_of(c)) on 2048 conditions."""
    th.manual_seed(seed)
    cond = conditions(2048, seed)
    actions = actions_of(cond)
    model = Denoiser(ACTION_DIM, COND_DIM, hidden=(128, 128), step_embed_dim=16, cond_embed_dim=64)
    sampler = DDIMSampler(n_steps=k)
    opt = th.optim.Adam(model.parameters(), lr=2e-3)
    gen = th.Generator().manual_seed(seed)
    for _ in range(n_steps):
        idx = th.randint(0, cond.shape[0], (256,), generator=gen)
        loss = imitation_loss(model, sampler, actions[idx], cond[idx], generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return Trained(model, sampler, cond)


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread() -> Iterator[None]:
    """Tiny networks on a shared 2-core machine: one thread is fastest (two-thread kernels
    spin-wait). Package scope, so that it is set before the module-scoped training fixtures;
    restored after this folder."""
    before = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(before)


@pytest.fixture(scope="module")
def imitation_policy() -> Trained:
    """A DDIM policy imitating a*(c) exactly (K = 5)."""
    return train_imitation(optimal_action)
