"""RM-RL: Role-Model Reinforcement Learning (paper §3.3).

Scene i = K consecutive trials under similar initial states (the env is asked for
``{"scene": "same"}`` between them). During the scene every trial gets an online
policy-gradient update (eq. 6). When the scene ends:

* role model (eq. 2): ``a*_i = argmax_k R(a_{i,k}, s_{i,k})`` — the scene's best trial;
* labelling (eq. 3-4): every state s_{i,k} of the scene gets the label I_i = indices of a*_i;
  the labels D_i are appended to the persistent dataset D (``model.dataset``);
* offline training on D_i (eq. 7-8): cross-entropy, ``scene_epochs`` steps on the K labels.

Every ``replay_freq`` trials, cross-entropy on a random batch of the whole D (data replay).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rmrl_agents.common import OneStepPolicyGradient, SceneOption, Trial
from rmrl_agents.dataset import RoleModelDataset


def select_role_model(rewards: Sequence[float]) -> int | None:
    """Index of the role model among a scene's trials (eq. 2): the highest reward.

    Ties go to the earliest trial; NaN rewards (no measurement) never win; None if no trial
    has a finite reward.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.size == 0 or not np.any(np.isfinite(r)):
        return None
    return int(np.argmax(np.where(np.isfinite(r), r, -np.inf)))  # argmax returns the first maximum


class RMRL(OneStepPolicyGradient):
    """Role-Model RL (and, after :meth:`pretrain`, Pretrained RM-RL).

    :param scene_size: K, trials per scene under similar initial states (default 5).
    :param learning_rate: Adam learning rate of the online policy-gradient updates (default 3e-4).
    :param ce_learning_rate: learning rate of the cross-entropy updates on D_i, on D and in
        pretraining (default: ``learning_rate``'s initial value).
    :param scene_epochs: cross-entropy steps on D_i (the whole scene as one batch) after each
        scene (default 1).
    :param replay_freq: every this many trials, cross-entropy on random batches of D
        (default 10; 0 turns data replay off).
    :param replay_batch_size: labels per replay batch (default 32, or all of D if smaller).
    :param replay_gradient_steps: replay batches each time (default 1).
    :param min_role_model_reward: a scene is labelled only if its best reward exceeds this
        (default 0.0: a scene whose trials all failed with reward 0 teaches nothing).
    :param online_updates: the per-trial policy-gradient update (default True).
    Other parameters: see :class:`~rmrl_agents.common.OneStepPolicyGradient`.
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        scene_size: int = 5,
        ce_learning_rate: float | None = None,
        scene_epochs: int = 1,
        replay_freq: int = 10,
        replay_batch_size: int = 32,
        replay_gradient_steps: int = 1,
        min_role_model_reward: float = 0.0,
        online_updates: bool = True,
        **kwargs: Any,
    ) -> None:
        if scene_size < 1 or replay_batch_size < 1 or scene_epochs < 0 or replay_freq < 0 or replay_gradient_steps < 0:
            raise ValueError("scene_size and replay_batch_size must be ≥ 1; scene_epochs, replay_freq, replay_gradient_steps ≥ 0")
        self.scene_size = scene_size
        self.ce_learning_rate = ce_learning_rate
        self.scene_epochs = scene_epochs
        self.replay_freq = replay_freq
        self.replay_batch_size = replay_batch_size
        self.replay_gradient_steps = replay_gradient_steps
        self.min_role_model_reward = min_role_model_reward
        self.online_updates = online_updates
        self._open_scene: list[int] = []  # trial-log indices of the scene in progress
        self._open_scene_id: int | None = None
        self._dataset: RoleModelDataset | None = None
        self.n_scenes_labelled = 0
        super().__init__(policy, env, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        if self.ce_learning_rate is None:
            self.ce_learning_rate = float(self.lr_schedule(1.0))

    # -- the role-model dataset ------------------------------------------------------------------
    @property
    def dataset(self) -> RoleModelDataset:
        """D, persisted under ``data_dir/role_model`` (opened on first use); ``len(model.dataset)``."""
        if self._dataset is None:
            shape = self._env_image_shape() if self.env is not None else None
            self._dataset = RoleModelDataset(
                self._data_path() / "role_model",
                image_shape=shape,
                action_nvec=self.action_space.nvec.tolist(),  # type: ignore[attr-defined]
                attrs={"env_id": self.env_id},
            )
        return self._dataset

    def close_storage(self) -> None:
        super().close_storage()
        if self._dataset is not None:
            self._dataset.close()
            self._dataset = None

    # -- scenes ---------------------------------------------------------------------------------------
    def _next_scene_option(self) -> SceneOption:
        # the current trial will be number len(open)+1 of its scene
        return "same" if len(self._open_scene) + 1 < self.scene_size else "new"

    def _on_env_reset(self) -> None:
        # the env was reset outside our control (start of learn / after loading): whatever
        # scene was open cannot be continued under the same initial state, so it ends here
        self.close_scene()
        super()._on_env_reset()

    def _process_trial(self, trial: Trial) -> None:
        if self._open_scene and trial.scene != self._open_scene_id:
            self.close_scene()
        self._open_scene.append(trial.index)
        self._open_scene_id = trial.scene
        if self.online_updates:
            self._online_update(trial)
        else:
            self._update_baseline(trial.reward)
        if len(self._open_scene) >= self.scene_size:
            self.close_scene()
        if self.replay_freq and self.num_timesteps % self.replay_freq == 0:
            self.replay_dataset()

    def close_scene(self) -> int | None:
        """End the open scene: pick its role model, label its states into D, train on D_i.

        Returns the trial-log index of the role model, or None (no open scene, or its best
        reward ≤ ``min_role_model_reward``: nothing labelled).
        """
        trials, self._open_scene = self._open_scene, []
        scene_id, self._open_scene_id = self._open_scene_id, None
        if not trials:
            return None
        log = self.trial_log
        rewards = log.rewards()[trials]
        k = select_role_model(rewards)
        if k is None or not rewards[k] > self.min_role_model_reward:
            self.logger.record_mean("rmrl/unlabelled_scenes", 1.0)
            return None
        role_model = trials[k]
        label = log.actions()[role_model]
        images, poses = log.get("image", trials), log.poses()[trials]
        data = self.dataset
        for j, t in enumerate(trials):
            if not data.contains_trial(t):  # idempotent when a scene is relabelled after a crash
                data.add(
                    images[j],
                    poses[j],
                    label,
                    scene=scene_id,
                    trial=t,
                    reward=rewards[j],
                    role_model_trial=role_model,
                    role_model_reward=rewards[k],
                )
        labels = np.repeat(label[None], len(trials), axis=0)
        for _ in range(self.scene_epochs):
            self.cross_entropy_update(images, poses, labels, self.ce_learning_rate, key="train/scene_ce_loss")  # type: ignore[arg-type]
        self.n_scenes_labelled += 1
        self.logger.record("rmrl/dataset_size", len(data))
        self.logger.record_mean("rmrl/role_model_reward", float(rewards[k]))
        return role_model

    def replay_dataset(self) -> None:
        """Data replay: cross-entropy on ``replay_gradient_steps`` random batches of D."""
        data = self.dataset
        if len(data) == 0:
            return
        for _ in range(self.replay_gradient_steps):
            n = min(self.replay_batch_size, len(data))
            idx = np.sort(self._rng.choice(len(data), size=n, replace=False))
            self.cross_entropy_update(*data.batch(idx), learning_rate=self.ce_learning_rate, key="train/replay_ce_loss")  # type: ignore[arg-type]
