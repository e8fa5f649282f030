"""IQL-style critics for one-step episodes: Q regresses the reward, V is an expectile of Q."""

from __future__ import annotations

import pytest
import torch as th

from rmrl_agents.rl100 import Critics, expectile_loss

N_STATES, PER_STATE = 6, 64


def _data(seed: int = 0) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """One-hot states, 64 logged actions each, reward R = 1 - ‖a - a*(s)‖² (deterministic)."""
    gen = th.Generator().manual_seed(seed)
    best = th.rand(N_STATES, 2, generator=gen) - 0.5
    states = th.eye(N_STATES).repeat_interleave(PER_STATE, dim=0)
    actions = th.rand(N_STATES * PER_STATE, 2, generator=gen) * 2 - 1
    rewards = 1 - ((actions - best.repeat_interleave(PER_STATE, dim=0)) ** 2).sum(-1)
    return states, actions, rewards


def _fit(loss_fn, params, steps: int, lr: float = 1e-2) -> None:
    opt = th.optim.Adam(params, lr=lr)
    for _ in range(steps):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.fixture(scope="module")
def fitted_q() -> tuple[Critics, th.Tensor, th.Tensor, th.Tensor]:
    th.manual_seed(0)
    states, actions, rewards = _data()
    critics = Critics(N_STATES, 2, hidden=(32, 32), n_q=2)
    _fit(lambda: critics.q_loss(states, actions, rewards), critics.qs.parameters(), 600)
    return critics, states, actions, rewards


def test_q_regresses_the_reward(fitted_q) -> None:
    critics, states, actions, rewards = fitted_q
    with th.no_grad():
        q = critics.q(states, actions)
    assert float(((q - rewards) ** 2).mean().sqrt()) < 0.1 * float(rewards.std())


def test_expectile_v_moves_from_the_mean_to_the_max_of_q(fitted_q) -> None:
    """For each state: mean_a Q ≤ V ≤ max_a Q (over the logged actions), V(0.5) ≈ the mean,
    V rises with the expectile and V(0.99) lies nearer the max than the mean."""
    critics, states, actions, _ = fitted_q
    with th.no_grad():
        q = critics.q(states, actions).view(N_STATES, PER_STATE)
    q_mean, q_max = q.mean(1), q.max(1).values
    values = {}
    for expectile in (0.5, 0.8, 0.95, 0.99):
        critics.expectile = expectile
        th.nn.init.zeros_(critics.v_net[-1].weight)
        _fit(lambda: critics.v_loss(states, actions), critics.v_net.parameters(), 400)
        with th.no_grad():
            values[expectile] = critics.v(th.eye(N_STATES))
    tol = 0.02
    for v in values.values():
        assert bool(th.all(v >= q_mean - tol)) and bool(th.all(v <= q_max + tol))
    assert th.allclose(values[0.5], q_mean, atol=tol)
    for lo, hi in [(0.5, 0.8), (0.8, 0.95), (0.95, 0.99)]:
        assert bool(th.all(values[hi] > values[lo]))
    assert bool(th.all(q_max - values[0.99] < values[0.99] - q_mean))


def test_advantage_is_q_minus_v_without_gradient(fitted_q) -> None:
    critics, states, actions, _ = fitted_q
    adv = critics.advantage(states[:10], actions[:10])
    assert not adv.requires_grad
    with th.no_grad():
        assert th.allclose(adv, critics.q(states[:10], actions[:10]) - critics.v(states[:10]))


def test_expectile_loss_weights_the_two_sides() -> None:
    diff = th.tensor([1.0, -1.0])
    assert float(expectile_loss(diff, 0.9)) == pytest.approx((0.9 + 0.1) / 2)
    assert float(expectile_loss(th.tensor([2.0]), 0.7)) == pytest.approx(0.7 * 4)
    with pytest.raises(ValueError, match="expectile"):
        expectile_loss(diff, 1.0)
    with pytest.raises(ValueError, match="expectile"):
        Critics(4, 2, expectile=0.0)
    with pytest.raises(ValueError, match="n_q"):
        Critics(4, 2, n_q=0)
