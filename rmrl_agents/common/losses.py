"""The losses of the rmrl agents and the reward baseline of the policy gradient.

* policy gradient, paper eq. 6: ``L = -mean_j (R_j - b) · log π(a_j|s_j)`` with ``b`` the reward
  baseline (``RewardBaseline("none")`` gives eq. 6 exactly, b = 0);
* cross-entropy on role-model labels, eq. 8: ``L = -mean_j Σ_i log π(a*_j[i]|s_j)``, one term per
  action head i.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch as th

BaselineKind = Literal["mean", "none"]


class RewardBaseline:
    """b in the policy-gradient loss.

    ``"mean"``: the running mean of the rewards seen so far, ``b ← b + (1 - decay)·(R - b)``,
    started at the first reward; ``"none"``: b = 0. A baseline leaves the expected gradient
    unchanged and cuts its variance (the rewards of this task all lie in ~[0.85, 1]).
    NaN rewards (no measurement) count as 0.

    :param kind: "mean" or "none".
    :param decay: decay of the running mean, in [0, 1).
    """

    def __init__(self, kind: BaselineKind = "mean", decay: float = 0.9) -> None:
        if kind not in ("mean", "none"):
            raise ValueError(f"reward_baseline must be 'mean' or 'none', got {kind!r}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {decay!r}")
        self.kind: BaselineKind = kind
        self.decay = float(decay)
        self.value: float | None = None  # None until the first reward

    def advantages(self, rewards: np.ndarray | Sequence[float]) -> np.ndarray:
        """``R - b`` for each reward, shape (B,) float64 (the baseline itself is not changed)."""
        r = np.nan_to_num(np.asarray(rewards, dtype=np.float64), nan=0.0)
        if self.kind == "none":
            return r
        return r - (r[0] if self.value is None else self.value)

    def update(self, reward: float) -> None:
        """Fold one trial's reward into the running mean."""
        r = float(reward) if np.isfinite(reward) else 0.0
        self.value = r if self.value is None else self.value + (1.0 - self.decay) * (r - self.value)


def policy_gradient_loss(log_prob: th.Tensor, advantages: th.Tensor) -> th.Tensor:
    """``-mean((R - b) · log π(a|s))``; both tensors of shape (B,). A scalar tensor."""
    return -(advantages * log_prob).mean()


def multi_head_cross_entropy(logits: th.Tensor, action_dims: Sequence[int], labels: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """Cross-entropy of each action head against its label index, summed over the heads.

    :param logits: (B, Σ action_dims), the heads' logits side by side.
    :param action_dims: the size of each head, e.g. (21, 21, 21).
    :param labels: (B, n_heads) int64 grid indices.
    :return: (loss, accuracy): the scalar loss, and the fraction of rows whose argmax matches
        the label on every head (a detached scalar tensor).
    """
    parts = th.split(logits, list(action_dims), dim=1)
    loss = th.nn.functional.cross_entropy(parts[0], labels[:, 0])
    for i in range(1, len(parts)):
        loss = loss + th.nn.functional.cross_entropy(parts[i], labels[:, i])
    with th.no_grad():
        hits = th.stack([part.argmax(1) == labels[:, i] for i, part in enumerate(parts)], 1)
        accuracy = hits.all(1).float().mean()
    return loss, accuracy
