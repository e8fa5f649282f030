"""RM-RL: Role-Model Reinforcement Learning (paper §3.3).

Scene i = K consecutive trials under similar initial states (the env is asked for
``{"scene": "same"}`` between them). During the scene every trial gets an online
policy-gradient update (eq. 6). When the scene ends:

* role model (eq. 2): ``a*_i = argmax_k R(a_{i,k}, s_{i,k})`` — the scene's best trial;
* labelling (eq. 3-4): every state s_{i,k} of the scene gets the label I_i = indices of a*_i;
  the labels D_i are appended to the persistent dataset D (``model.dataset``);
* offline training on D_i (eq. 7-8): cross-entropy, ``scene_epochs`` steps on the K labels.

Every ``replay_freq`` trials, cross-entropy on a random batch of the whole D (data replay).

Beyond the paper (each can be set back: :mod:`rmrl_agents.recipes` has the paper's settings):
the cross-entropy targets are Gaussians of ``label_sigma`` grid steps around the label rather than
one-hot (neighbouring 1 mm bins share the label's weight), and the policy-gradient core of
:class:`~rmrl_agents.common.grid_algorithm.GridAlgorithm` (normalised advantages, an entropy
bonus, heads that start around the zero adjustment).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.type_aliases import GymEnv, Schedule

from rmrl_agents.common.env_signature import check_signature, env_signature
from rmrl_agents.common.grid_algorithm import DEFAULT_ENT_COEF, DEFAULT_LEARNING_RATE, GridAlgorithm
from rmrl_agents.common.losses import BaselineKind, multi_head_cross_entropy
from rmrl_agents.common.one_step_algorithm import SceneOption
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.errors import DatasetError
from rmrl_agents.policies import RoleModelPolicy
from rmrl_agents.stores.dataset import RoleModelDataset, as_dataset

#: sd of the cross-entropy targets around a role-model label, grid steps (chosen by the ablation
#: in ``benchmarks/learner_ablation.py``; 0 is the paper's one-hot eq. 8)
DEFAULT_LABEL_SIGMA = 2.0
#: cross-entropy steps on a finished scene's labels: 1, the paper's value. The synthetic ablation
#: kept 5, but on the sim (10 seeds x 2 cells, 200 trials; README "The learners on the current
#: cell") 1 step beat 5 by 1.13 [0.50, 2.06] mm, more than the interval, so the sim decided
DEFAULT_SCENE_EPOCHS = 1


def select_role_model(rewards: Sequence[float] | np.ndarray) -> int | None:
    """Index of the role model among a scene's trials (eq. 2): the highest reward.

    Ties go to the earliest trial; NaN rewards (no measurement) never win; None if no trial
    has a finite reward.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.size == 0 or not np.any(np.isfinite(r)):
        return None
    return int(np.argmax(np.where(np.isfinite(r), r, -np.inf)))  # argmax returns the first maximum


class RMRL(GridAlgorithm):
    """Role-Model RL (and, after :meth:`pretrain`, Pretrained RM-RL).

    :param scene_size: K, trials per scene under similar initial states (default 5).
    :param learning_rate: Adam learning rate of the online policy-gradient updates (default
        :data:`~rmrl_agents.common.grid_algorithm.DEFAULT_LEARNING_RATE`).
    :param ce_learning_rate: learning rate of the cross-entropy updates on D_i, on D and in
        pretraining (default: ``learning_rate``'s initial value).
    :param scene_epochs: cross-entropy steps on D_i (the whole scene as one batch) after each
        scene (default :data:`DEFAULT_SCENE_EPOCHS`).
    :param label_sigma: sd, in grid steps, of the Gaussian cross-entropy target around each
        label (default :data:`DEFAULT_LABEL_SIGMA`; 0: one-hot, eq. 8 literally).
    :param replay_freq: every this many trials, cross-entropy on random batches of D
        (default 10; 0 turns data replay off).
    :param replay_batch_size: labels per replay batch (default 32, or all of D if smaller).
    :param replay_gradient_steps: replay batches each time (default 1).
    :param min_role_model_reward: a scene is labelled only if its best reward exceeds this
        (default 0.0: a scene whose trials all failed with reward 0 teaches nothing).
    :param online_updates: the per-trial policy-gradient update (default True).
    :param data_dir: directory of the trial log (``trials/``) and of D (``role_model/``).
    Other parameters: see :class:`~rmrl_agents.common.grid_algorithm.GridAlgorithm`.
    """

    def __init__(
        self,
        policy: str | type[RoleModelPolicy],
        env: GymEnv | str | None,
        learning_rate: float | Schedule = DEFAULT_LEARNING_RATE,
        scene_size: int = 5,
        ce_learning_rate: float | None = None,
        scene_epochs: int = DEFAULT_SCENE_EPOCHS,
        label_sigma: float = DEFAULT_LABEL_SIGMA,
        replay_freq: int = 10,
        replay_batch_size: int = 32,
        replay_gradient_steps: int = 1,
        min_role_model_reward: float = 0.0,
        online_updates: bool = True,
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
        if scene_size < 1 or replay_batch_size < 1 or scene_epochs < 0 or replay_freq < 0 or replay_gradient_steps < 0:
            raise ValueError("scene_size and replay_batch_size must be ≥ 1; scene_epochs, replay_freq, replay_gradient_steps ≥ 0")
        if not label_sigma >= 0:
            raise ValueError(f"label_sigma must be >= 0 grid steps (0: one-hot labels), got {label_sigma!r}")
        self.scene_size = scene_size
        self.label_sigma = float(label_sigma)
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
        self.pretrained_from: str | None = None
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

    def _setup_model(self) -> None:
        super()._setup_model()
        if self.ce_learning_rate is None:
            self.ce_learning_rate = float(self.lr_schedule(1.0))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_dataset"]

    @property
    def _ce_lr(self) -> float:
        """The learning rate of the cross-entropy updates."""
        return self.ce_learning_rate if self.ce_learning_rate is not None else float(self.lr_schedule(1.0))

    # -- the role-model dataset ------------------------------------------------------------------
    @property
    def dataset(self) -> RoleModelDataset:
        """D, persisted under ``data_dir/role_model`` (opened on first use); ``len(model.dataset)``."""
        if self._dataset is None:
            shape = self._env_image_shape() if self.env is not None else None
            sig = env_signature(self.env) if self.env is not None else None
            path = self._data_path() / "role_model"
            data = RoleModelDataset(
                path,
                image_shape=shape,
                action_nvec=[int(n) for n in self.action_space.nvec],
                attrs={"env_id": self.env_id, "env": sig},
            )
            if sig is not None:
                try:
                    check_signature(
                        data.attrs.get("env"),
                        sig,
                        f"the role-model dataset {path}",
                        "continue it with the same env, or use another data_dir",
                        config_must_match=True,
                    )
                except ValueError:
                    data.close()
                    raise
            self._dataset = data
        return self._dataset

    def sync_with_log(self) -> int:
        # open (and check) D before the first trial, not when the first scene ends
        _ = self.dataset
        return super().sync_with_log()

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
            self.baseline.update(trial.reward)
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
            trial_time = log.records[t].get("time")
            if not data.contains_trial(t, trial_time):  # idempotent when a scene is relabelled after a crash
                data.add(
                    images[j],
                    poses[j],
                    label,
                    scene=scene_id,
                    trial=t,
                    trial_time=trial_time,
                    reward=rewards[j],
                    role_model_trial=role_model,
                    role_model_reward=rewards[k],
                )
        labels = np.repeat(label[None], len(trials), axis=0)
        for _ in range(self.scene_epochs):
            self.cross_entropy_update(images, poses, labels, self._ce_lr, key="train/scene_ce_loss")
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
            self.cross_entropy_update(*data.batch(idx), learning_rate=self._ce_lr, key="train/replay_ce_loss")

    # -- cross-entropy on role-model labels (eq. 8) and pretraining -------------------------------------
    def cross_entropy_update(
        self,
        images: np.ndarray,
        poses: np.ndarray,
        labels: np.ndarray,
        learning_rate: float,
        key: str = "train/ce_loss",
    ) -> float:
        """One step on ``-mean Σ_i Σ_bins q(bin|a*[i]) log π(bin|s)`` (eq. 8 with q one-hot, or a Gaussian of
        ``label_sigma`` grid steps around the label). Arrays: images (B, *img) uint8, poses
        (B, 3) [m, m, rad], labels (B, 3) grid indices. Logs the loss and the label accuracy; returns the loss."""
        obs = self._obs_tensor(images, poses)
        labels_t = th.as_tensor(labels, dtype=th.long, device=self.device)
        loss, accuracy = multi_head_cross_entropy(self.policy.logits(obs), self.policy.action_dims, labels_t, self.label_sigma)
        self._gradient_step(loss, learning_rate)
        self.logger.record_mean(key, float(loss.item()))
        self.logger.record_mean(key.replace("loss", "accuracy"), float(accuracy))
        return float(loss.item())

    def pretrain(
        self,
        dataset_or_path: RoleModelDataset | str | Path,
        n_epochs: int = 10,
        batch_size: int = 32,
        learning_rate: float | None = None,
    ) -> dict[str, float]:
        """Cross-entropy pretraining (eq. 8) on role-model labels from an earlier run (Pretrained RM-RL).

        :param dataset_or_path: a :class:`RoleModelDataset`, its directory, or a run's --out dir.
        :param n_epochs: passes over the dataset (default 10; the paper pretrained on ~200 labels).
        :param batch_size: labels per gradient step (default 32).
        :param learning_rate: default: ``ce_learning_rate``.
        :return: ``{"ce_loss": last epoch's mean loss, "accuracy": fraction of labels the
            deterministic policy then reproduces on all 3 heads, "n_labels": ..., "gradient_steps": ...}``.
        :raises DatasetError: the dataset is corrupt, empty, or made for another grid / image size.
        """
        data = as_dataset(dataset_or_path)
        shape = self._policy_image_shape()
        hwc = (shape[1], shape[2], shape[0])
        data.check_compatible(action_nvec=[int(n) for n in self.action_space.nvec], image_shapes=[shape, hwc])
        current = env_signature(self.env) if self.env is not None else self.env_signature
        if current is not None:
            check_signature(
                data.attrs.get("env"),
                current,
                f"the role-model dataset {data.path}",
                "its labels index another grid: pretrain on a dataset recorded with this env's grid and image size",
            )
        if len(data) == 0:
            raise DatasetError(f"{data.path} holds no labels to pretrain on")
        self._ensure_logger()
        lr = learning_rate if learning_rate is not None else self._ce_lr
        n, steps = len(data), 0
        losses: list[float] = []
        for _ in range(n_epochs):
            losses = []
            order = self._rng.permutation(n)
            for start in range(0, n, batch_size):
                batch = data.batch(np.sort(order[start : start + batch_size]))
                losses.append(self.cross_entropy_update(*batch, learning_rate=lr, key="pretrain/ce_loss"))
                steps += 1
        acc = self.label_accuracy(data)
        self.logger.record("pretrain/final_accuracy", acc)
        self.logger.record("pretrain/gradient_steps", steps)
        self.logger.dump(step=self.num_timesteps)
        self.pretrained_from = str(data.path)
        return {"ce_loss": float(np.mean(losses)), "accuracy": acc, "n_labels": float(n), "gradient_steps": float(steps)}

    def label_accuracy(self, data: RoleModelDataset, batch_size: int = 64) -> float:
        """Fraction of D's labels the deterministic policy (its readout) reproduces on every head."""
        hits = 0
        self.policy.set_training_mode(False)
        for start in range(0, len(data), batch_size):
            images, poses, labels = data.batch(np.arange(start, min(start + batch_size, len(data))))
            with th.no_grad():
                pred = self.policy(self._obs_tensor(images, poses), deterministic=True).cpu().numpy()
            hits += int(np.all(pred == labels, axis=1).sum())
        return hits / max(len(data), 1)
