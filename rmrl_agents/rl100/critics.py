"""IQL-style critics for one-step episodes: Q_ψ(s, a) and V_ψ(s) on trunk features.

Every episode of the cell-plate task is one action and one reward, so there is no
bootstrapping: Q regresses the reward, ``L_Q = mean (Q(s, a) - R)²`` over logged trials, and
V is an upper expectile of Q over the data's actions,
``L_V = mean |τ_e - 1(Q(s, a) - V(s) < 0)| · (Q(s, a) - V(s))²`` with Q held fixed: τ_e = 0.5
gives the mean of Q(s, ·) over the logged actions, τ_e → 1 its maximum. The advantage is
A(s, a) = Q(s, a) - V(s). States enter as features (B, C) of the (frozen) trunk; actions as
the env's normalised vector (B, d) in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch as th
from torch import nn

from rmrl_agents.rl100.denoiser import mlp


def expectile_loss(diff: th.Tensor, expectile: float) -> th.Tensor:
    """mean |τ_e - 1(diff < 0)| · diff² for diff = Q - V (the asymmetric L2 of IQL)."""
    if not 0 < expectile < 1:
        raise ValueError(f"the expectile must lie in (0, 1), got {expectile}")
    weight = th.where(diff < 0, 1.0 - expectile, expectile)
    return (weight * diff**2).mean()


class Critics(nn.Module):
    """An ensemble of Q networks (their minimum is Q) and one V network.

    :param cond_dim: C, size of the state features.
    :param action_dim: d.
    :param hidden: hidden sizes of every network (default (256, 256)).
    :param n_q: Q networks in the ensemble (default 2; Q = their minimum, the usual guard
        against over-estimating actions the data barely covers).
    :param expectile: τ_e of V (default 0.7).
    """

    def __init__(
        self, cond_dim: int, action_dim: int, hidden: Sequence[int] = (256, 256), n_q: int = 2, expectile: float = 0.7
    ) -> None:
        super().__init__()
        if n_q < 1:
            raise ValueError(f"n_q must be ≥ 1, got {n_q}")
        if not 0 < expectile < 1:
            raise ValueError(f"the expectile must lie in (0, 1), got {expectile}")
        self.expectile = float(expectile)
        self.qs = nn.ModuleList(mlp((cond_dim + action_dim, *hidden, 1), nn.ReLU) for _ in range(n_q))
        self.v_net = mlp((cond_dim, *hidden, 1), nn.ReLU)

    def q_all(self, features: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """Every ensemble member's Q, shape (n_q, B)."""
        x = th.cat([features, actions], dim=-1)
        return th.stack([q(x).squeeze(-1) for q in self.qs])

    def q(self, features: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """Q_ψ(s, a) = min over the ensemble, shape (B,)."""
        return self.q_all(features, actions).min(dim=0).values

    def v(self, features: th.Tensor) -> th.Tensor:
        """V_ψ(s), shape (B,)."""
        return self.v_net(features).squeeze(-1)

    def advantage(self, features: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """A = Q - V, shape (B,), without gradient."""
        with th.no_grad():
            return self.q(features, actions) - self.v(features)

    def q_loss(self, features: th.Tensor, actions: th.Tensor, rewards: th.Tensor) -> th.Tensor:
        """Σ over the ensemble of mean (Q_i(s, a) - R)² (one-step episodes: the return is R)."""
        return ((self.q_all(features, actions) - rewards.unsqueeze(0)) ** 2).mean(dim=1).sum()

    def v_loss(self, features: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """Expectile regression of V(s) onto Q(s, a) of the data's actions (Q not updated)."""
        with th.no_grad():
            target = self.q(features, actions)
        return expectile_loss(target - self.v(features), self.expectile)


__all__ = ["Critics", "expectile_loss"]
