"""SB3's logger as the one-step agents use it: configured on first use, no empty folders, and
every trial of a ``learn`` reaching the log."""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from stable_baselines3.common.logger import HumanOutputFormat, Logger
from stable_baselines3.common.utils import configure_logger, safe_mean


class RunLogger:
    """The logger of a one-step algorithm (a mixin of
    :class:`~rmrl_agents.common.one_step_algorithm.OneStepAlgorithm`)."""

    # set by SB3's BaseAlgorithm
    tensorboard_log: str | None
    verbose: int
    num_timesteps: int
    _num_timesteps_at_start: int
    _episode_num: int
    start_time: float
    ep_info_buffer: deque[dict[str, Any]] | None
    _logger: Logger

    if TYPE_CHECKING:  # provided by the algorithm; declared for the type checker only

        def _current_lr(self) -> float: ...

    @property
    def logger(self) -> Logger:
        """SB3's logger; configured on first use if ``learn`` has not set one up yet."""
        self._ensure_logger()
        return self._logger

    def _ensure_logger(self) -> None:
        if not hasattr(self, "_logger"):
            self._logger = self._default_logger(type(self).__name__)

    def _default_logger(self, tb_log_name: str) -> Logger:
        """SB3's logger, without the empty ``/tmp/SB3-<date>`` folder SB3 makes for every
        ``learn`` when nothing is written to files (no TensorBoard folder)."""
        if self.tensorboard_log is not None:
            return configure_logger(self.verbose, self.tensorboard_log, tb_log_name, True)
        return Logger(folder=None, output_formats=[HumanOutputFormat(sys.stdout)] if self.verbose >= 1 else [])

    def dump_last_logs(self, first_episode: int, log_interval: int) -> None:
        """At the end of ``learn``: dump the trials since the last dump (a run shorter than
        ``log_interval``, or the last partial interval), so that every trial reaches the log."""
        if log_interval and self._episode_num > first_episode and self._episode_num % log_interval:
            self.dump_logs()

    def dump_logs(self) -> None:
        """Write the logger: trial means since the last dump, rollout stats, time."""
        time_elapsed = max((time.time_ns() - self.start_time) / 1e9, sys.float_info.epsilon)
        fps = (self.num_timesteps - self._num_timesteps_at_start) / time_elapsed
        self.logger.record("time/episodes", self._episode_num, exclude="tensorboard")
        if self.ep_info_buffer:
            self.logger.record("rollout/ep_rew_mean", safe_mean([ep["r"] for ep in self.ep_info_buffer]))
        self.logger.record("time/fps", round(fps, 2))
        self.logger.record("time/time_elapsed", int(time_elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.record("train/learning_rate", self._current_lr())
        self.logger.dump(step=self.num_timesteps)
