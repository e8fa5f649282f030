"""The base class of the rmrl agents: the one-step trial loop in SB3's mould.

Every episode of the cell-plate MDP is one trial: reset → observe (image, P^e) → choose a grid
action → one ``step`` → reward. :class:`OneStepAlgorithm` runs that loop inside SB3's
``BaseAlgorithm`` (so ``learn``/``predict``/``save``/``load``, callbacks and the logger behave as
SB3 users expect), writes every trial to the on-disk trial log as it happens, and leaves to
subclasses what they do with a trial (:meth:`_process_trial`), how they act
(:meth:`_trial_action`) and which scene comes next (:meth:`_next_scene_option`,
:meth:`_on_env_reset`).

The base is generic over its policy (``OneStepAlgorithm[PolicyT]``): it only uses what every SB3
policy has (an ``optimizer``, ``parameters()``, ``set_training_mode``) and never reads a field of a
subclass. The grid agents' policy-gradient step (paper eq. 6) is in
:class:`~rmrl_agents.common.grid_algorithm.GridAlgorithm`; RL100 derives from
``OneStepAlgorithm[RL100Policy]``.
"""

from __future__ import annotations

import io
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar, cast

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm, maybe_make_env
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import is_wrapped
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.patch_gym import _patch_env

from rmrl_agents.common.env_signature import check_model_env, env_signature, explain_space_mismatch
from rmrl_agents.common.losses import BaselineKind, RewardBaseline
from rmrl_agents.common.preprocessing import to_env_layout, to_policy_layout
from rmrl_agents.common.run_logger import RunLogger
from rmrl_agents.common.trial_storage import TrialStorage
from rmrl_agents.common.trial_sync import Trial, log_trial_metrics, trial_record
from rmrl_agents.common.vec_env import SceneVecEnv, before_auto_reset, registered_id, request_scene
from rmrl_agents.policies import IMAGE_KEY, POSE_KEY, check_policy_kwargs, upgrade_saved_policy_kwargs
from rmrl_agents.stores.trial_log import TrialLog

SelfOneStep = TypeVar("SelfOneStep", bound="OneStepAlgorithm[Any]")
#: the policy class of an algorithm (the grid agents' ``RoleModelPolicy``, RL100's ``RL100Policy``)
PolicyT = TypeVar("PolicyT", bound=BasePolicy)
SceneOption = Literal["new", "same"]


class OneStepAlgorithm(TrialStorage, RunLogger, BaseAlgorithm, Generic[PolicyT]):
    """Base class of the one-step agents (not used directly): the grid agents through
    :class:`~rmrl_agents.common.grid_algorithm.GridAlgorithm`, and RL100.

    :param policy: "MultiInputPolicy" or a subclass of the algorithm's ``policy_base``.
    :param env: a cell-plate env (Dict obs "image"+"pose"), its id, or a one-env VecEnv; its
        spaces are checked by the subclass's :meth:`_check_spaces`.
    :param learning_rate: Adam learning rate of the policy's optimizer (default 3e-4).
    :param reward_baseline: b in the policy-gradient loss: "mean" (default; running mean of the
        rewards seen so far) or "none" (b = 0, eq. 6 literally); see :class:`RewardBaseline`.
    :param baseline_decay: decay of the running-mean baseline (default 0.9).
    :param max_grad_norm: gradient-norm clip of every update (default 1.0; None: no clip).
    :param data_dir: directory for the trial log (``trials/``) and what a subclass stores beside
        it. Default: a new temporary directory (printed at verbose ≥ 1). Reusing a directory
        appends to it.
    :param stats_window_size, tensorboard_log, policy_kwargs, verbose, seed, device: as in SB3.
    """

    #: the policy class every policy of the algorithm must derive from (each subclass sets it, as
    #: it sets SB3's ``policy_aliases``)
    policy_base: ClassVar[type[BasePolicy]]
    policy: PolicyT

    def __init__(
        self,
        policy: str | type[BasePolicy],
        env: GymEnv | str | None,
        learning_rate: float | Schedule = 3e-4,
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
        check_policy_kwargs(policy_kwargs)
        if env is not None:
            env = maybe_make_env(env, verbose)
            self._check_spaces(env.observation_space, env.action_space)
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
        self.baseline = RewardBaseline(reward_baseline, baseline_decay)
        self.max_grad_norm = max_grad_norm
        self.data_dir = str(data_dir) if data_dir is not None else None
        self.env_id = registered_id(self.env)
        #: what the env's actions and images mean (grid by value, image size, config hash, make kwargs)
        self.env_signature = env_signature(self.env) if self.env is not None else None
        self._data_dir_asked = True  # False after load() without data_dir: see learn()
        self.algorithm_name = type(self).__name__
        # state that checkpoints carry (see sync_with_log)
        self._log_position: int | None = None  # trials of the log these weights have seen
        self._log_start: int | None = None  # first log trial of this model
        self._scene_counter = -1  # scene id of the current observation
        self._encoder_loaded = False
        self._n_updates = 0
        self._trial_log: TrialLog | None = None
        self._warned_vecenv = False
        if _init_setup_model:
            self._setup_model()

    # -- SB3 plumbing ------------------------------------------------------------------------------
    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        if not isinstance(env, VecEnv):
            gym_env = _patch_env(env)
            if monitor_wrapper and not is_wrapped(gym_env, Monitor):
                gym_env = Monitor(gym_env)
            env = SceneVecEnv([lambda: gym_env])
        return BaseAlgorithm._wrap_env(env, verbose, monitor_wrapper)

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        # a model loaded to continue a run must not replay the random streams (scenes, action
        # samples) of its first trials: offset the seed by the trials already done
        run_seed = None if self.seed is None else self.seed + self.num_timesteps
        self.set_random_seed(run_seed)
        self.policy_kwargs = upgrade_saved_policy_kwargs(self.policy_kwargs)  # a file saved under older names
        kwargs = dict(self.policy_kwargs)
        if self._encoder_loaded:  # weights come from the checkpoint, not the (maybe absent) file
            kwargs.pop("pretrained_encoder", None)
        policy = self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **kwargs)
        if not isinstance(policy, self.policy_base):
            raise TypeError(f"{type(self).__name__} needs a {self.policy_base.__name__}, got {type(policy).__name__}")
        self.policy = cast(PolicyT, policy.to(self.device))  # a policy_base instance, checked above
        self._encoder_loaded = self._encoder_loaded or bool(kwargs.get("pretrained_encoder"))
        self._rng = np.random.default_rng(run_seed)

    #: whether ``save`` writes the optimizers' state (see :meth:`save_for_inference`)
    _save_optimizers: bool = True

    def _optimizer_state_names(self) -> list[str]:
        """The optimizers whose state a full save keeps."""
        return ["policy.optimizer"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        # the optimizer state too, so that a resumed run continues exactly (Adam moments)
        return ["policy", *(self._optimizer_state_names() if self._save_optimizers else [])], []

    def save_for_inference(self, path: str | Path) -> None:
        """``save`` without the optimizers' state: Adam keeps two moments per weight, so a full
        save is three times the network (140 MB for the default ResNet-18 policy, 47 MB without).
        The file loads with ``load`` like any other and predicts the same; training it further
        starts the optimizers afresh (resume from a full ``save`` to continue exactly)."""
        self._save_optimizers = False  # stored in the file: load then expects no optimizer state
        try:
            self.save(path)
        finally:
            del self._save_optimizers

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_trial_log", "_data_dir_asked"]

    @classmethod
    def load(
        cls: type[SelfOneStep],
        path: str | Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfOneStep:
        """SB3's ``load`` (``path`` with or without its ".zip"); ``env`` must have the model's grid (by value), image size and spaces
        (:class:`IncompatibleEnvError` naming both otherwise). ``learn()`` appends to the run's
        ``data_dir`` only if asked (``load(..., data_dir=...)`` or ``learn(..., reset_num_timesteps=False)``);
        a fresh ``learn()`` logs to a new directory."""
        if env is not None and isinstance(path, (str, Path)):
            check_model_env(path, env)
        try:
            model = super().load(path, env, device, custom_objects, print_system_info, force_reset, **kwargs)
        except ValueError as err:
            raise explain_space_mismatch(err, path) from None
        model._data_dir_asked = "data_dir" in kwargs
        model.__dict__.pop("_save_optimizers", None)  # a file saved for inference: the next save is full again
        return model

    # -- updates ------------------------------------------------------------------------------------------
    def _obs_tensor(self, images: np.ndarray, poses: np.ndarray) -> dict[str, th.Tensor]:
        """Policy input from stored arrays: images (B, *env layout) uint8, poses (B, 3) [m, m, rad]."""
        obs = {
            IMAGE_KEY: np.ascontiguousarray(to_policy_layout(images, self._policy_image_shape())),
            POSE_KEY: np.asarray(poses, dtype=np.float32),
        }
        tensors = obs_as_tensor(obs, self.device)
        assert isinstance(tensors, dict)
        return tensors

    def _current_lr(self) -> float:
        return float(self.lr_schedule(self._current_progress_remaining))

    def _optimizer_step(self, optimizer: th.optim.Optimizer, loss: th.Tensor, params: Any) -> None:
        """One step of ``optimizer`` on ``loss``, its gradient clipped to ``max_grad_norm`` over ``params``."""
        optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            th.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        optimizer.step()
        self._n_updates += 1

    def _gradient_step(self, loss: th.Tensor, learning_rate: float) -> None:
        """One step of the policy's own optimizer at ``learning_rate``."""
        self.policy.set_training_mode(True)
        for group in self.policy.optimizer.param_groups:
            group["lr"] = learning_rate
        self._optimizer_step(self.policy.optimizer, loss, self.policy.parameters())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    # -- hooks of the subclasses ------------------------------------------------------------------------
    @staticmethod
    @abstractmethod
    def _check_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
        """Raise :class:`~rmrl_agents.errors.IncompatibleEnvError` unless the env's spaces suit the agent."""

    @abstractmethod
    def _trial_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The action (1, action dim) to try on the VecEnv observation ``obs``."""

    @abstractmethod
    def _process_trial(self, trial: Trial) -> None:
        """What the agent learns from one trial (live, or replayed from the log after a crash)."""

    def _next_scene_option(self) -> SceneOption | None:
        """Reset option for the trial after the current one; None: the env's default (a new scene)."""
        return None

    def _trial_record_extras(self) -> dict[str, Any]:
        """Fields the algorithm adds to the log record of the trial in progress (small JSON values)."""
        return {}

    def _on_env_reset(self) -> None:
        """Called when learn() reset the env itself (a new scene begins)."""
        self._scene_counter += 1

    # -- the trial loop ---------------------------------------------------------------------------------
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

        :param log_interval: dump the logger every this many trials, and at the end what is left of the
            last interval (0: never).
        """
        if reset_num_timesteps and not self._data_dir_asked:  # a loaded model starting afresh: its own folder
            self.close_storage()
            self.data_dir, self._log_position, self._log_start, self._data_dir_asked = None, None, None, True
        env_reset = reset_num_timesteps or self._last_obs is None
        if not self._custom_logger and self.tensorboard_log is None:
            self._logger = self._default_logger(tb_log_name or type(self).__name__)
            self._custom_logger = True  # SB3's _setup_learn would configure (and make a folder for) its own
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name or type(self).__name__, progress_bar
        )
        self.sync_with_log()
        if env_reset:
            self._on_env_reset()
        callback.on_training_start(locals(), globals())
        first = self._episode_num
        while self.num_timesteps < total_timesteps:
            if not self._run_trial(callback):
                break
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            if log_interval and self._episode_num % log_interval == 0:
                self.dump_logs()
        self.dump_last_logs(first, log_interval)
        callback.on_training_end()
        return self

    def _run_trial(self, callback: BaseCallback) -> bool:
        assert self.env is not None and isinstance(self._last_obs, dict)
        callback.on_rollout_start()
        obs = self._last_obs
        actions = self._trial_action(obs)
        option = self._next_scene_option()
        if option is not None:
            self._warned_vecenv |= request_scene(self.env, option, warn=not self._warned_vecenv)
        reset_infos = getattr(self.env.unwrapped, "reset_infos", None)
        reset_info = dict(reset_infos[0]) if reset_infos else {}
        t0 = time.time()
        finished: list[Trial] = []

        def record(reward: float, info: dict[str, Any]) -> None:
            self.num_timesteps += 1
            finished.append(self._record_trial(obs, actions[0], reward, info, reset_info, t0, time.time() - t0))

        # the trial goes to disk as soon as the env's step returns, before the automatic reset
        # (which stages the next plate, and is what fails most on a real cell)
        try:
            with before_auto_reset(self.env, lambda _i, reward, info: record(reward, info)):
                new_obs, rewards, dones, infos = self.env.step(actions)
        except BaseException:
            if finished:  # the reset failed: learn from the finished trial, reset at the next learn()
                self._finish_trial(finished[0], option)
                self._last_obs = None
            raise
        if not finished:
            record(float(rewards[0]), infos[0])
        self._episode_num += int(dones[0])
        self._finish_trial(finished[0], option)
        self._update_info_buffer(infos, dones)
        assert isinstance(new_obs, dict)
        self._last_obs = new_obs
        self._last_episode_starts = dones
        callback.update_locals(locals())
        keep_going = callback.on_step()
        callback.on_rollout_end()
        return keep_going

    def _finish_trial(self, trial: Trial, option: SceneOption | None) -> None:
        """What follows a recorded trial: the agent learns from it, the bookkeeping moves on."""
        self._process_trial(trial)
        self._log_position = trial.index + 1
        self._scene_counter += 1 if option is None else int(option == "new")

    def _record_trial(
        self,
        obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: float,
        info: dict[str, Any],
        reset_info: dict[str, Any],
        t_start: float,
        duration_s: float,
    ) -> Trial:
        """Append the trial to the log (image in env layout) and record its metrics."""
        image = to_env_layout(np.asarray(obs[IMAGE_KEY][0]), self._env_image_shape())
        pose = np.asarray(obs[POSE_KEY][0], dtype=np.float32)
        action = np.asarray(action, dtype=np.int64 if isinstance(self.action_space, spaces.MultiDiscrete) else np.float32)
        adjustment = info.get("adjustment")
        if adjustment is None and self.env is not None:
            try:
                adjustment = self.env.env_method("action_to_adjustment", action)[0]
            except AttributeError:
                adjustment = None
        record = trial_record(
            trial=len(self.trial_log),
            timestep=self.num_timesteps,
            agent=type(self).__name__,
            scene=self._scene_counter,
            pose=pose,
            action=action,
            adjustment=adjustment,
            reward=reward,
            info=info,
            reset_info=reset_info,
            t_start=t_start,
            duration_s=duration_s,
        )
        record.update(self._trial_record_extras())
        index = self.trial_log.append({"image": image}, record)
        log_trial_metrics(self.logger, reward, info)
        return Trial(index, image, pose, action, reward, self._scene_counter, self.trial_log.records[index])


__all__ = ["OneStepAlgorithm", "PolicyT", "SceneOption"]
