"""Standard RL: REINFORCE with one online policy-gradient update per trial (paper eq. 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch as th
from stable_baselines3.common.type_aliases import GymEnv, Schedule

from rmrl_agents.common.grid_algorithm import DEFAULT_ENT_COEF, DEFAULT_LEARNING_RATE, GridAlgorithm
from rmrl_agents.common.losses import BaselineKind
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.policies import RoleModelPolicy


class REINFORCE(GridAlgorithm):
    """REINFORCE on the one-step cell-plate MDP: after each trial, one step on
    ``-(R - b)·log π(a|s)`` for that trial alone (the paper's "Standard RL").

    Every trial starts a new scene (the env's default reset). Parameters: see
    :class:`~rmrl_agents.common.grid_algorithm.GridAlgorithm`.

    Example::

        model = REINFORCE("MultiInputPolicy", "CellPlatePlace-sim-v0", seed=0)
        model.learn(200, progress_bar=True)
        action, _ = model.predict(obs, deterministic=True)
    """

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
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            ent_coef=ent_coef,
            normalize_advantage=normalize_advantage,
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

    def _process_trial(self, trial: Trial) -> None:
        self._online_update(trial)
