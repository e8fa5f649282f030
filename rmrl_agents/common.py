"""Shared base of the rmrl agents: a one-step policy-gradient algorithm in SB3's mould.

Every episode of the cell-plate MDP is one trial: reset → observe (image, P^e) → choose a
grid action → one ``step`` → reward. :class:`OneStepPolicyGradient` runs that loop inside
SB3's ``BaseAlgorithm`` (so ``learn``/``predict``/``save``/``load``, callbacks and the logger
behave as SB3 users expect), writes every trial to the on-disk :class:`TrialLog` as it
happens, and leaves to subclasses only what they do with a trial (:meth:`_process_trial`).

Losses (the same for every agent):

* policy gradient, eq. 6: ``L = -mean_j (R_j - b) · log π(a_j|s_j)`` with ``b`` the reward
  baseline (``reward_baseline="none"`` gives the paper's eq. 6 exactly, b = 0);
* cross-entropy on role-model labels, eq. 8: ``L = -mean_j Σ_i log π(a*_j[i]|s_j)``.
"""

from __future__ import annotations

import datetime as _dt
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm, maybe_make_env
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import is_wrapped
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import configure_logger, obs_as_tensor, safe_mean
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn
from stable_baselines3.common.vec_env.patch_gym import _patch_env

from rmrl_agents.dataset import RoleModelDataset, as_dataset
from rmrl_agents.errors import DatasetError
from rmrl_agents.policies import IMAGE_KEY, POSE_KEY, MultiInputPolicy, RoleModelPolicy, check_spaces
from rmrl_agents.storage import TrialLog

SelfOneStep = TypeVar("SelfOneStep", bound="OneStepPolicyGradient")
SceneOption = Literal["new", "same"]

#: info entries that become their own trial-log fields (or are SB3 bookkeeping)
_INFO_FIELDS = ("e_trans_mm", "e_rot_deg", "success", "failure", "final_pose", "true_pose")
_INFO_SKIP = {"terminal_observation", "episode", "TimeLimit.truncated", *_INFO_FIELDS}


class SceneVecEnv(DummyVecEnv):
    """A one-env ``DummyVecEnv`` whose automatic reset after a trial uses the reset options.

    SB3's ``DummyVecEnv`` resets a finished episode without options; here the options given
    with :meth:`set_options` before ``step`` reach that reset (then are cleared), so an agent
    can ask for ``{"scene": "same"}`` for the next trial without paying an extra reset — on the
    real robot a reset moves the plate.
    """

    def step_wait(self) -> VecEnvStepReturn:
        for i, env in enumerate(self.envs):
            obs, self.buf_rews[i], terminated, truncated, self.buf_infos[i] = env.step(self.actions[i])  # type: ignore[assignment]
            self.buf_dones[i] = terminated or truncated
            self.buf_infos[i]["TimeLimit.truncated"] = truncated and not terminated
            if self.buf_dones[i]:
                self.buf_infos[i]["terminal_observation"] = obs
                options = self._options[i]
                obs, self.reset_infos[i] = env.reset(**({"options": options} if options else {}))
            self._save_obs(i, obs)
        self._reset_options()
        return self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones), [dict(x) for x in self.buf_infos]


@dataclass
class Trial:
    """One completed trial. ``image`` in the env's layout (H, W, 3) uint8; ``pose`` P^e [m, m, rad]."""

    index: int
    image: np.ndarray
    pose: np.ndarray
    action: np.ndarray
    reward: float
    scene: int
    record: dict[str, Any] = field(default_factory=dict)


class OneStepPolicyGradient(BaseAlgorithm):
    """Base class of REINFORCE, ReplayREINFORCE and RMRL (not used directly).

    :param policy: "MultiInputPolicy" or a :class:`RoleModelPolicy` subclass.
    :param env: a cell-plate env (Dict obs "image"+"pose", MultiDiscrete action), its id, or a
        one-env VecEnv.
    :param learning_rate: Adam learning rate of the policy-gradient updates (default 3e-4).
    :param reward_baseline: b in the policy-gradient loss: "mean" (default; running mean of the
        rewards seen so far, b = b + (1 - baseline_decay)·(R - b), started at the first reward)
        or "none" (b = 0, eq. 6 literally). A baseline leaves the expected gradient unchanged
        and cuts its variance: the rewards of this task all lie in ~[0.85, 1].
    :param baseline_decay: decay of the running-mean baseline (default 0.9).
    :param max_grad_norm: gradient-norm clip of every update (default 1.0; None: no clip).
    :param data_dir: directory for the trial log (``trials/``) and, for RM-RL, the role-model
        dataset (``role_model/``). Default: a new temporary directory (printed at verbose ≥ 1).
        Reusing a directory appends to it.
    :param stats_window_size, tensorboard_log, policy_kwargs, verbose, seed, device: as in SB3.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MultiInputPolicy": MultiInputPolicy}
    policy: RoleModelPolicy

    def __init__(
        self,
        policy: str | type[RoleModelPolicy],
        env: GymEnv | str | None,
        learning_rate: float | Schedule = 3e-4,
        reward_baseline: Literal["mean", "none"] = "mean",
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
        if env is not None:
            env = maybe_make_env(env, verbose)
            check_spaces(env.observation_space, env.action_space)
            if isinstance(env, VecEnv) and env.num_envs != 1:
                raise ValueError(f"{type(self).__name__} runs one env (trials are sequential); got a VecEnv of {env.num_envs}")
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            support_multi_env=False,
        )
        if reward_baseline not in ("mean", "none"):
            raise ValueError(f"reward_baseline must be 'mean' or 'none', got {reward_baseline!r}")
        self.reward_baseline = reward_baseline
        self.baseline_decay = float(baseline_decay)
        self.max_grad_norm = max_grad_norm
        self.data_dir = str(data_dir) if data_dir is not None else None
        self.env_id = self._env_id()
        self.algorithm_name = type(self).__name__
        # state that checkpoints carry (see sync_with_log)
        self._baseline: float | None = None
        self._log_position: int | None = None  # trials of the log these weights have seen
        self._log_start: int | None = None  # first log trial of this model
        self._scene_counter = -1  # scene id of the current observation
        self._encoder_loaded = False
        self.pretrained_from: str | None = None
        self._n_updates = 0
        self._trial_log: TrialLog | None = None
        self._warned_vecenv = False
        if _init_setup_model:
            self._setup_model()

    # -- SB3 plumbing ------------------------------------------------------------------------------
    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        if not isinstance(env, VecEnv):
            env = _patch_env(env)
            if monitor_wrapper and not is_wrapped(env, Monitor):
                env = Monitor(env)
            env = SceneVecEnv([lambda: env])  # type: ignore[list-item, return-value]
        return BaseAlgorithm._wrap_env(env, verbose, monitor_wrapper)

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        # a model loaded to continue a run must not replay the random streams (scenes, action
        # samples) of its first trials: offset the seed by the trials already done
        run_seed = None if self.seed is None else self.seed + self.num_timesteps
        self.set_random_seed(run_seed)
        kwargs = dict(self.policy_kwargs)
        if self._encoder_loaded:  # weights come from the checkpoint, not the (maybe absent) file
            kwargs.pop("pretrained_encoder", None)
        self.policy = self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **kwargs)  # type: ignore[assignment]
        self.policy = self.policy.to(self.device)
        self._encoder_loaded = self._encoder_loaded or bool(kwargs.get("pretrained_encoder"))
        self._rng = np.random.default_rng(run_seed)

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        # the optimizer state too, so that a resumed run continues exactly (Adam moments)
        return ["policy", "policy.optimizer"], []

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_trial_log", "_dataset"]

    def _env_id(self) -> str | None:
        if self.env is None:
            return None
        try:
            spec = self.env.unwrapped.envs[0].unwrapped.spec  # type: ignore[attr-defined]
        except (AttributeError, IndexError):
            return None
        return spec.id if spec is not None else None

    @property
    def logger(self) -> Logger:
        """SB3's logger; configured on first use if ``learn`` has not set one up yet."""
        self._ensure_logger()
        return self._logger

    def _ensure_logger(self) -> None:
        if not hasattr(self, "_logger"):
            self._logger = configure_logger(self.verbose, self.tensorboard_log, type(self).__name__, True)

    # -- storage ---------------------------------------------------------------------------------------
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
        return tuple(self.env.unwrapped.observation_space[IMAGE_KEY].shape)  # type: ignore[index]

    @property
    def trial_log(self) -> TrialLog:
        """The on-disk log of every trial of this model's runs (opened on first use)."""
        if self._trial_log is None:
            path = self._data_path() / "trials"
            shape = self._env_image_shape() if self.env is not None else None
            attrs = {"env_id": self.env_id, "action_nvec": self.action_space.nvec.tolist()}  # type: ignore[attr-defined]
            log = TrialLog(path, image_shape=shape, attrs=attrs)
            if log.attrs.get("action_nvec") not in (None, attrs["action_nvec"]):
                log.close()
                raise DatasetError(
                    f"{path} logs trials on the action grid {log.attrs['action_nvec']}, but this model's is "
                    f"{attrs['action_nvec']}; use another data_dir"
                )
            self._trial_log = log
        return self._trial_log

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
            self._scene_counter = max([int(s) for s in log.column("scene", -1) if s is not None], default=-1)
            return 0
        if self._log_position > len(log):
            raise DatasetError(
                f"this model has seen {self._log_position} trials of {log.path} but the log holds only {len(log)}; "
                "the log was truncated or data_dir points elsewhere"
            )
        n = 0
        for index in range(self._log_position, len(log)):
            trial = self._trial_from_log(index)
            self.num_timesteps += 1
            self._episode_num += 1
            self._scene_counter = trial.scene
            self._process_trial(trial)
            self._log_position = index + 1
            n += 1
        if n and self.verbose >= 1:
            print(f"{type(self).__name__}: caught up with {n} logged trial(s) the checkpoint had not seen")
        return n

    def _trial_from_log(self, index: int) -> Trial:
        rec = self.trial_log.records[index]
        return Trial(
            index=index,
            image=self.trial_log.get("image", [index])[0],
            pose=np.asarray(rec["pose"], dtype=np.float32),
            action=np.asarray(rec["action"], dtype=np.int64),
            reward=float("nan") if rec.get("reward") is None else float(rec["reward"]),
            scene=int(rec.get("scene", index)),
            record=rec,
        )

    # -- observation conversion -------------------------------------------------------------------
    def _obs_tensor(self, images: np.ndarray, poses: np.ndarray) -> dict[str, th.Tensor]:
        """Policy input from stored arrays: images (B, *env layout) uint8, poses (B, 3)."""
        want = tuple(self.observation_space[IMAGE_KEY].shape)  # type: ignore[index]
        got = tuple(images.shape[1:])
        if got != want:
            if got == (want[1], want[2], want[0]):
                images = np.transpose(images, (0, 3, 1, 2))
            elif got == (want[2], want[0], want[1]):
                images = np.transpose(images, (0, 2, 3, 1))
            else:
                raise DatasetError(f"stored images have shape {got}, the policy takes {want}")
        obs = {IMAGE_KEY: np.ascontiguousarray(images), POSE_KEY: np.asarray(poses, dtype=np.float32)}
        return obs_as_tensor(obs, self.device)  # type: ignore[return-value]

    def _to_env_layout(self, image: np.ndarray) -> np.ndarray:
        env_shape = self._env_image_shape()
        if image.shape == env_shape:
            return image
        if image.shape == (env_shape[2], env_shape[0], env_shape[1]):
            return np.transpose(image, (1, 2, 0))
        raise ValueError(f"cannot map an image of shape {image.shape} to the env's {env_shape}")

    # -- losses and updates -------------------------------------------------------------------------
    def _gradient_step(self, loss: th.Tensor, learning_rate: float) -> None:
        self.policy.set_training_mode(True)
        for group in self.policy.optimizer.param_groups:
            group["lr"] = learning_rate
        self.policy.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.policy.optimizer.step()
        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    def _current_lr(self) -> float:
        return float(self.lr_schedule(self._current_progress_remaining))

    def _advantages(self, rewards: np.ndarray) -> np.ndarray:
        """R - b for each reward (b = 0 with reward_baseline="none"); NaN rewards count as 0."""
        rewards = np.nan_to_num(np.asarray(rewards, dtype=np.float64), nan=0.0)
        if self.reward_baseline == "none":
            return rewards
        base = rewards[0] if self._baseline is None else self._baseline
        return rewards - base

    def _update_baseline(self, reward: float) -> None:
        r = 0.0 if not np.isfinite(reward) else float(reward)
        self._baseline = r if self._baseline is None else self._baseline + (1 - self.baseline_decay) * (r - self._baseline)

    def policy_gradient_update(self, images: np.ndarray, poses: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> float:
        """One step on L = -mean (R - b)·log π(a|s) (eq. 6). Arrays: (B, *img), (B, 3), (B, 3), (B,)."""
        obs = self._obs_tensor(images, poses)
        adv = th.as_tensor(self._advantages(rewards), dtype=th.float32, device=self.device)
        dist = self.policy.get_distribution(obs)
        log_prob = dist.log_prob(th.as_tensor(actions, device=self.device))
        loss = -(adv * log_prob).mean()
        self._gradient_step(loss, self._current_lr())
        self.logger.record_mean("train/pg_loss", loss.item())
        self.logger.record_mean("train/entropy", dist.entropy().mean().item())
        return float(loss.item())

    def _online_update(self, trial: Trial) -> None:
        """The per-trial policy-gradient step of REINFORCE and RM-RL, then the baseline update."""
        self.policy_gradient_update(trial.image[None], trial.pose[None], trial.action[None], np.array([trial.reward]))
        self._update_baseline(trial.reward)

    def cross_entropy_update(
        self,
        images: np.ndarray,
        poses: np.ndarray,
        labels: np.ndarray,
        learning_rate: float,
        key: str = "train/ce_loss",
    ) -> float:
        """One step on L = -mean Σ_i log π(a*[i]|s) (eq. 8). ``labels`` (B, 3) grid indices."""
        obs = self._obs_tensor(images, poses)
        logits = self.policy.logits(obs)
        labels_t = th.as_tensor(labels, dtype=th.long, device=self.device)
        parts = th.split(logits, self.policy.action_dims, dim=1)
        loss = sum(th.nn.functional.cross_entropy(part, labels_t[:, i]) for i, part in enumerate(parts))
        self._gradient_step(loss, learning_rate)  # type: ignore[arg-type]
        with th.no_grad():
            acc = th.stack([part.argmax(1) == labels_t[:, i] for i, part in enumerate(parts)], 1).all(1).float().mean()
        self.logger.record_mean(key, float(loss.item()))  # type: ignore[union-attr]
        self.logger.record_mean(key.replace("loss", "accuracy"), float(acc))
        return float(loss.item())  # type: ignore[union-attr]

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
        :param learning_rate: default: the agent's cross-entropy learning rate (or learning_rate).
        :return: ``{"ce_loss": last epoch's mean loss, "accuracy": fraction of labels the
            deterministic policy then reproduces on all 3 heads, "n_labels": ..., "gradient_steps": ...}``.
        :raises DatasetError: the dataset is corrupt, empty, or made for another grid / image size.
        """
        data = as_dataset(dataset_or_path)
        env_shape = tuple(self.observation_space[IMAGE_KEY].shape)  # type: ignore[index]
        hwc = (env_shape[1], env_shape[2], env_shape[0])
        data.check_compatible(action_nvec=self.action_space.nvec.tolist(), image_shapes=[env_shape, hwc])  # type: ignore[attr-defined]
        if len(data) == 0:
            raise DatasetError(f"{data.path} holds no labels to pretrain on")
        self._ensure_logger()
        lr = learning_rate if learning_rate is not None else getattr(self, "ce_learning_rate", None) or self._current_lr()
        n, steps, losses = len(data), 0, []
        for _ in range(n_epochs):
            losses = []
            order = self._rng.permutation(n)
            for start in range(0, n, batch_size):
                batch = data.batch(np.sort(order[start : start + batch_size]))
                losses.append(self.cross_entropy_update(*batch, learning_rate=lr, key="pretrain/ce_loss"))
                steps += 1
        acc = self._label_accuracy(data)
        self.logger.record("pretrain/final_accuracy", acc)
        self.logger.record("pretrain/gradient_steps", steps)
        self.logger.dump(step=self.num_timesteps)
        self.pretrained_from = str(data.path)
        return {
            "ce_loss": float(np.mean(losses)),
            "accuracy": acc,
            "n_labels": float(n),
            "gradient_steps": float(steps),
        }

    def _label_accuracy(self, data: RoleModelDataset, batch_size: int = 64) -> float:
        hits = 0
        self.policy.set_training_mode(False)
        for start in range(0, len(data), batch_size):
            images, poses, labels = data.batch(np.arange(start, min(start + batch_size, len(data))))
            with th.no_grad():
                pred = self.policy.get_distribution(self._obs_tensor(images, poses)).mode().cpu().numpy()
            hits += int(np.all(pred == labels, axis=1).sum())
        return hits / max(len(data), 1)

    # -- the trial loop ---------------------------------------------------------------------------------
    def _next_scene_option(self) -> SceneOption | None:
        """Reset option for the trial after the current one; None: the env's default (a new scene)."""
        return None

    def _on_env_reset(self) -> None:
        """Called when learn() reset the env itself (a new scene begins)."""
        self._scene_counter += 1

    def _process_trial(self, trial: Trial) -> None:
        """What the agent learns from one trial (live, or replayed from the log after a crash)."""
        raise NotImplementedError

    def learn(
        self: SelfOneStep,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 10,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfOneStep:
        """Run ``total_timesteps`` trials (one trial = one env step = one episode).

        :param log_interval: dump the logger every this many trials (0: never).
        """
        env_reset = reset_num_timesteps or self._last_obs is None
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name or type(self).__name__, progress_bar
        )
        self.sync_with_log()
        if env_reset:
            self._on_env_reset()
        callback.on_training_start(locals(), globals())
        while self.num_timesteps < total_timesteps:
            if not self._run_trial(callback):
                break
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            if log_interval and self._episode_num % log_interval == 0:
                self.dump_logs()
        callback.on_training_end()
        return self

    def _run_trial(self, callback: BaseCallback) -> bool:
        assert self.env is not None and self._last_obs is not None
        callback.on_rollout_start()
        obs = self._last_obs
        self.policy.set_training_mode(False)
        with th.no_grad():
            actions = self.policy(obs_as_tensor(obs, self.device)).cpu().numpy()  # type: ignore[arg-type]
        option = self._next_scene_option()
        if option is not None:
            if not isinstance(self.env.unwrapped, SceneVecEnv) and not self._warned_vecenv:
                warnings.warn(
                    f"{type(self).__name__} asks for reset options {{'scene': ...}} but the VecEnv is a "
                    f"{type(self.env.unwrapped).__name__}, whose automatic reset ignores them; pass the gym env itself",
                    stacklevel=2,
                )
                self._warned_vecenv = True
            self.env.set_options({"scene": option})
        reset_info = dict(self.env.unwrapped.reset_infos[0]) if hasattr(self.env.unwrapped, "reset_infos") else {}
        t0 = time.time()
        new_obs, rewards, dones, infos = self.env.step(actions)
        duration = time.time() - t0
        self.num_timesteps += 1
        self._episode_num += int(dones[0])

        trial = self._record_trial(obs, actions[0], float(rewards[0]), infos[0], reset_info, t0, duration)
        self._process_trial(trial)
        self._log_position = trial.index + 1
        if option is not None:
            self._scene_counter += int(option == "new")
        else:
            self._scene_counter += 1
        self._update_info_buffer(infos, dones)
        self._last_obs = new_obs  # type: ignore[assignment]
        self._last_episode_starts = dones
        callback.update_locals(locals())
        keep_going = callback.on_step()
        callback.on_rollout_end()
        return keep_going

    def _record_trial(
        self,
        obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: float,
        info: dict[str, Any],
        reset_info: dict[str, Any],
        t_start: float,
        duration: float,
    ) -> Trial:
        """Append the trial to the log (image in env layout) and record its metrics."""
        image = self._to_env_layout(np.asarray(obs[IMAGE_KEY][0]))
        pose = np.asarray(obs[POSE_KEY][0], dtype=np.float32)
        action = np.asarray(action, dtype=np.int64)
        adjustment = info.get("adjustment")
        if adjustment is None:
            try:
                adjustment = self.env.env_method("action_to_adjustment", action)[0]  # type: ignore[union-attr]
            except AttributeError:
                adjustment = None
        extra = {k: v for k, v in info.items() if k not in _INFO_SKIP and k != "adjustment" and _small(v)}
        record = {
            "trial": len(self.trial_log),
            "timestep": self.num_timesteps,
            "agent": type(self).__name__,
            "scene": self._scene_counter,
            "pose": pose,
            "action": action,
            "adjustment": adjustment,
            "reward": reward,
            **{k: info.get(k) for k in _INFO_FIELDS},
            "t_start": _dt.datetime.fromtimestamp(t_start, _dt.UTC).isoformat(),
            "time": _dt.datetime.now(_dt.UTC).isoformat(),
            "duration_s": duration,
            "info": extra,
            "reset_info": {k: v for k, v in reset_info.items() if _small(v)},
        }
        index = self.trial_log.append({"image": image}, record)
        self.logger.record_mean("trial/reward", reward)
        for key in ("e_trans_mm", "e_rot_deg"):
            value = info.get(key)
            if value is not None and np.isfinite(value):
                self.logger.record_mean(f"trial/{key}", float(value))
        if info.get("success") is not None:
            self.logger.record_mean("trial/success", float(bool(info["success"])))
        return Trial(index, image, pose, action, reward, self._scene_counter, self.trial_log.records[index])

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


def _small(value: Any) -> bool:
    """Whether an info value is small enough to keep in the JSON index (scalars, short arrays)."""
    if value is None or isinstance(value, (bool, int, float, str, np.number, np.bool_)):
        return not isinstance(value, str) or len(value) < 1000
    if isinstance(value, (np.ndarray, list, tuple)):
        return np.asarray(value, dtype=object).size <= 16 and all(_small(v) for v in np.asarray(value, dtype=object).ravel())
    return False


__all__ = ["OneStepPolicyGradient", "SceneVecEnv", "Trial"]
