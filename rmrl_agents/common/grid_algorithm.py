"""The grid agents' base: a :class:`RoleModelPolicy` over the MultiDiscrete grid, and the
policy-gradient update of paper eq. 6 that REINFORCE, ReplayREINFORCE and RM-RL share."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import obs_as_tensor

from rmrl_agents.common.losses import policy_gradient_loss
from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.policies import MultiInputPolicy, RoleModelPolicy, check_spaces


class GridAlgorithm(OneStepAlgorithm[RoleModelPolicy]):
    """Base class of REINFORCE, ReplayREINFORCE and RMRL (not used directly).

    The env's action is a MultiDiscrete grid index; the policy samples it from three softmax
    heads. Parameters: see :class:`~rmrl_agents.common.one_step_algorithm.OneStepAlgorithm`
    (``learning_rate``: Adam learning rate of the policy-gradient updates, default 3e-4).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MultiInputPolicy": MultiInputPolicy}
    policy_base: ClassVar[type[BasePolicy]] = RoleModelPolicy
    action_space: spaces.MultiDiscrete

    @staticmethod
    def _check_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
        check_spaces(observation_space, action_space)

    def _trial_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The action (1, 3) to try on the VecEnv observation ``obs`` (the policy's sample)."""
        self.policy.set_training_mode(False)
        with th.no_grad():
            return self.policy(obs_as_tensor(obs, self.device)).cpu().numpy()

    def policy_gradient_update(
        self, images: np.ndarray, poses: np.ndarray, actions: np.ndarray, rewards: np.ndarray | list[float]
    ) -> float:
        """One step on ``-mean (R - b)·log π(a|s)`` (eq. 6). Arrays: (B, *img), (B, 3), (B, 3), (B,). Returns the loss."""
        obs = self._obs_tensor(images, poses)
        adv = th.as_tensor(self.baseline.advantages(rewards), dtype=th.float32, device=self.device)
        dist = self.policy.get_distribution(obs)
        loss = policy_gradient_loss(dist.log_prob(th.as_tensor(actions, device=self.device)), adv)
        self._gradient_step(loss, self._current_lr())
        self.logger.record_mean("train/pg_loss", loss.item())
        entropy = dist.entropy()
        if entropy is not None:
            self.logger.record_mean("train/entropy", entropy.mean().item())
        return float(loss.item())

    def _online_update(self, trial: Trial) -> None:
        """The per-trial policy-gradient step (REINFORCE, RM-RL), then the baseline update."""
        self.policy_gradient_update(trial.image[None], trial.pose[None], trial.action[None], np.array([trial.reward]))
        self.baseline.update(trial.reward)


__all__ = ["GridAlgorithm"]
