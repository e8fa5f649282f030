"""Noise schedule and the K-step stochastic DDIM sampler of the RL100 policy.

Actions live in the env's normalised box [-1, 1]^d (d = 3 for the cell-plate envs:
Δx, Δy, Δψ scaled to the grid's ranges). Diffusion indices follow the DDPM convention:
``alpha_bar[0] = 1`` is the clean action, ``alpha_bar[t] = Π_{s=1..t} (1 - β_s)`` for
t = 1..T. The sampler visits τ_K > ... > τ_1 > τ_0 = 0 with "leading" spacing and an offset of
one, τ_k = (k - 1)·T/K + 1 (T = 100, K = 5: 81, 61, 41, 21, 1). The top step then keeps signal
(cosine schedule: ᾱ_81 = 0.085, 1/√ᾱ = 3.4) where τ_K = T would leave ᾱ = 2.4e-7 (1/√ᾱ ≈ 2000):
there x̂_0 amplifies the network's error two-thousandfold and no step of the chain could learn.

One denoising step τ_k → τ_{k-1} (written t → m) is the Gaussian sub-policy

    x̂_0 = (x_t - √(1 - ᾱ_t) ε̂) / √ᾱ_t,   ε̂ = ε_θ(x_t, t, c)
    μ   = √ᾱ_m x̂_0 + √max(1 - ᾱ_m - σ_k², 0) ε̂
    x_m ~ N(μ, σ_k² I),   log π = -‖x_m - μ‖² / (2σ_k²) - d·log σ_k - (d/2)·log 2π

with σ_k = clip(η·√((1 - ᾱ_m)/(1 - ᾱ_t))·√(1 - ᾱ_t/ᾱ_m), σ_min, σ_max) (the paper's eq. 23).
x̂_0 is not clipped by default: a clip saturates (zero gradient) exactly where the step is
wrong; ``clip_sample=True`` restores it. σ_min is the behaviour policy's exploration floor: the
last step (m = 0) has a DDIM σ of 0, so σ_min is the spread it adds to the action, and the
steps whose DDIM σ lies below it share it (see :meth:`DDIMSampler.set_sigma_min`).

The per-step log-likelihoods have very different gradient scales: ∂μ/∂ε̂ = c_k (below) and
the score of a step is ∝ c_k/σ_k, from 0.08 (last step, σ = 0.3) to 14 (σ_min = 0.01).
``step_weights`` w_k ∝ σ_k/|c_k| (mean 1, in the column order of :meth:`DDIMSampler.log_prob`)
balance them; the PPO surrogate weights step k's term by w_k, so that no step swamps an update.
``deterministic=True`` is plain DDIM: the means with σ_k = 0 in μ and no noise (the paper's
deterministic inference; the policy starts it from zero noise, see its docstring).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch as th
from torch import nn

#: ε_θ(x (B, d), t (B,) long diffusion index, cond (B, c)) → predicted noise (B, d)
EpsModel = Callable[[th.Tensor, th.Tensor, th.Tensor], th.Tensor]
ScheduleKind = Literal["cosine", "linear"]


def make_alpha_bar(n_steps: int, kind: ScheduleKind = "cosine", max_beta: float = 0.999) -> th.Tensor:
    """ᾱ_t for t = 0..T (shape (T + 1,), float64, ᾱ_0 = 1, decreasing).

    "cosine": ᾱ(t) ∝ cos²((t/T + 0.008)/1.008 · π/2) with each β_t capped at ``max_beta``;
    "linear": β_t evenly from 1e-4 to 0.02 (scaled by 1000/T).
    """
    if n_steps < 1:
        raise ValueError(f"n_diffusion_steps must be ≥ 1, got {n_steps}")
    if kind == "cosine":
        f = [math.cos((t / n_steps + 0.008) / 1.008 * math.pi / 2) ** 2 for t in range(n_steps + 1)]
        betas = th.tensor([min(1 - f[t] / f[t - 1], max_beta) for t in range(1, n_steps + 1)], dtype=th.float64)
    elif kind == "linear":
        scale = 1000.0 / n_steps
        betas = th.linspace(1e-4 * scale, 0.02 * scale, n_steps, dtype=th.float64).clamp(max=max_beta)
    else:
        raise ValueError(f"schedule must be 'cosine' or 'linear', got {kind!r}")
    return th.cat([th.ones(1, dtype=th.float64), th.cumprod(1 - betas, 0)])


def _step_towards(x0: th.Tensor, eps: th.Tensor, a_m: th.Tensor, sigma: th.Tensor) -> th.Tensor:
    """The mean of a DDIM step to ᾱ_m from the clean action x0 and the noise eps it was mixed with."""
    return a_m.sqrt() * x0 + (1 - a_m - sigma**2).clamp(min=0).sqrt() * eps


class DDIMSampler(nn.Module):
    """K-step stochastic DDIM over actions in [-1, 1]^d; no parameters, only buffers.

    :param n_steps: K, the denoising steps per action (≥ 1; the paper uses 5–10).
    :param n_diffusion_steps: T of the training noise schedule (default 100).
    :param schedule: "cosine" (default) or "linear" β schedule.
    :param eta: scale of the DDIM variance (1.0: DDPM-like, default; 0.0: σ_min everywhere).
    :param sigma_min, sigma_max: the per-step standard deviation is clipped to this range
        (defaults 0.01 and 0.8, the paper's); sigma_min > 0 keeps every step's log-likelihood finite.
    :param clip_sample: clip the predicted clean action x̂_0 to [-1, 1] (default False: the
        clip has no gradient where it acts).
    """

    alpha_bar: th.Tensor
    timesteps: th.Tensor
    sigmas: th.Tensor
    step_weights: th.Tensor

    def __init__(
        self,
        n_steps: int = 5,
        n_diffusion_steps: int = 100,
        schedule: ScheduleKind = "cosine",
        eta: float = 1.0,
        sigma_min: float = 0.01,
        sigma_max: float = 0.8,
        clip_sample: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(n_steps, int) or n_steps < 1:
            raise ValueError(f"the number of denoising steps K must be an integer ≥ 1, got {n_steps!r}")
        if n_steps > n_diffusion_steps:
            raise ValueError(f"K = {n_steps} denoising steps need n_diffusion_steps ≥ K, got {n_diffusion_steps}")
        if not 0 < sigma_min <= sigma_max:
            raise ValueError(f"need 0 < sigma_min ≤ sigma_max, got {sigma_min} and {sigma_max}")
        if eta < 0:
            raise ValueError(f"eta must be ≥ 0, got {eta}")
        self.n_steps, self.n_diffusion_steps = n_steps, n_diffusion_steps
        self.schedule, self.eta, self.clip_sample = schedule, float(eta), bool(clip_sample)
        self.sigma_max = float(sigma_max)
        alpha_bar = make_alpha_bar(n_diffusion_steps, schedule)
        # τ_0 = 0 < τ_1 = 1 < ... < τ_K = (K - 1)·T/K + 1 ("leading" spacing, offset 1)
        leading = [round((k - 1) * n_diffusion_steps / n_steps) + 1 for k in range(1, n_steps + 1)]
        self.register_buffer("alpha_bar", alpha_bar.float())
        self.register_buffer("timesteps", th.tensor([0, *leading], dtype=th.long))
        # sigmas[k - 1] is σ_k of the step τ_k → τ_{k-1}, k = 1..K; step_weights[j] is w_k of column j
        # of log_prob's output (the step k = K - j: the first denoising step first)
        self.register_buffer("sigmas", th.zeros(n_steps))
        self.register_buffer("step_weights", th.ones(n_steps))
        self.set_sigma_min(sigma_min)

    def set_sigma_min(self, sigma_min: float) -> None:
        """Set the exploration floor σ_min (σ_min ≤ σ_max) and recompute every σ_k and w_k.

        Change it only between a batch's collection and the next (never between sampling chains
        and scoring them): the behaviour log-likelihoods depend on it."""
        if not 0 < sigma_min <= self.sigma_max:
            raise ValueError(f"need 0 < sigma_min ≤ sigma_max, got {sigma_min} and {self.sigma_max}")
        self.sigma_min = float(sigma_min)
        a = self.alpha_bar.double()
        a_t, a_m = a[self.timesteps[1:]], a[self.timesteps[:-1]]
        ddim_sigma = self.eta * th.sqrt((1 - a_m) / (1 - a_t)) * th.sqrt(1 - a_t / a_m)
        sigma = ddim_sigma.clamp(self.sigma_min, self.sigma_max)
        # c_k = ∂μ/∂ε̂: the ε̂ term of μ minus the one x̂_0 carries
        c = (1 - a_m - sigma**2).clamp(min=0).sqrt() - (a_m * (1 - a_t) / a_t).sqrt()
        weights = sigma / c.abs().clamp(min=1e-6)
        self.sigmas.copy_(sigma.float())
        self.step_weights.copy_((weights / weights.mean()).flip(0).float())

    def sigma(self, k: int) -> float:
        """σ_k of the step τ_k → τ_{k-1} (k = 1..K)."""
        return float(self.sigmas[k - 1])

    def add_noise(self, x0: th.Tensor, k: th.Tensor, noise: th.Tensor) -> th.Tensor:
        """Forward process at τ_k: √ᾱ x0 + √(1 - ᾱ) ε. ``k`` (B,) long in 1..K."""
        a = self.alpha_bar[self.timesteps[k]].unsqueeze(-1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def step_mean(
        self, eps_model: EpsModel, x: th.Tensor, k: int | th.Tensor, cond: th.Tensor, deterministic: bool = False
    ) -> th.Tensor:
        """μ_θ of the step τ_k → τ_{k-1} for x = a^{τ_k} (B, d); ``k`` an int or (B,) long in 1..K.
        ``deterministic``: the σ = 0 DDIM step (μ with σ_k = 0)."""
        k_vec = th.as_tensor(k, device=x.device).expand(x.shape[0]) if not isinstance(k, th.Tensor) else k
        t, m = self.timesteps[k_vec], self.timesteps[k_vec - 1]
        a_t, a_m = self.alpha_bar[t].unsqueeze(-1), self.alpha_bar[m].unsqueeze(-1)
        sigma = th.zeros_like(a_t) if deterministic else self.sigmas[k_vec - 1].unsqueeze(-1)
        eps = eps_model(x, t, cond)
        x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        if self.clip_sample:
            x0 = x0.clamp(-1.0, 1.0)
            eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        return _step_towards(x0, eps, a_m, sigma)

    def sample(
        self,
        eps_model: EpsModel,
        cond: th.Tensor,
        action_dim: int,
        deterministic: bool = False,
        noise: th.Tensor | None = None,
        generator: th.Generator | None = None,
    ) -> tuple[th.Tensor, th.Tensor]:
        """Run the K steps from a^{τ_K} ~ N(0, I) (or ``noise``) for conditions ``cond`` (B, c).

        :returns: (action a^{τ_0} (B, d), chain (B, K + 1, d)) with ``chain[:, j] = a^{τ_{K-j}}``,
            the start noise first and the action last. The action is not clipped to [-1, 1].
        """
        batch = cond.shape[0]
        if noise is None:
            noise = th.randn(batch, action_dim, device=cond.device, generator=generator)
        x, chain = noise, [noise]
        for k in range(self.n_steps, 0, -1):
            x = self.step_mean(eps_model, x, k, cond, deterministic)
            if not deterministic:
                x = x + self.sigma(k) * th.randn(x.shape, device=x.device, generator=generator)
            chain.append(x)
        return x, th.stack(chain, dim=1)

    def posterior_chain(self, x0: th.Tensor, generator: th.Generator | None = None) -> th.Tensor:
        """A chain (B, K + 1, d) that ends at the given actions ``x0`` (B, d): the sampler's own
        steps with the true noise in place of ε̂ (the DDIM forward process q_σ(a^{τ_{k-1}} | a^{τ_k}, a^0)
        with this sampler's σ_k), from a^{τ_K} ~ q(a^{τ_K} | a^0); the last entry is ``x0`` itself.
        Scoring it with :meth:`log_prob` gives the likelihood of a logged action under a denoiser."""
        a = self.alpha_bar[self.timesteps]
        top = th.full((x0.shape[0],), self.n_steps, dtype=th.long, device=x0.device)
        x = self.add_noise(x0, top, th.randn(x0.shape, device=x0.device, generator=generator))
        chain = [x]
        for k in range(self.n_steps, 1, -1):
            eps = (x - a[k].sqrt() * x0) / (1 - a[k]).sqrt()
            x = _step_towards(x0, eps, a[k - 1], self.sigmas[k - 1])
            x = x + self.sigmas[k - 1] * th.randn(x0.shape, device=x0.device, generator=generator)
            chain.append(x)
        chain.append(x0)
        return th.stack(chain, dim=1)

    def denoise_from(self, eps_model: EpsModel, x: th.Tensor, k: th.Tensor, cond: th.Tensor) -> th.Tensor:
        """σ = 0 DDIM from a^{τ_k} down to a^{τ_0}, per sample: ``k`` (B,) long in 1..K."""
        for j in range(self.n_steps, 0, -1):
            active = k >= j
            if bool(active.any()):
                x = th.where(active.unsqueeze(-1), self.step_mean(eps_model, x, j, cond, deterministic=True), x)
        return x

    def log_prob(self, eps_model: EpsModel, chain: th.Tensor, cond: th.Tensor) -> th.Tensor:
        """log π_θ(a^{τ_{k-1}} | a^{τ_k}, c) of every step of ``chain`` (B, K + 1, d), shape (B, K).

        Column j is the step k = K - j (the first column is the first denoising step).
        All K steps are evaluated in one batched network call.
        """
        batch, n, dim = chain.shape
        if n != self.n_steps + 1:
            raise ValueError(f"a chain of this K = {self.n_steps} sampler has {self.n_steps + 1} entries, got {n}")
        ks = th.arange(self.n_steps, 0, -1, device=chain.device).repeat(batch)  # (B·K,)
        x_from = chain[:, :-1].reshape(-1, dim)
        x_to = chain[:, 1:].reshape(-1, dim)
        cond_rep = cond.repeat_interleave(self.n_steps, dim=0)
        mean = self.step_mean(eps_model, x_from, ks, cond_rep)
        sigma = self.sigmas[ks - 1].unsqueeze(-1)
        logp = -0.5 * ((x_to - mean) / sigma) ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)
        return logp.sum(-1).view(batch, self.n_steps)


__all__ = ["DDIMSampler", "EpsModel", "make_alpha_bar"]
