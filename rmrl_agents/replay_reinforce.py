"""RL + Replay Buffer: the REINFORCE gradient on batches replayed from past trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.type_aliases import GymEnv, Schedule

from rmrl_agents.common.grid_algorithm import DEFAULT_ENT_COEF, DEFAULT_LEARNING_RATE, GridAlgorithm
from rmrl_agents.common.losses import BaselineKind
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.policies import RoleModelPolicy


class ReplayREINFORCE(GridAlgorithm):
    """REINFORCE whose updates use batches of past trials (the paper's "RL + Replay Buffer").

    The buffer is the tail of the on-disk trial log (this model's last ``buffer_size`` trials),
    so it survives restarts. Past samples are reused without importance weights — the
    distribution mismatch the paper attributes to this baseline.

    :param buffer_size: trials the buffer holds (default 1000).
    :param batch_size: trials per update (default 16).
    :param learning_starts: trials before the first update (default 1).
    :param train_freq: update every this many trials (default 1).
    :param gradient_steps: updates each time (default 1).
    :param include_latest: always put the trial just finished in the batch (default True).
    Other parameters: see :class:`~rmrl_agents.common.grid_algorithm.GridAlgorithm`.
    """

    def __init__(
        self,
        policy: str | type[RoleModelPolicy],
        env: GymEnv | str | None,
        learning_rate: float | Schedule = DEFAULT_LEARNING_RATE,
        buffer_size: int = 1000,
        batch_size: int = 16,
        learning_starts: int = 1,
        train_freq: int = 1,
        gradient_steps: int = 1,
        include_latest: bool = True,
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
        if min(buffer_size, batch_size, train_freq) < 1 or gradient_steps < 0:
            raise ValueError("buffer_size, batch_size and train_freq must be ≥ 1 and gradient_steps ≥ 0")
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.learning_starts = learning_starts
        self.train_freq = train_freq
        self.gradient_steps = gradient_steps
        self.include_latest = include_latest
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

    def buffer_indices(self, upto: int) -> np.ndarray:
        """Trial-log indices in the buffer once trial ``upto - 1`` has happened."""
        start = max(self.log_start, upto - self.buffer_size)
        return np.arange(start, upto)

    def _process_trial(self, trial: Trial) -> None:
        buffer = self.buffer_indices(trial.index + 1)
        n_seen = trial.index + 1 - self.log_start
        if len(buffer) >= self.learning_starts and n_seen % self.train_freq == 0:
            for _ in range(self.gradient_steps):
                self._replay_step(buffer, trial.index)
        self.baseline.update(trial.reward)

    def _replay_step(self, buffer: np.ndarray, latest: int) -> None:
        n = min(self.batch_size, len(buffer))
        if self.include_latest:
            others = buffer[buffer != latest]
            picked = self._rng.choice(others, size=min(n - 1, len(others)), replace=False) if n > 1 else np.array([], np.int64)
            batch = np.sort(np.append(picked, latest).astype(np.int64))
        else:
            batch = np.sort(self._rng.choice(buffer, size=n, replace=False))
        log = self.trial_log
        self.policy_gradient_update(log.get("image", batch), log.poses()[batch], log.actions()[batch], log.rewards()[batch])
