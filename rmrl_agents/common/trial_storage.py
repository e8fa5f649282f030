"""The trial log side of the one-step algorithms: where a model's trials go on disk, and how a
model catches up with trials its weights have not seen (after a crash, or a lost checkpoint).

:class:`TrialStorage` is a mixin of :class:`~rmrl_agents.common.one_step_algorithm.OneStepAlgorithm`;
it reads the attributes SB3's ``BaseAlgorithm`` and the one-step base set, declared below.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from rmrl_agents.common.env_signature import env_signature
from rmrl_agents.common.preprocessing import image_shape
from rmrl_agents.common.trial_sync import Trial, last_scene, open_trial_log, unseen_trials
from rmrl_agents.stores.trial_log import TrialLog


class TrialStorage:
    """The trial log of a one-step algorithm and the replay of logged trials."""

    # set by SB3's BaseAlgorithm
    env: VecEnv | None
    observation_space: spaces.Space
    verbose: int
    num_timesteps: int
    _episode_num: int
    seed: int | None
    # set by the one-step base
    data_dir: str | None
    env_id: str | None
    _trial_log: TrialLog | None
    _log_start: int | None
    _log_position: int | None
    _scene_counter: int
    _rng: np.random.Generator

    if TYPE_CHECKING:  # provided by the classes this one is mixed into; declared for the type checker only

        def _ensure_logger(self) -> None: ...

        def _process_trial(self, trial: Trial) -> None: ...

        def set_random_seed(self, seed: int | None = None) -> None: ...

    def _data_path(self) -> Path:
        if self.data_dir is None:
            self.data_dir = tempfile.mkdtemp(prefix=f"rmrl-{type(self).__name__.lower()}-")
            if self.verbose >= 1:
                print(f"{type(self).__name__}: trials are logged under {self.data_dir}")
        return Path(self.data_dir)

    def _env_image_shape(self) -> tuple[int, ...]:
        """Image shape as the env gives it (before SB3 transposes it to channel-first)."""
        if self.env is None:
            raise RuntimeError("this model has no env; pass env= to load() or set_env() before learning")
        return image_shape(self.env.unwrapped.observation_space)

    def _policy_image_shape(self) -> tuple[int, ...]:
        """Image shape as the policy takes it (channel-first after SB3's transpose)."""
        return image_shape(self.observation_space)

    @property
    def trial_log(self) -> TrialLog:
        """The on-disk log of every trial of this model's runs (opened on first use)."""
        if self._trial_log is None:
            shape = self._env_image_shape() if self.env is not None else None
            action_space = getattr(self, "action_space", None)
            nvec = [int(n) for n in action_space.nvec] if isinstance(action_space, spaces.MultiDiscrete) else None
            sig = env_signature(self.env) if self.env is not None else None
            self._trial_log = open_trial_log(self._data_path() / "trials", shape, self.env_id, nvec, sig)
        return self._trial_log

    @property
    def log_start(self) -> int:
        """Index of this model's first trial in the trial log (0 before any sync)."""
        return self._log_start or 0

    def close_storage(self) -> None:
        """Release the on-disk stores (their locks); they reopen on next use."""
        if self._trial_log is not None:
            self._trial_log.close()
            self._trial_log = None

    def sync_with_log(self) -> int:
        """Bring the model up to date with trials on disk that its weights have not seen.

        A checkpoint records how many trials of the log its weights have consumed. After a
        crash, the log may hold later trials (each is written as soon as it ends): they are
        processed now exactly as they were live (same updates, same scene bookkeeping,
        idempotent labelling), so at most the trial in flight is lost. A fresh model starts
        after whatever the log already holds. Returns the number of trials replayed.
        """
        log = self.trial_log
        self._ensure_logger()
        if self._log_position is None:  # a fresh model: start after what the directory holds
            self._log_start = self._log_position = len(log)
            self._scene_counter = last_scene(log)
            return 0
        n = 0
        for trial in unseen_trials(log, self._log_position):
            self.num_timesteps += 1
            self._episode_num += 1
            self._scene_counter = trial.scene
            self._process_trial(trial)
            self._log_position = trial.index + 1
            n += 1
        if n and self.verbose >= 1:
            print(f"{type(self).__name__}: caught up with {n} logged trial(s) the checkpoint had not seen")
        return n

    def restart_from_log(self) -> int:
        """Rebuild a new model's state by replaying the whole trial log (its checkpoint was lost).

        Every logged trial is processed as it was live (updates, scenes, labels — idempotent);
        then the random streams are reseeded past the replayed trials, as loading a checkpoint
        does, so the run does not repeat its first scenes. Returns the number of trials replayed.
        """
        self._log_start = self._log_position = 0
        n = self.sync_with_log()
        seed = None if self.seed is None else self.seed + self.num_timesteps
        self.set_random_seed(seed)
        self._rng = np.random.default_rng(seed)
        return n
