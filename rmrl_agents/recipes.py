"""The paper's recipe for the grid agents, in one place, beside the improved defaults.

The agents' defaults are the improved core (heads that start around the zero adjustment, a mean
readout, normalised advantages, an entropy bonus and smoothed role-model labels), chosen by one
ablation for every grid agent alike
(``benchmarks/learner_ablation.py``). They are this project's, not the paper's.

The paper's recipe, as close as its text allows (its network starts "close to uniform" here,
as nothing in the paper says otherwise):

=====================  =========================  ==================================
setting                paper                      default here
=====================  =========================  ==================================
heads' start           uniform                    Gaussian, 3 grid steps, at zero
deterministic action   argmax                     per-head mean, snapped to the grid
advantage              R (eq. 6: b = 0)           (R - running mean) / running sd
entropy bonus          none                       0.01
Adam learning rate     not given (3e-4 here)      1e-3
role-model label       one-hot (eq. 8)            Gaussian, 2 grid steps
CE steps per scene     1                          1 (the sim's ablation)
=====================  =========================  ==================================

``paper_kwargs("RMRL")`` gives the keyword arguments that make an agent the paper's::

    model = RMRL("MultiInputPolicy", env, **paper_kwargs("RMRL"))

(``policy_kwargs`` given as well are merged over the paper's.) The benchmark's ``RMRL-paper``
method is exactly this.
"""

from __future__ import annotations

from typing import Any

#: the paper's network: a uniform start, read out by argmax
PAPER_POLICY_KWARGS: dict[str, Any] = {"init_spread_bins": None, "readout": "argmax"}
#: the paper's policy-gradient step (eq. 6): no baseline, no scale, no entropy bonus; the paper
#: gives no learning rate: 3e-4, SB3's Adam default and this project's before the ablation
PAPER_PG_KWARGS: dict[str, Any] = {
    "reward_baseline": "none",
    "normalize_advantage": False,
    "ent_coef": 0.0,
    "learning_rate": 3e-4,
}
#: the paper's RM-RL on top: one-hot labels (eq. 8), one cross-entropy step per scene (the
#: default's value too, written here so the recipe stays the paper's if the default moves)
PAPER_RMRL_KWARGS: dict[str, Any] = {"label_sigma": 0.0, "scene_epochs": 1}
#: agents that have a paper recipe
PAPER_AGENTS = ("REINFORCE", "ReplayREINFORCE", "RMRL")


def paper_kwargs(agent: str, policy_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments that give ``agent`` ("REINFORCE", "ReplayREINFORCE" or "RMRL") the paper's
    recipe; ``policy_kwargs`` (the network's size, say) are merged over the paper's network settings."""
    if agent not in PAPER_AGENTS:
        raise ValueError(f"no paper recipe for {agent!r}; the paper's grid agents are {list(PAPER_AGENTS)}")
    kwargs: dict[str, Any] = {**PAPER_PG_KWARGS, "policy_kwargs": {**PAPER_POLICY_KWARGS, **(policy_kwargs or {})}}
    if agent == "RMRL":
        kwargs.update(PAPER_RMRL_KWARGS)
    return kwargs
