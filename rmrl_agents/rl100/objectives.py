"""Losses and the OPE gate of RL100.

* Imitation (noise prediction): ``L_IL = E ‖ε - ε_θ(√ᾱ_τ a + √(1-ᾱ_τ) ε, τ, c)‖²`` with τ drawn
  uniformly from the sampler's K indices τ_1..τ_K and ε ~ N(0, I).
* PPO over the denoising steps: with per-step ratios r_k = π_θ(a^{τ_{k-1}}|s^k) / π_old(·|s^k)
  and one advantage A per env step shared by all K steps,
  ``J = mean_batch Σ_k min(r_k A, clip(r_k, 1 - ε, 1 + ε) A)``; the loss is -J.
* OPE (one-step episodes): Ĵ(π) = E_{s∈D, a∼π}[Q_ψ(s, a)]; a candidate π is accepted over the
  behaviour policy π_i only if Ĵ(π) - Ĵ(π_i) ≥ δ with δ = δ_rel · |Ĵ(π_i)| (the paper's rule,
  δ_rel = 0.05) or δ = δ_rel · s, s a scale given by the caller (RL100: the standard deviation of
  the logged rewards, for rewards that all lie near 1, where |Ĵ| says nothing about their spread).
"""

from __future__ import annotations

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
    new_log_prob: th.Tensor, old_log_prob: th.Tensor, advantages: th.Tensor, clip_eps: float = 0.2
) -> tuple[th.Tensor, PPOStats]:
    """-J of the PPO-clipped surrogate summed over the K denoising steps.

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
    optimizer: th.optim.Optimizer,
    cond: th.Tensor,
    chain: th.Tensor,
    old_log_prob: th.Tensor,
    advantages: th.Tensor,
    clip_eps: float = 0.2,
    epochs: int = 4,
    batch_size: int = 256,
    max_grad_norm: float | None = 1.0,
    generator: th.Generator | None = None,
) -> dict[str, float]:
    """Several epochs of mini-batch PPO over the denoising steps of logged chains.

    :param cond: (B, C) conditions; :param chain: (B, K + 1, d) chains sampled by the behaviour
        policy; :param old_log_prob: (B, K) their log-likelihoods under it; :param advantages:
        (B,) the env-level advantages (used as given: normalise them beforehand if wanted).
    :returns: means over the mini-batches of ``loss``, ``clip_fraction`` and ``approx_kl``.
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be ≥ 0 and batch_size ≥ 1, got {epochs} and {batch_size}")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    totals = {"loss": 0.0, "clip_fraction": 0.0, "approx_kl": 0.0}
    n_batches = 0
    for _ in range(epochs):
        order = th.randperm(cond.shape[0], device=cond.device, generator=generator)
        for start in range(0, cond.shape[0], batch_size):
            idx = order[start : start + batch_size]
            new_log_prob = sampler.log_prob(eps_model, chain[idx], cond[idx])
            loss, stats = ppo_denoising_loss(new_log_prob, old_log_prob[idx], advantages[idx], clip_eps)
            optimizer.zero_grad()
            loss.backward()
            if max_grad_norm is not None:
                th.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            totals["loss"] += float(loss.detach())
            totals["clip_fraction"] += stats.clip_fraction
            totals["approx_kl"] += stats.approx_kl
            n_batches += 1
    return {k: v / max(n_batches, 1) for k, v in totals.items()}


def estimate_value(
    act: Callable[[th.Tensor], th.Tensor],
    q_fn: Callable[[th.Tensor, th.Tensor], th.Tensor],
    features: th.Tensor,
    n_samples: int = 4,
) -> float:
    """Ĵ(π) = mean over states s (B, C) and ``n_samples`` actions a ~ π(·|s) of Q(s, a).

    ``act(features) → actions`` samples the policy (its stochastic mode, as it collects data).
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be ≥ 1, got {n_samples}")
    with th.no_grad():
        feats = features.repeat(n_samples, 1)
        return float(q_fn(feats, act(feats)).mean())


@dataclass
class GateDecision:
    """The OPE gate's verdict: ``accepted`` iff ``value_new - value_old ≥ delta``."""

    accepted: bool
    value_new: float
    value_old: float
    delta: float


def ope_gate(value_new: float, value_old: float, delta_rel: float = 0.05, scale: float | None = None) -> GateDecision:
    """Accept a candidate iff Ĵ_new - Ĵ_old ≥ δ = delta_rel · scale.

    :param scale: what δ is relative to, in reward units; None: |Ĵ_old| (the paper's rule, with
        delta_rel = 0.05).
    """
    if delta_rel < 0:
        raise ValueError(f"delta_rel must be ≥ 0, got {delta_rel}")
    if scale is not None and not scale >= 0:
        raise ValueError(f"scale must be a number ≥ 0 (in reward units), got {scale}")
    delta = delta_rel * (abs(value_old) if scale is None else scale)
    return GateDecision(bool(value_new - value_old >= delta), float(value_new), float(value_old), float(delta))


__all__ = ["GateDecision", "PPOStats", "estimate_value", "imitation_loss", "ope_gate", "ppo_denoising_loss", "ppo_update"]
