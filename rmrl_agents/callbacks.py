"""SB3 callbacks for long, crash-prone runs."""

from __future__ import annotations

import os
from pathlib import Path

from stable_baselines3.common.callbacks import BaseCallback


class CheckpointCallback(BaseCallback):
    """Save the model to one file, atomically, at the start, every ``save_freq`` trials and at the end.

    The file is written under a temporary name and renamed, so a kill during saving leaves the
    previous checkpoint intact. Together with the trial log (which the model catches up on
    after loading, see ``OneStepAlgorithm.sync_with_log``) a crash loses at most the trial
    in flight.

    :param path: checkpoint file (``.zip``).
    :param save_freq: trials between saves (default 10).
    """

    def __init__(self, path: str | Path, save_freq: int = 10, verbose: int = 0) -> None:
        super().__init__(verbose)
        if save_freq < 1:
            raise ValueError(f"save_freq must be ≥ 1, got {save_freq}")
        self.path = Path(path)
        self.save_freq = save_freq

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.stem + ".partial.zip")
        self.model.save(tmp)
        os.replace(tmp, self.path)
        if self.verbose >= 1:
            print(f"checkpoint: {self.path} at {self.model.num_timesteps} trials")

    def _on_training_start(self) -> None:
        self.save()

    def _on_step(self) -> bool:
        if self.model.num_timesteps % self.save_freq == 0:
            self.save()
        return True

    def _on_training_end(self) -> None:
        self.save()
