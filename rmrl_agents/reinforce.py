"""Standard RL: REINFORCE with one online policy-gradient update per trial (paper eq. 6)."""

from __future__ import annotations

from rmrl_agents.common import OneStepPolicyGradient, Trial


class REINFORCE(OneStepPolicyGradient):
    """REINFORCE on the one-step cell-plate MDP: after each trial, one step on
    ``-(R - b)·log π(a|s)`` for that trial alone (the paper's "Standard RL").

    Every trial starts a new scene (the env's default reset). Parameters: see
    :class:`~rmrl_agents.common.OneStepPolicyGradient` (learning_rate 3e-4, reward_baseline
    "mean", max_grad_norm 1.0, data_dir ...).

    Example::

        model = REINFORCE("MultiInputPolicy", "CellPlatePlace-sim-v0", seed=0)
        model.learn(200, progress_bar=True)
        action, _ = model.predict(obs, deterministic=True)
    """

    def _process_trial(self, trial: Trial) -> None:
        self._online_update(trial)
