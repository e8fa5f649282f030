"""PPO over the denoising steps, the value estimate Ĵ and the OPE gate."""

from __future__ import annotations

import copy

import pytest
import torch as th

from rmrl_agents.rl100 import Critics, ope_gate, paired_q, ppo_denoising_loss, ppo_update

from .conftest import ACTION_DIM, COND_DIM, Trained, conditions, optimal_action, train_imitation

NOISE = 0.3  # std of the behaviour data around a*(c)


def reward(cond: th.Tensor, actions: th.Tensor) -> th.Tensor:
    """R = exp(-‖a - a*(c)‖² / 0.2), in (0, 1]."""
    return th.exp(-((actions - optimal_action(cond)) ** 2).sum(-1) / 0.2)


def noisy_behaviour(cond: th.Tensor) -> th.Tensor:
    gen = th.Generator().manual_seed(int(cond.shape[0]))
    return (optimal_action(cond) + NOISE * th.randn(cond.shape[0], ACTION_DIM, generator=gen)).clamp(-1, 1)


# -- the surrogate ---------------------------------------------------------------------------------
def test_surrogate_at_ratio_one_is_minus_k_times_the_mean_advantage() -> None:
    logp = th.randn(8, 5, requires_grad=True)
    adv = th.randn(8)
    loss, stats = ppo_denoising_loss(logp, logp.detach(), adv, clip_eps=0.2)
    assert float(loss.detach()) == pytest.approx(-5 * float(adv.mean()), abs=1e-6)
    assert stats.clip_fraction == 0.0 and stats.ratio_mean == pytest.approx(1.0)
    loss.backward()
    assert logp.grad is not None  # gradient A_b / B on every step of sample b
    th.testing.assert_close(logp.grad, -(adv / 8).unsqueeze(-1).expand(8, 5))


def test_clipped_steps_give_no_gradient() -> None:
    old = th.zeros(2, 3)
    new = th.tensor([[0.5, 0.0, -0.5], [0.5, 0.0, -0.5]], requires_grad=True)  # ratios e^0.5, 1, e^-0.5
    loss, stats = ppo_denoising_loss(new, old, th.tensor([1.0, -1.0]), clip_eps=0.2)
    loss.backward()
    assert new.grad is not None
    # A > 0: a ratio above 1 + ε is clipped; A < 0: a ratio below 1 - ε is clipped
    assert new.grad[0, 0] == 0 and new.grad[0, 2] != 0
    assert new.grad[1, 2] == 0 and new.grad[1, 0] != 0
    assert stats.clip_fraction == pytest.approx(4 / 6)


def test_surrogate_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        ppo_denoising_loss(th.zeros(4, 5), th.zeros(4, 6), th.zeros(4))
    with pytest.raises(ValueError, match="advantages"):
        ppo_denoising_loss(th.zeros(4, 5), th.zeros(4, 5), th.zeros(5))
    with pytest.raises(ValueError, match="clip_eps"):
        ppo_denoising_loss(th.zeros(4, 5), th.zeros(4, 5), th.zeros(4), clip_eps=0.0)


# -- the gate ------------------------------------------------------------------------------------
def _q(*values: float) -> th.Tensor:
    return th.tensor(values, dtype=th.float32)


def test_paper_rule_is_five_percent_of_the_old_value() -> None:
    """confidence=None: the paper's Ĵ_new - Ĵ_old ≥ δ = 0.05·|Ĵ_old| on the point estimates."""
    assert ope_gate(_q(1.06, 1.06), _q(1.0, 1.0), 0.05, confidence=None).accepted
    assert not ope_gate(_q(1.04), _q(1.0), 0.05, confidence=None).accepted
    decision = ope_gate(_q(-0.95), _q(-1.0), 0.05, confidence=None)  # negative values: δ = 0.05·|Ĵ_old|
    assert decision.accepted and decision.delta == pytest.approx(0.05)
    assert ope_gate(_q(0.971), _q(0.97), 0.05, scale=0.01, confidence=None).accepted  # δ = 0.05 · 0.01
    assert not ope_gate(_q(0.9703), _q(0.97), 0.05, scale=0.01, confidence=None).accepted
    with pytest.raises(ValueError, match="delta_rel"):
        ope_gate(_q(1.0), _q(1.0), delta_rel=-0.1)
    with pytest.raises(ValueError, match="scale"):
        ope_gate(_q(1.0), _q(1.0), scale=-0.01)


def test_bound_needs_a_consistent_gain_not_a_mean_one() -> None:
    """A gain on every state passes; the same mean gain from one state of 40 does not."""
    steady = ope_gate(_q(*[0.51] * 40), _q(*[0.5] * 40))
    assert steady.accepted and steady.lower == pytest.approx(0.01, abs=1e-6)
    lucky = ope_gate(_q(0.9, *[0.5] * 39), _q(*[0.5] * 40))
    assert lucky.value_new - lucky.value_old == pytest.approx(0.01, abs=1e-6) and not lucky.accepted


def _fit_critics(cond: th.Tensor, actions: th.Tensor, rewards: th.Tensor) -> Critics:
    th.manual_seed(1)
    critics = Critics(COND_DIM, ACTION_DIM, hidden=(64, 64))
    opt = th.optim.Adam(critics.parameters(), lr=3e-3)
    gen = th.Generator().manual_seed(1)
    for _ in range(1500):
        idx = th.randint(0, cond.shape[0], (256,), generator=gen)
        loss = critics.q_loss(cond[idx], actions[idx], rewards[idx]) + critics.v_loss(cond[idx], actions[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return critics


@pytest.fixture(scope="module")
def offline_setup() -> tuple[Trained, Critics, th.Tensor]:
    """A behaviour policy imitating noisy actions, and critics fitted to its logged rewards."""
    behaviour = train_imitation(noisy_behaviour)
    cond = behaviour.cond
    actions = noisy_behaviour(cond)
    return behaviour, _fit_critics(cond, actions, reward(cond, actions)), cond


def _step(opt: th.optim.Optimizer):
    def step(loss: th.Tensor) -> None:
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _candidate(behaviour: Trained, critics: Critics, cond: th.Tensor, sign: float, iterations: int = 3):
    """PPO over the denoising steps from the behaviour policy with advantages A = Q - V (sign +1)
    or deliberately reversed ones (sign -1): chains are sampled by the policy at the data's states."""
    model = copy.deepcopy(behaviour.model)
    sampler = behaviour.sampler
    opt = th.optim.Adam(model.parameters(), lr=3e-4)
    gen = th.Generator().manual_seed(2)
    for _ in range(iterations):
        with th.no_grad():
            actions, chain = sampler.sample(model, cond, ACTION_DIM, generator=gen)
            old = sampler.log_prob(model, chain, cond)
            adv = critics.advantage(cond, actions.clamp(-1, 1))
            adv = sign * (adv - adv.mean()) / (adv.std() + 1e-8)
        stats = ppo_update(model, sampler, _step(opt), cond, chain, old, adv, clip_eps=0.2, epochs=2, generator=gen)
        assert stats["approx_kl"] >= 0
    return model


def _act(model, sampler):
    return lambda c, gen: sampler.sample(model, c, ACTION_DIM, generator=gen)[0].clamp(-1, 1)


def _gate(new, old, sampler, critics: Critics, states: th.Tensor, seed: int = 3, **kwargs):
    q_new, q_old = paired_q(_act(new, sampler), _act(old, sampler), critics.q, states, q_range=(0.0, 1.0), seed=seed)
    return ope_gate(q_new, q_old, seed=seed, **kwargs)


def test_an_identical_copy_is_rejected(offline_setup) -> None:
    """Common random numbers make the copy's per-state difference exactly 0: never above the bound's 0
    (scored with independent noise and compared by point estimates, copies passed 3 of 20 times)."""
    behaviour, critics, _ = offline_setup
    copy_model = copy.deepcopy(behaviour.model)
    states = conditions(50, seed=78)
    accepted = [_gate(copy_model, behaviour.model, behaviour.sampler, critics, states, seed=s).accepted for s in range(20)]
    assert sum(accepted) <= 1, accepted


def test_q_is_clamped_to_the_rewards_range(offline_setup) -> None:
    behaviour, critics, _ = offline_setup
    states = conditions(64, seed=79)
    act = _act(behaviour.model, behaviour.sampler)
    q_raw, _ = paired_q(act, act, critics.q, states, seed=0)
    q_clamped, _ = paired_q(act, act, critics.q, states, q_range=(0.2, 0.6), seed=0)
    assert float(q_raw.max()) > 0.6  # the test can fail
    assert float(q_clamped.min()) >= 0.2 and float(q_clamped.max()) <= 0.6 + 1e-6


def test_ope_gate_accepts_the_ppo_improved_policy_and_rejects_a_worse_one(offline_setup) -> None:
    behaviour, critics, cond = offline_setup
    states = conditions(512, seed=77)
    better = _candidate(behaviour, critics, cond, sign=1.0)
    worse = _candidate(behaviour, critics, cond, sign=-1.0)
    assert _gate(better, behaviour.model, behaviour.sampler, critics, states).accepted
    assert not _gate(worse, behaviour.model, behaviour.sampler, critics, states).accepted
    # the estimate agrees with the true reward of the policies (ground truth of the generated task)
    gen = th.Generator().manual_seed(4)
    with th.no_grad():
        true = {
            name: float(reward(states, behaviour.sampler.sample(m, states, ACTION_DIM, generator=gen)[0].clamp(-1, 1)).mean())
            for name, m in (("old", behaviour.model), ("better", better), ("worse", worse))
        }
    assert true["better"] > true["old"] > true["worse"], true


def bench_reward(cond: th.Tensor, actions: th.Tensor) -> th.Tensor:
    """The same task on the benchmark's reward scale: R in (0.95, 1], as the sim's rewards of
    policies that seat the plate (a 2 mm error gives 0.98)."""
    return 0.95 + 0.05 * reward(cond, actions)


def test_gate_on_the_benchmarks_reward_scale(offline_setup) -> None:
    """The paper's δ = 0.05·|Ĵ| exceeds everything a policy can gain when rewards lie near 1, so it
    rejects even a better candidate; the bound (δ = 0) accepts the better one and rejects the worse."""
    behaviour, _, cond = offline_setup
    actions = noisy_behaviour(cond)
    critics = _fit_critics(cond, actions, bench_reward(cond, actions))
    states = conditions(512, seed=77)
    better, worse = _candidate(behaviour, critics, cond, sign=1.0), _candidate(behaviour, critics, cond, sign=-1.0)
    paper = _gate(better, behaviour.model, behaviour.sampler, critics, states, delta_rel=0.05, confidence=None)
    assert not paper.accepted and paper.delta > 1.0 - paper.value_old  # no candidate could pass: R ≤ 1
    assert _gate(better, behaviour.model, behaviour.sampler, critics, states).accepted
    assert not _gate(worse, behaviour.model, behaviour.sampler, critics, states).accepted
