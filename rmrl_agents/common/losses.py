"""The losses of the rmrl agents and the reward baseline of the policy gradient.

* policy gradient, paper eq. 6: ``L = -mean_j (R_j - b) · log π(a_j|s_j)`` with ``b`` the reward
  baseline (``RewardBaseline("none")`` gives eq. 6 exactly, b = 0);
* cross-entropy on role-model labels, eq. 8: ``L = -mean_j Σ_i log π(a*_j[i]|s_j)``, one term per
  action head i; with ``label_sigma > 0`` the one-hot target of each head is replaced by a
  Gaussian over the grid's bins centred on the label (:func:`label_targets`), so that
  neighbouring grid steps (1 mm apart) share the label's weight instead of counting as wrong.
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
    unchanged and cuts its variance. NaN rewards (no measurement) count as 0.

    With ``normalize`` the advantages are divided by the running standard deviation of the
    rewards (same decay; never below ``sd_floor``). Adam's step does not change when every loss
    is scaled by the same factor, so raw advantages of ±0.01 move the policy as far as ±1 would;
    measured in reward standard deviations, a trial's step follows how unusual its reward was
    (an ordinary reward moves the policy little, a failure among successes a lot).

    :param kind: "mean" or "none".
    :param decay: decay of the running mean (and variance), in [0, 1).
    :param normalize: divide the advantages by the running reward sd.
    :param sd_floor: the smallest sd divided by (rewards; default 0.01, the reward difference of
        about 1 mm of placement error), so the first trials, whose sd is not yet known, do not
        get huge advantages.
    """

    def __init__(self, kind: BaselineKind = "mean", decay: float = 0.9, normalize: bool = False, sd_floor: float = 0.01) -> None:
        if kind not in ("mean", "none"):
            raise ValueError(f"reward_baseline must be 'mean' or 'none', got {kind!r}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {decay!r}")
        if not sd_floor > 0:
            raise ValueError(f"sd_floor must be > 0, got {sd_floor!r}")
        self.kind: BaselineKind = kind
        self.decay = float(decay)
        self.normalize = bool(normalize)
        self.sd_floor = float(sd_floor)
        self.value: float | None = None  # None until the first reward
        self.variance = 0.0  # running variance of the rewards around the running mean

    def __setstate__(self, state: dict[str, object]) -> None:
        # a baseline pickled in a model file saved before normalisation existed
        self.__dict__.update({"normalize": False, "sd_floor": 0.01, "variance": 0.0, **state})

    @property
    def scale(self) -> float:
        """What the advantages are divided by: the running reward sd (≥ ``sd_floor``), or 1."""
        return max(float(np.sqrt(self.variance)), self.sd_floor) if self.normalize else 1.0

    def advantages(self, rewards: np.ndarray | Sequence[float]) -> np.ndarray:
        """``(R - b) / scale`` for each reward, shape (B,) float64 (the baseline itself is not changed)."""
        r = np.nan_to_num(np.asarray(rewards, dtype=np.float64), nan=0.0)
        if self.kind == "none":
            return r / self.scale
        return (r - (r[0] if self.value is None else self.value)) / self.scale

    def update(self, reward: float) -> None:
        """Fold one trial's reward into the running mean and variance."""
        r = float(reward) if np.isfinite(reward) else 0.0
        if self.value is None:
            self.value = r
            return
        alpha = 1.0 - self.decay
        diff = r - self.value
        self.value += alpha * diff
        self.variance = (1.0 - alpha) * (self.variance + alpha * diff * diff)


def policy_gradient_loss(
    log_prob: th.Tensor, advantages: th.Tensor, entropy: th.Tensor | None = None, ent_coef: float = 0.0
) -> th.Tensor:
    """``-mean((R - b) · log π(a|s)) - ent_coef · mean H(π(·|s))``; tensors of shape (B,). A scalar tensor."""
    loss = -(advantages * log_prob).mean()
    if ent_coef and entropy is not None:
        loss = loss - ent_coef * entropy.mean()
    return loss


def label_targets(labels: th.Tensor, n: int, label_sigma: float) -> th.Tensor:
    """Target distributions over one head's ``n`` bins: a Gaussian of sd ``label_sigma`` bins
    centred on each label, normalised over the grid (cut at its ends); one-hot for sigma 0.

    :param labels: (B,) int64 bin indices. :return: (B, n) float rows summing to 1.
    """
    if label_sigma <= 0:
        return th.nn.functional.one_hot(labels, n).float()
    bins = th.arange(n, device=labels.device, dtype=th.float32)
    logits = -0.5 * ((bins[None, :] - labels[:, None].float()) / label_sigma) ** 2
    return th.softmax(logits, dim=1)


def multi_head_cross_entropy(
    logits: th.Tensor, action_dims: Sequence[int], labels: th.Tensor, label_sigma: float = 0.0
) -> tuple[th.Tensor, th.Tensor]:
    """Cross-entropy of each action head against its label, summed over the heads.

    :param logits: (B, Σ action_dims), the heads' logits side by side.
    :param action_dims: the size of each head, e.g. (21, 21, 21).
    :param labels: (B, n_heads) int64 grid indices.
    :param label_sigma: sd, in grid steps, of the Gaussian target around each label (0: one-hot,
        eq. 8 literally); see :func:`label_targets`.
    :return: (loss, accuracy): the scalar loss, and the fraction of rows whose argmax matches
        the label on every head (a detached scalar tensor).
    """
    parts = th.split(logits, list(action_dims), dim=1)
    loss = th.zeros((), device=logits.device)
    for i, part in enumerate(parts):
        if label_sigma > 0:
            target = label_targets(labels[:, i], part.shape[1], label_sigma)
            loss = loss - (target * th.log_softmax(part, dim=1)).sum(1).mean()
        else:
            loss = loss + th.nn.functional.cross_entropy(part, labels[:, i])
    with th.no_grad():
        hits = th.stack([part.argmax(1) == labels[:, i] for i, part in enumerate(parts)], 1)
        accuracy = hits.all(1).float().mean()
    return loss, accuracy
