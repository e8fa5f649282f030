"""The one-step consistency head distilled from the frozen K-step DDIM teacher."""

from __future__ import annotations

import pytest
import torch as th

from rmrl_agents.rl100 import ConsistencyHead, distillation_loss

from .conftest import ACTION_DIM, COND_DIM, Trained, conditions, optimal_action

TOLERANCE = 0.03  # RMS action difference to the teacher, in the normalised units ([-1, 1] = the grid's range)


def _distil(teacher: Trained, steps: int, with_data: bool) -> ConsistencyHead:
    th.manual_seed(5)
    head = ConsistencyHead(ACTION_DIM, COND_DIM, hidden=(128, 128), step_embed_dim=16, cond_embed_dim=64)
    opt = th.optim.Adam(head.parameters(), lr=2e-3)
    gen = th.Generator().manual_seed(5)
    cond = teacher.cond
    data = optimal_action(cond)
    for _ in range(steps):
        idx = th.randint(0, cond.shape[0], (256,), generator=gen)
        actions = data[idx] if with_data else None
        loss = distillation_loss(head, teacher.model, teacher.sampler, cond[idx], actions, generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head.eval()


def _rms_to_teacher(head: ConsistencyHead, teacher: Trained, cond: th.Tensor, noise: th.Tensor) -> float:
    with th.no_grad():
        target, _ = teacher.sampler.sample(teacher.model, cond, ACTION_DIM, deterministic=True, noise=noise)
        one_step = head.act(teacher.sampler, cond, noise=noise)
    return float(((one_step - target) ** 2).mean().sqrt())


@pytest.mark.parametrize("with_data", [False, True])
def test_head_matches_its_teacher_on_held_out_conditions(imitation_policy: Trained, with_data: bool) -> None:
    """From the same start noise a^{τ_K}, one head evaluation lands within 0.03 RMS of the K-step
    deterministic teacher on conditions it never saw; an untrained head does not."""
    cond = conditions(512, seed=55)
    noise = th.randn(512, ACTION_DIM, generator=th.Generator().manual_seed(6))
    untrained = _distil(imitation_policy, 0, with_data)
    assert _rms_to_teacher(untrained, imitation_policy, cond, noise) > 0.2
    head = _distil(imitation_policy, 600, with_data)
    rms = _rms_to_teacher(head, imitation_policy, cond, noise)
    assert rms < TOLERANCE, f"RMS {rms:.4f} to the teacher"
    # deterministic mode (zero noise) is reproducible and also close to the teacher's
    with th.no_grad():
        a1 = head.act(imitation_policy.sampler, cond, deterministic=True)
        a2 = head.act(imitation_policy.sampler, cond, deterministic=True)
    assert th.equal(a1, a2)
    assert _rms_to_teacher(head, imitation_policy, cond, th.zeros(512, ACTION_DIM)) < TOLERANCE


def test_teacher_gets_no_gradient(imitation_policy: Trained) -> None:
    head = ConsistencyHead(ACTION_DIM, COND_DIM, hidden=(16,), step_embed_dim=8, cond_embed_dim=8)
    imitation_policy.model.zero_grad()
    loss = distillation_loss(head, imitation_policy.model, imitation_policy.sampler, conditions(8, 1))
    loss.backward()
    assert all(p.grad is None for p in imitation_policy.model.parameters())
    assert any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in head.parameters())
