"""Losses and the OPE gate of RL100.

* Imitation (noise prediction): ``L_IL = E ‖ε - ε_θ(√ᾱ_τ a + √(1-ᾱ_τ) ε, τ, c)‖²`` with τ drawn
  uniformly from the sampler's K indices τ_1..τ_K and ε ~ N(0, I).
* PPO over the denoising steps: with per-step ratios r_k = π_θ(a^{τ_{k-1}}|s^k) / π_old(·|s^k)
  and one advantage A per env step shared by all K steps,
  ``J = mean_batch Σ_k w_k min(r_k A, clip(r_k, 1 - ε, 1 + ε) A)`` with the sampler's per-step
  weights w_k (mean 1; they balance the steps' gradient scales); the loss is -J.
* OPE (one-step episodes): Ĵ(π) = E_{s∈D, a∼π}[Q_ψ(s, a)], Q clamped to the range of the
  rewards in D (a critic's extrapolation cannot score above the best possible outcome).
  Candidate and behaviour are scored with common random numbers (the same start noise and step
  noise for both), so their per-state difference d(s) holds only what their weights change. A
  candidate is accepted only if the lower ``confidence`` bound of a bootstrap over D's states of
  mean d exceeds δ, δ = δ_rel · |Ĵ(π_i)| (the paper's scale) or δ_rel · s (a scale given by the
  caller, e.g. the spread of the logged rewards). An identical copy gives d ≡ 0 and is never
  accepted. ``confidence=None`` is the paper's rule itself: Ĵ(π) - Ĵ(π_i) ≥ δ on the point
  estimates (with δ_rel = 0.05, δ = 0.05·|Ĵ(π_i)|).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch as th

from rmrl_agents.rl100.ddim import DDIMSampler, EpsModel


def imitation_loss(
    eps_model: EpsModel, sampler: DDIMSampler, actions: th.Tensor, cond: th.Tensor, generator: th.Generator | None = None
) -> th.Tensor:
    """Noise-prediction loss on demonstrated actions (B, d) in [-1, 1] under conditions (B, C)."""
    batch = actions.shape[0]
    k = th.randint(1, sampler.n_steps + 1, (batch,), device=actions.device, generator=generator)
    noise = th.randn(actions.shape, device=actions.device, generator=generator)
    noisy = sampler.add_noise(actions, k, noise)
    return ((eps_model(noisy, sampler.timesteps[k], cond) - noise) ** 2).sum(-1).mean()


@dataclass
class PPOStats:
    """Diagnostics of one surrogate evaluation (floats, no gradient)."""

    clip_fraction: float
    approx_kl: float
    ratio_mean: float


def ppo_denoising_loss(
    new_log_prob: th.Tensor,
    old_log_prob: th.Tensor,
    advantages: th.Tensor,
    clip_eps: float = 0.2,
    step_weights: th.Tensor | None = None,
) -> tuple[th.Tensor, PPOStats]:
    """-J of the PPO-clipped surrogate summed over the K denoising steps (weighted by
    ``step_weights`` (K,), default all 1).

    :param new_log_prob: (B, K) log-likelihoods of the chain's steps under the policy being trained.
    :param old_log_prob: (B, K) the same under the behaviour policy (no gradient needed).
    :param advantages: (B,) the env-level advantage, shared by the K steps.
    :param clip_eps: ε of the clip (default 0.2).
    """
    if new_log_prob.shape != old_log_prob.shape or new_log_prob.dim() != 2:
        raise ValueError(f"log-likelihoods must both be (B, K), got {tuple(new_log_prob.shape)} and {tuple(old_log_prob.shape)}")
    if advantages.shape != new_log_prob.shape[:1]:
        raise ValueError(f"advantages must be (B,) = ({new_log_prob.shape[0]},), got {tuple(advantages.shape)}")
    if not clip_eps > 0:
        raise ValueError(f"clip_eps must be > 0, got {clip_eps}")
    log_ratio = new_log_prob - old_log_prob.detach()
    ratio = log_ratio.exp()
    adv = advantages.detach().unsqueeze(-1)
    surrogate = th.minimum(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv)
    if step_weights is not None:
        surrogate = surrogate * step_weights.detach()
    loss = -surrogate.sum(-1).mean()
    with th.no_grad():
        stats = PPOStats(
            clip_fraction=float(((ratio - 1).abs() > clip_eps).float().mean()),
            approx_kl=float(((ratio - 1) - log_ratio).mean()),
            ratio_mean=float(ratio.mean()),
        )
    return loss, stats


def ppo_update(
    eps_model: th.nn.Module,
    sampler: DDIMSampler,
    step: Callable[[th.Tensor], None],
    cond: th.Tensor,
    chain: th.Tensor,
    old_log_prob: th.Tensor,
    advantages: th.Tensor,
    clip_eps: float = 0.2,
    epochs: int = 10,
    minibatch_size: int = 256,
    generator: th.Generator | None = None,
) -> dict[str, float]:
    """Several epochs of mini-batch PPO over the denoising steps of logged chains.

    :param step: takes one optimiser step on a loss (the algorithm's, with its gradient clip).
    :param cond: (B, C) conditions; :param chain: (B, K + 1, d) chains sampled by the behaviour
        policy; :param old_log_prob: (B, K) their log-likelihoods under it; :param advantages:
        (B,) the env-level advantages (used as given: normalise them beforehand if wanted).
    :param minibatch_size: env steps per mini-batch (each brings K denoising steps).
    :returns: means over the mini-batches of ``loss``, ``clip_fraction`` and ``approx_kl``.
    """
    if epochs < 0 or minibatch_size < 1:
        raise ValueError(f"epochs must be ≥ 0 and minibatch_size ≥ 1, got {epochs} and {minibatch_size}")
    totals = {"loss": 0.0, "clip_fraction": 0.0, "approx_kl": 0.0}
    n_batches = 0
    for _ in range(epochs):
        order = th.randperm(cond.shape[0], device=cond.device, generator=generator)
        for start in range(0, cond.shape[0], minibatch_size):
            idx = order[start : start + minibatch_size]
            new_log_prob = sampler.log_prob(eps_model, chain[idx], cond[idx])
            loss, stats = ppo_denoising_loss(new_log_prob, old_log_prob[idx], advantages[idx], clip_eps, sampler.step_weights)
            step(loss)
            totals["loss"] += float(loss.detach())
            totals["clip_fraction"] += stats.clip_fraction
            totals["approx_kl"] += stats.approx_kl
            n_batches += 1
    return {k: v / max(n_batches, 1) for k, v in totals.items()}


def paired_q(
    act_new: Callable[[th.Tensor, th.Generator], th.Tensor],
    act_old: Callable[[th.Tensor, th.Generator], th.Tensor],
    q_fn: Callable[[th.Tensor, th.Tensor], th.Tensor],
    features: th.Tensor,
    n_samples: int = 4,
    q_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> tuple[th.Tensor, th.Tensor]:
    """Per-state Q of two policies under common random numbers: (q_new (N,), q_old (N,)).

    ``act(features, generator) → actions`` samples a policy; both are given generators seeded
    with ``seed``, so that they draw the same noise. Each state's Q is the mean over
    ``n_samples`` actions, clamped to ``q_range`` (the rewards' range) when given.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be ≥ 1, got {n_samples}")
    feats = features.repeat(n_samples, 1)
    out = []
    with th.no_grad():
        for act in (act_new, act_old):
            q = q_fn(feats, act(feats, th.Generator(device=feats.device).manual_seed(seed)))
            if q_range is not None:
                q = q.clamp(*q_range)
            out.append(q.view(n_samples, -1).mean(0))
    return out[0], out[1]


def estimate_value(
    act: Callable[[th.Tensor], th.Tensor],
    q_fn: Callable[[th.Tensor, th.Tensor], th.Tensor],
    features: th.Tensor,
    n_samples: int = 4,
) -> float:
    """Ĵ(π) = mean over states s (B, C) and ``n_samples`` actions a ~ π(·|s) of Q(s, a)."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be ≥ 1, got {n_samples}")
    with th.no_grad():
        feats = features.repeat(n_samples, 1)
        return float(q_fn(feats, act(feats)).mean())


@dataclass
class GateDecision:
    """The OPE gate's verdict: ``accepted`` iff ``lower > delta`` (bound) or ``value_new -
    value_old ≥ delta`` (the paper's point rule); ``lower`` is the bound on mean d (NaN: none)."""

    accepted: bool
    value_new: float
    value_old: float
    delta: float
    lower: float


def ope_gate(
    q_new: th.Tensor,
    q_old: th.Tensor,
    delta_rel: float = 0.0,
    scale: float | None = None,
    confidence: float | None = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> GateDecision:
    """Accept a candidate scored per state (``q_new``, ``q_old`` (N,), common random numbers).

    :param delta_rel, scale: δ = delta_rel · scale; scale None: |Ĵ_old| (the paper's).
    :param confidence: one-sided level of the bootstrap lower bound on mean(q_new - q_old)
        (accept iff bound > δ); None: the paper's rule Ĵ_new - Ĵ_old ≥ δ.
    """
    if delta_rel < 0:
        raise ValueError(f"delta_rel must be ≥ 0, got {delta_rel}")
    if scale is not None and not scale >= 0:
        raise ValueError(f"scale must be a number ≥ 0 (in reward units), got {scale}")
    if confidence is not None and not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1) (or be None: the paper's point rule), got {confidence}")
    if q_new.shape != q_old.shape or q_new.dim() != 1 or q_new.numel() == 0:
        raise ValueError(f"q_new and q_old must be (N,) alike, got {tuple(q_new.shape)} and {tuple(q_old.shape)}")
    value_new, value_old = float(q_new.double().mean()), float(q_old.double().mean())
    delta = delta_rel * (abs(value_old) if scale is None else scale)
    if confidence is None:
        return GateDecision(value_new - value_old >= delta, value_new, value_old, delta, math.nan)
    diff = (q_new - q_old).double().cpu()
    gen = th.Generator().manual_seed(seed)
    means = diff[th.randint(0, diff.numel(), (n_boot, diff.numel()), generator=gen)].mean(1)
    lower = float(th.quantile(means, 1 - confidence))
    return GateDecision(lower > delta, value_new, value_old, delta, lower)


__all__ = [
    "GateDecision",
    "PPOStats",
    "estimate_value",
    "imitation_loss",
    "ope_gate",
    "paired_q",
    "ppo_denoising_loss",
    "ppo_update",
]
