"""The stochastic DDIM sampler: schedule, per-step Gaussian sub-policies and their log-likelihoods."""

from __future__ import annotations

import math

import pytest
import torch as th

from rmrl_agents.rl100 import DDIMSampler, Denoiser, make_alpha_bar


def _random_denoiser(seed: int = 0) -> Denoiser:
    th.manual_seed(seed)
    return Denoiser(3, 4, hidden=(32, 32), step_embed_dim=8, cond_embed_dim=16)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_schedule_decreases_from_clean_to_noise(kind: str) -> None:
    a = make_alpha_bar(100, kind)  # type: ignore[arg-type]
    assert a.shape == (101,) and a[0] == 1.0
    assert bool(th.all(a[1:] < a[:-1]))
    assert a[-1] < 0.01  # the last index is (almost) pure noise


def test_top_step_keeps_signal() -> None:
    """Leading spacing with offset 1: τ = 0, 1, 21, 41, 61, 81 for K = 5, T = 100, and the top step's
    x̂_0 is amplified by 1/√ᾱ ≈ 3.4 (τ_K = T gave ᾱ = 2.4e-7, 1/√ᾱ ≈ 2000)."""
    sampler = DDIMSampler(n_steps=5)
    assert sampler.timesteps.tolist() == [0, 1, 21, 41, 61, 81]
    assert 0.05 < float(sampler.alpha_bar[sampler.timesteps[-1]]) < 0.2


@pytest.mark.parametrize("sigma_min", [0.01, 0.1, 0.3])
def test_every_denoising_step_has_a_gradient_and_none_swamps_the_others(imitation_policy, sigma_min: float) -> None:
    """The gradient of each step's weighted log-likelihood w_k·Σ_b log π_k over chains the policy
    samples: non-zero for every step, and no step's norm above 10× the median."""
    model, sampler = imitation_policy.model, DDIMSampler(n_steps=5, sigma_min=sigma_min)
    cond = imitation_policy.cond[:256]
    with th.no_grad():
        _, chain = sampler.sample(model, cond, 3, generator=th.Generator().manual_seed(3))
    norms = []
    for j in range(sampler.n_steps):
        model.zero_grad()
        term = sampler.step_weights[j] * sampler.log_prob(model, chain, cond)[:, j].sum()
        term.backward()
        norms.append(float(th.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).norm()))
    model.zero_grad()
    median = sorted(norms)[len(norms) // 2]
    assert min(norms) > 0 and max(norms) <= 10 * median, norms


def test_sigmas_are_positive_and_respect_the_ddim_bound() -> None:
    sampler = DDIMSampler(n_steps=8, sigma_min=0.01, sigma_max=0.8)
    assert sampler.timesteps.tolist()[0] == 0 and sampler.timesteps.tolist()[-1] == 89
    for k in range(1, 9):
        sigma = sampler.sigma(k)
        assert 0.01 - 1e-7 <= sigma <= 0.8 + 1e-7
        m = int(sampler.timesteps[k - 1])
        bound = math.sqrt(1 - float(sampler.alpha_bar[m]))
        if bound >= 0.01:  # wherever σ_min allows it, σ_k ≤ √(1 - ᾱ_m)
            assert sigma <= bound + 1e-6


def test_step_log_prob_is_the_density_of_the_gaussian_it_samples_from() -> None:
    model, sampler = _random_denoiser(), DDIMSampler(n_steps=5)
    cond = th.rand(16, 4) * 2 - 1
    with th.no_grad():
        _, chain = sampler.sample(model, cond, 3, generator=th.Generator().manual_seed(1))
        logp = sampler.log_prob(model, chain, cond)
        assert logp.shape == (16, 5)
        for j, k in enumerate(range(5, 0, -1)):
            mean = sampler.step_mean(model, chain[:, j], k, cond)
            normal = th.distributions.Normal(mean, sampler.sigma(k))
            th.testing.assert_close(logp[:, j], normal.log_prob(chain[:, j + 1]).sum(-1), rtol=1e-4, atol=1e-3)


def test_samples_of_a_step_follow_its_mean_and_sigma() -> None:
    """Many chains from one start noise: the first step's outputs have mean μ_θ and std σ_K."""
    model, sampler = _random_denoiser(), DDIMSampler(n_steps=5)
    n = 20_000
    cond = (th.rand(1, 4) * 2 - 1).expand(n, 4)
    start = th.randn(1, 3).expand(n, 3)
    with th.no_grad():
        _, chain = sampler.sample(model, cond, 3, noise=start, generator=th.Generator().manual_seed(2))
        mean = sampler.step_mean(model, start[:1], 5, cond[:1])[0]
    first = chain[:, 1]
    sigma = sampler.sigma(5)
    assert th.allclose(first.mean(0), mean, atol=4 * sigma / math.sqrt(n))
    assert th.allclose(first.std(0), th.full((3,), sigma), rtol=0.03)


def test_deterministic_sampling_follows_the_means_and_is_reproducible() -> None:
    model, sampler = _random_denoiser(), DDIMSampler(n_steps=5)
    cond, noise = th.rand(8, 4), th.randn(8, 3)
    with th.no_grad():
        a1, chain = sampler.sample(model, cond, 3, deterministic=True, noise=noise)
        a2, _ = sampler.sample(model, cond, 3, deterministic=True, noise=noise)
        assert th.equal(a1, a2)
        for j, k in enumerate(range(5, 0, -1)):
            assert th.allclose(chain[:, j + 1], sampler.step_mean(model, chain[:, j], k, cond, deterministic=True))
        # denoise_from(K) is the same deterministic chain
        k_all = th.full((8,), 5, dtype=th.long)
        assert th.allclose(sampler.denoise_from(model, noise, k_all, cond), a1)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_k_below_one_or_not_an_integer_is_refused(bad) -> None:
    with pytest.raises(ValueError, match="denoising steps K must be an integer ≥ 1"):
        DDIMSampler(n_steps=bad)


def test_bad_sigma_range_is_refused() -> None:
    with pytest.raises(ValueError, match="sigma_min"):
        DDIMSampler(sigma_min=0.0)
    with pytest.raises(ValueError, match="n_diffusion_steps"):
        DDIMSampler(n_steps=20, n_diffusion_steps=10)


def test_log_prob_refuses_a_chain_of_another_length() -> None:
    model, sampler = _random_denoiser(), DDIMSampler(n_steps=5)
    with pytest.raises(ValueError, match="6 entries"):
        sampler.log_prob(model, th.zeros(2, 4, 3), th.zeros(2, 4))


@pytest.mark.parametrize("sigma_min", [0.01, 0.3])
def test_a_posterior_chain_is_the_samplers_own_chain_when_it_knows_the_action(sigma_min: float) -> None:
    """posterior_chain(x0) starts from the forward process at τ_K and then draws what sample()
    draws from there with a denoiser that predicts the true noise towards x0 (the same random
    numbers give the same chain), except that it ends at x0 itself."""
    sampler = DDIMSampler(n_steps=5)
    sampler.set_sigma_min(sigma_min)
    x0 = th.tensor([[0.4, -0.7, 0.1]]).repeat(64, 1)

    def oracle_for(target: th.Tensor):
        def eps(x: th.Tensor, t: th.Tensor, cond: th.Tensor) -> th.Tensor:
            a = sampler.alpha_bar[t].unsqueeze(-1)
            return (x - a.sqrt() * target) / (1 - a).sqrt()

        return eps

    oracle = oracle_for(x0[:1])

    cond = th.zeros(64, 2)
    gen = th.Generator().manual_seed(7)
    a_top = sampler.alpha_bar[sampler.timesteps[-1]]
    start = a_top.sqrt() * x0 + (1 - a_top).sqrt() * th.randn(x0.shape, generator=gen)
    action, sampled = sampler.sample(oracle, cond, 3, noise=start, generator=gen)
    posterior = sampler.posterior_chain(x0, generator=th.Generator().manual_seed(7))
    assert posterior.shape == sampled.shape == (64, 6, 3)
    th.testing.assert_close(posterior[:, :-1], sampled[:, :-1], atol=1e-5, rtol=1e-5)
    assert th.equal(posterior[:, -1], x0)
    assert not th.allclose(action, x0, atol=1e-3)  # the sampled chain's last step adds its own σ_1 noise
    logp = sampler.log_prob(oracle, posterior, cond)
    elsewhere = sampler.log_prob(oracle_for(-x0[:1]), posterior, cond)
    assert logp.shape == (64, 5) and bool(th.isfinite(logp).all())
    assert float(logp.sum(1).mean()) > float(elsewhere.sum(1).mean()) + 5.0  # it scores how likely x0 is
