"""One-step consistency head distilled from the frozen K-step DDIM teacher.

The head C_w(a^τ, τ, c) has the denoiser's architecture and maps a noised action straight to
the action the teacher's deterministic DDIM chain would reach from it:
``L_CD = E ‖C_w(a^{τ_k}, τ_k, c) - sg[DDIM_θ(a^{τ_k}, τ_k → 0, c)]‖²``. Training inputs a^{τ_k}:
k uniform in 1..K with a^{τ_k} the forward-noised data action when data actions are given,
else k = K and a^{τ_K} ~ N(0, I). At inference one network evaluation gives
a = C_w(a^{τ_K}, τ_K, c) for a^{τ_K} ~ N(0, I) (or a fixed zero noise when deterministic).
"""

from __future__ import annotations

import torch as th

from rmrl_agents.rl100.ddim import DDIMSampler, EpsModel
from rmrl_agents.rl100.denoiser import ConditionalActionMLP


class ConsistencyHead(ConditionalActionMLP):
    """C_w(a^τ (B, d), τ (B,) long, c (B, C)) → action (B, d); see the module docstring."""

    def act(
        self,
        sampler: DDIMSampler,
        cond: th.Tensor,
        deterministic: bool = False,
        noise: th.Tensor | None = None,
        generator: th.Generator | None = None,
    ) -> th.Tensor:
        """One-evaluation action for conditions (B, C): from ``noise``, zero noise (deterministic)
        or fresh N(0, I) noise. Not clipped to [-1, 1]."""
        if noise is None:
            shape = (cond.shape[0], self.action_dim)
            noise = (
                th.zeros(shape, device=cond.device) if deterministic else th.randn(shape, device=cond.device, generator=generator)
            )
        t = sampler.timesteps[sampler.n_steps].expand(cond.shape[0])
        return self(noise, t, cond)


def distillation_loss(
    head: ConsistencyHead,
    teacher: EpsModel,
    sampler: DDIMSampler,
    cond: th.Tensor,
    actions: th.Tensor | None = None,
    generator: th.Generator | None = None,
) -> th.Tensor:
    """L_CD on conditions (B, C); ``actions`` (B, d) data actions to noise (optional). The teacher
    runs under ``no_grad`` (stop-gradient): only the head receives gradients."""
    batch, dim = cond.shape[0], head.action_dim
    noise = th.randn((batch, dim), device=cond.device, generator=generator)
    if actions is None:
        k = th.full((batch,), sampler.n_steps, dtype=th.long, device=cond.device)
        x = noise
    else:
        k = th.randint(1, sampler.n_steps + 1, (batch,), device=cond.device, generator=generator)
        x = sampler.add_noise(actions, k, noise)
    with th.no_grad():
        target = sampler.denoise_from(teacher, x, k, cond)
    return ((head(x, sampler.timesteps[k], cond) - target) ** 2).sum(-1).mean()


__all__ = ["ConsistencyHead", "distillation_loss"]
