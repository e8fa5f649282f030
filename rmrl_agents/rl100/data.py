"""Prior data for RL100: role-model datasets and trial logs as (image, pose, action, reward) arrays.

RL-100 starts from teleoperated demonstrations; here the role-model dataset of an RM-RL run
stands in for them. Its labels are grid indices: they are mapped to the continuous action of
the same adjustment (``a = Δ / [max_xy_m, max_xy_m, max_yaw_rad]`` in [-1, 1]) through the env's
grid. Each label's reward is its role model's reward (the best trial of the labelled state's
scene, so a state of nearly the same initial pose). Trial logs of continuous runs enter as
they are: the action taken and the reward measured.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rmrl_agents.errors import DatasetError
from rmrl_agents.stores.dataset import RoleModelDataset, as_dataset
from rmrl_agents.stores.trial_log import TrialLog
from rmrl_env.actions import ContinuousAdjustment
from rmrl_env.grid import CandidateGrid

PriorSource = str | Path | RoleModelDataset | TrialLog


@dataclass
class Transitions:
    """One-step transitions: images (N, H, W, 3) uint8 (env layout), poses (N, 3) [m, m, rad],
    actions (N, 3) float32 in [-1, 1], rewards (N,) float32 (NaN: none measured)."""

    images: np.ndarray
    poses: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @classmethod
    def empty(cls, image_shape: Sequence[int]) -> Transitions:
        return cls(
            np.zeros((0, *image_shape), np.uint8),
            np.zeros((0, 3), np.float32),
            np.zeros((0, 3), np.float32),
            np.zeros(0, np.float32),
        )

    def concat(self, other: Transitions) -> Transitions:
        return Transitions(
            np.concatenate([self.images, other.images]),
            np.concatenate([self.poses, other.poses]),
            np.concatenate([self.actions, other.actions]),
            np.concatenate([self.rewards, other.rewards]),
        )


def grid_labels_to_actions(labels: np.ndarray, grid: CandidateGrid) -> np.ndarray:
    """Grid indices (N, 3) → continuous actions (N, 3) float32 of the same adjustment, in [-1, 1].

    :raises DatasetError: an index lies outside ``grid``.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1, 3)
    nvec = np.asarray(grid.nvec)
    if np.any(labels < 0) or np.any(labels >= nvec):
        raise DatasetError(f"grid labels outside the grid {nvec.tolist()}")
    adjustment = np.stack([grid.dx_m[labels[:, 0]], grid.dy_m[labels[:, 1]], grid.dyaw_rad[labels[:, 2]]], axis=1)
    return np.clip(adjustment / ContinuousAdjustment(grid).scale, -1.0, 1.0).astype(np.float32)


def _is_trial_log(path: Path) -> bool:
    meta = path / "meta.json"
    if not meta.exists():
        return False
    try:
        return json.loads(meta.read_text()).get("kind") == TrialLog.KIND
    except (OSError, json.JSONDecodeError):
        return False


def load_prior(source: PriorSource, grid: CandidateGrid, image_shape: Sequence[int]) -> Transitions:
    """Transitions from a role-model dataset (object or directory, or a run's directory holding
    ``role_model/``) or a continuous trial log (object or directory).

    :raises DatasetError: labels of another grid, images of another shape, a grid trial log, or
        an empty source.
    """
    if isinstance(source, (str, Path)) and _is_trial_log(Path(source)):
        source = TrialLog(source, writable=False)
    if isinstance(source, TrialLog):
        if source.attrs.get("action_type", "grid") != "continuous":
            raise DatasetError(
                f"{source.path} logs grid actions; RL100 learns from continuous trial logs or role-model datasets "
                "(pass the run's role_model/ directory)"
            )
        transitions = Transitions(
            source.get("image", np.arange(len(source))),
            source.poses(),
            np.asarray(source.column("action"), dtype=np.float32).reshape(-1, 3),
            source.rewards().astype(np.float32),
        )
        path = source.path
    else:
        data = as_dataset(source)
        data.check_compatible(action_nvec=[int(n) for n in grid.nvec], image_shapes=[tuple(image_shape)])
        rewards = np.asarray([np.nan if r is None else r for r in data.column("role_model_reward")], dtype=np.float32)
        transitions = Transitions(
            data.get("image", np.arange(len(data))), data.poses(), grid_labels_to_actions(data.labels(), grid), rewards
        )
        path = data.path
    if tuple(transitions.images.shape[1:]) != tuple(image_shape):
        raise DatasetError(f"{path} holds images of shape {transitions.images.shape[1:]}, the env gives {tuple(image_shape)}")
    if len(transitions) == 0:
        raise DatasetError(f"{path} holds no transitions")
    return transitions


__all__ = ["PriorSource", "Transitions", "grid_labels_to_actions", "load_prior"]
