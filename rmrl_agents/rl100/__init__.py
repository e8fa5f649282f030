"""RL100: a diffusion policy over continuous adjustments, improved by OPE-gated offline RL and
online PPO over its denoising steps, with a one-step consistency head for fast inference.

The parts (self-contained torch): :mod:`~rmrl_agents.rl100.ddim` (noise schedule, stochastic
K-step DDIM with per-step log-likelihoods), :mod:`~rmrl_agents.rl100.denoiser` (ε_θ),
:mod:`~rmrl_agents.rl100.critics` (Q_ψ, V_ψ for one-step episodes),
:mod:`~rmrl_agents.rl100.objectives` (imitation loss, PPO surrogate, OPE gate) and
:mod:`~rmrl_agents.rl100.consistency` (one-step head); :class:`RL100` (``rl100.py``) trains them in
the stages of RL-100 on the continuous envs.
"""

from rmrl_agents.rl100.consistency import ConsistencyHead, distillation_loss
from rmrl_agents.rl100.critics import Critics, expectile_loss
from rmrl_agents.rl100.ddim import DDIMSampler, make_alpha_bar
from rmrl_agents.rl100.denoiser import ConditionalActionMLP, Denoiser
from rmrl_agents.rl100.objectives import (
    GateDecision,
    estimate_value,
    imitation_loss,
    ope_gate,
    paired_q,
    ppo_denoising_loss,
    ppo_update,
)
from rmrl_agents.rl100.policy import RL100Policy
from rmrl_agents.rl100.rl100 import RL100

__all__ = [
    "RL100",
    "ConditionalActionMLP",
    "ConsistencyHead",
    "Critics",
    "DDIMSampler",
    "Denoiser",
    "GateDecision",
    "RL100Policy",
    "distillation_loss",
    "estimate_value",
    "expectile_loss",
    "imitation_loss",
    "make_alpha_bar",
    "ope_gate",
    "paired_q",
    "ppo_denoising_loss",
    "ppo_update",
]
