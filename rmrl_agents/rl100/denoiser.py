"""The conditional noise-prediction network ε_θ(a^τ, τ, c) of the RL100 policy.

``c`` is the condition: the features of the shared ResNet + pose-MLP trunk
(:class:`rmrl_agents.policies.PlateEncoder`, shape (B, features_dim)) for one observation.
The network embeds the diffusion index τ sinusoidally, projects the condition, and runs an
MLP over [a^τ, emb(τ), proj(c)]::

    a^τ (B, d) ───────────────────────────────┐
    τ (B,) ──► sinusoid (B, E) ──► MLP ──► (B, E) ┼─► concat ─► MLP (Mish) ─► (B, d)
    c (B, C) ──► Linear + Mish ──► (B, H_c) ───┘

The same architecture, as :class:`ConditionalActionMLP`, serves the one-step consistency
head (it maps (a^{τ_K}, τ_K, c) straight to an action).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch as th
from torch import nn


def sinusoidal_embedding(t: th.Tensor, dim: int, max_period: float = 10_000.0) -> th.Tensor:
    """Sinusoidal embedding of diffusion indices ``t`` (B,) → (B, dim) (``dim`` even)."""
    if dim % 2:
        raise ValueError(f"the step embedding size must be even, got {dim}")
    half = dim // 2
    freqs = th.exp(-math.log(max_period) * th.arange(half, device=t.device, dtype=th.float32) / half)
    angles = t.float().unsqueeze(-1) * freqs
    return th.cat([angles.sin(), angles.cos()], dim=-1)


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.Mish) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ConditionalActionMLP(nn.Module):
    """f(a (B, d), τ (B,) long, c (B, C)) → (B, d); see the module docstring.

    :param action_dim: d (3 for the cell-plate envs).
    :param cond_dim: C, the size of the condition (the trunk's ``features_dim``).
    :param hidden: hidden sizes of the main MLP (default (256, 256)).
    :param step_embed_dim: E, size of the step embedding (default 32, even).
    :param cond_embed_dim: H_c, size the condition is projected to (default 128).
    """

    def __init__(
        self,
        action_dim: int,
        cond_dim: int,
        hidden: Sequence[int] = (256, 256),
        step_embed_dim: int = 32,
        cond_embed_dim: int = 128,
    ) -> None:
        super().__init__()
        if action_dim < 1 or cond_dim < 1:
            raise ValueError(f"action_dim and cond_dim must be ≥ 1, got {action_dim} and {cond_dim}")
        self.action_dim, self.cond_dim = int(action_dim), int(cond_dim)
        self.step_embed_dim = int(step_embed_dim)
        self.step_mlp = mlp((step_embed_dim, 2 * step_embed_dim, step_embed_dim))
        self.cond_proj = nn.Sequential(nn.Linear(cond_dim, cond_embed_dim), nn.Mish())
        self.net = mlp((action_dim + step_embed_dim + cond_embed_dim, *hidden, action_dim))

    def forward(self, x: th.Tensor, t: th.Tensor, cond: th.Tensor) -> th.Tensor:
        if x.shape[-1] != self.action_dim or cond.shape[-1] != self.cond_dim:
            raise ValueError(
                f"expected actions (B, {self.action_dim}) and conditions (B, {self.cond_dim}), "
                f"got {tuple(x.shape)} and {tuple(cond.shape)}"
            )
        emb = self.step_mlp(sinusoidal_embedding(t, self.step_embed_dim))
        return self.net(th.cat([x, emb, self.cond_proj(cond)], dim=-1))


class Denoiser(ConditionalActionMLP):
    """ε_θ(a^τ, τ, c): predicts the noise in a noised action (the DDIM sampler's ``eps_model``)."""


__all__ = ["ConditionalActionMLP", "Denoiser", "mlp", "sinusoidal_embedding"]
