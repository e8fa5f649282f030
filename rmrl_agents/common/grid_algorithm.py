"""The grid agents' base: a :class:`RoleModelPolicy` over the MultiDiscrete grid, and the
policy-gradient core that REINFORCE, ReplayREINFORCE and RM-RL share (the paper trains all three
with the same policy-gradient method, eq. 6).

The core, for one noisy scalar reward per trial (each choice can be turned back to the paper's):

* **baseline and scale**: ``A = (R - b) / sd``, b the running mean of the rewards and sd their
  running standard deviation (:class:`~rmrl_agents.common.losses.RewardBaseline`). Adam's step is
  blind to a common scale of the loss; in units of the reward's sd a trial moves the policy in
  proportion to how unusual its reward was (``normalize_advantage``);
* **exploration control**: an entropy bonus ``ent_coef · H(π(·|s))`` (Williams & Peng 1991;
  the ``ent_coef`` of SB3's A2C and PPO) keeps the heads from collapsing onto one action on noise;
* **a local start**: the heads start as a Gaussian around the zero adjustment
  (``policy_kwargs["init_spread_bins"]``), so the first greedy action is "no correction" and
  exploration is local to the current mode.

The defaults were chosen by one ablation over seeds for every grid agent alike
(``benchmarks/learner_ablation.py``); :mod:`rmrl_agents.recipes` keeps the paper's settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from stable_baselines3.common.utils import obs_as_tensor

from rmrl_agents.common.exploration import AXES, WINDOW, commonest_share
from rmrl_agents.common.losses import BaselineKind, policy_gradient_loss
from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm, SceneOption
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.policies import MultiInputPolicy, RoleModelPolicy, check_spaces

#: the entropy bonus of the grid agents' policy-gradient step (chosen by the ablation)
DEFAULT_ENT_COEF = 0.01
#: Adam's learning rate of the grid agents (chosen by the ablation: 1e-3 beat 3e-4, the earlier
#: default, for RM-RL by more than the seed-to-seed interval and was no worse for the others)
DEFAULT_LEARNING_RATE = 1e-3
#: policy keywords of a model saved before the heads had a local start and a readout: the
#: network it was trained as (a uniform start, argmax), so that it predicts as before
_LEGACY_POLICY_KWARGS: dict[str, Any] = {"init_spread_bins": None, "readout": "argmax"}


class GridAlgorithm(OneStepAlgorithm[RoleModelPolicy]):
    """Base class of REINFORCE, ReplayREINFORCE and RMRL (not used directly).

    The env's action is a MultiDiscrete grid index; the policy samples it from three softmax
    heads.

    :param ent_coef: weight of the heads' entropy in the policy-gradient loss (default
        :data:`DEFAULT_ENT_COEF`; 0: eq. 6 without a bonus).
    :param normalize_advantage: divide ``R - b`` by the running sd of the rewards (default True).
    Other parameters: see :class:`~rmrl_agents.common.one_step_algorithm.OneStepAlgorithm`
    (``learning_rate``: Adam learning rate of the policy-gradient updates, default
    :data:`DEFAULT_LEARNING_RATE`).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MultiInputPolicy": MultiInputPolicy}
    policy_base: ClassVar[type[BasePolicy]] = RoleModelPolicy
    action_space: spaces.MultiDiscrete

    def __init__(
        self,
        policy: str | type[RoleModelPolicy],
        env: GymEnv | str | None,
        learning_rate: float | Schedule = DEFAULT_LEARNING_RATE,
        ent_coef: float = DEFAULT_ENT_COEF,
        normalize_advantage: bool = True,
        reward_baseline: BaselineKind = "mean",
        baseline_decay: float = 0.9,
        max_grad_norm: float | None = 1.0,
        data_dir: str | Path | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if not ent_coef >= 0:
            raise ValueError(f"ent_coef must be >= 0, got {ent_coef!r}")
        self.ent_coef = float(ent_coef)
        self._last_entropy: np.ndarray | None = None  # per head, at the state of the trial in progress
        if _init_setup_model:  # a new model; a loaded file says which policy keywords it was saved with
            self.policy_format = 2
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            reward_baseline=reward_baseline,
            baseline_decay=baseline_decay,
            max_grad_norm=max_grad_norm,
            data_dir=data_dir,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=_init_setup_model,
        )
        self.baseline.normalize = bool(normalize_advantage)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_last_entropy"]

    @property
    def normalize_advantage(self) -> bool:
        """Whether the advantages are divided by the running reward sd."""
        return self.baseline.normalize

    def _setup_model(self) -> None:
        if getattr(self, "policy_format", 1) < 2:  # saved before the local start and the readout
            self.policy_kwargs = {**_LEGACY_POLICY_KWARGS, **self.policy_kwargs}
        super()._setup_model()

    @staticmethod
    def _check_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
        check_spaces(observation_space, action_space)

    def _trial_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The action (1, 3) to try on the VecEnv observation ``obs`` (the policy's sample)."""
        self.policy.set_training_mode(False)
        with th.no_grad():
            dist = self.policy.get_distribution(obs_as_tensor(obs, self.device))
            # each head's entropy (nats), from its torch Categorical
            self._last_entropy = th.stack([head.entropy() for head in dist.distribution], dim=1)[0].cpu().numpy()
            return dist.get_actions(deterministic=False).cpu().numpy()

    def _trial_record_extras(self) -> dict[str, Any]:
        entropy = self._last_entropy
        return {} if entropy is None else {"policy_entropy": [round(float(v), 5) for v in entropy]}

    def _finish_trial(self, trial: Trial, option: SceneOption | None) -> None:
        super()._finish_trial(trial, option)
        entropy = trial.record.get("policy_entropy") if trial.record else None
        if entropy is not None:
            for axis, value in zip(AXES, entropy, strict=False):
                self.logger.record_mean(f"explore/entropy_{axis}_nats", float(value))
        window = self.trial_log.records[max(self.log_start, trial.index + 1 - WINDOW) : trial.index + 1]
        recent = np.asarray([record["action"] for record in window], dtype=np.int64)  # not the whole log's column
        self.logger.record(f"explore/commonest_share_{WINDOW}", commonest_share(recent))

    def policy_gradient_update(
        self, images: np.ndarray, poses: np.ndarray, actions: np.ndarray, rewards: np.ndarray | list[float]
    ) -> float:
        """One step on ``-mean A·log π(a|s) - ent_coef·mean H`` (eq. 6 with the core's baseline, scale and
        bonus). Arrays: (B, *img), (B, 3), (B, 3), (B,). Returns the loss."""
        obs = self._obs_tensor(images, poses)
        adv = th.as_tensor(self.baseline.advantages(rewards), dtype=th.float32, device=self.device)
        dist = self.policy.get_distribution(obs)
        entropy = dist.entropy()
        loss = policy_gradient_loss(dist.log_prob(th.as_tensor(actions, device=self.device)), adv, entropy, self.ent_coef)
        self._gradient_step(loss, self._current_lr())
        self.logger.record_mean("train/pg_loss", loss.item())
        if entropy is not None:
            self.logger.record_mean("train/entropy", entropy.mean().item())
        return float(loss.item())

    def _online_update(self, trial: Trial) -> None:
        """The per-trial policy-gradient step (REINFORCE, RM-RL), then the baseline update."""
        self.policy_gradient_update(trial.image[None], trial.pose[None], trial.action[None], np.array([trial.reward]))
        self.baseline.update(trial.reward)


__all__ = ["DEFAULT_ENT_COEF", "DEFAULT_LEARNING_RATE", "GridAlgorithm"]
