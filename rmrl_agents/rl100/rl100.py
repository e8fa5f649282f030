"""RL100: a diffusion policy over continuous adjustments, trained in the stages of RL-100.

``learn(total_timesteps)`` runs, with ``total_timesteps`` env trials as the budget:

1. **Imitation** (once per model): the noise-prediction loss on the prior data (role-model
   datasets of RM-RL runs, standing in for teleoperated demonstrations, and/or continuous trial
   logs), trunk and denoiser trained end to end; then the consistency head is distilled. A copy
   of this imitation-only policy is kept as ``imitation_policy`` (not saved), for comparisons.
2. **Iterative offline RL** (``offline_iterations`` times, Algorithm 1): with the trunk frozen,
   IQL critics fit the data D (prior data + every logged trial); a candidate denoiser is trained
   from the behaviour policy π_i by PPO over the K denoising steps on chains it samples at D's
   states, with A = Q - V shared by the steps; the OPE gate (:func:`~.objectives.ope_gate`:
   common random numbers, Q clamped to the rewards' range, a bootstrap lower bound over D's
   states) accepts it or keeps π_i; the consistency head is distilled; ``trials_per_iteration``
   new trials join D; the denoiser re-imitates D's better transitions (line 13).
3. **Online RL** (the rest of the budget): batches of ``online_batch_size`` trials sampled by
   the stochastic DDIM chain, PPO over the denoising steps with A = R - V(s) (one-step
   episodes: GAE reduces to this), V regressed onto R, a few distillation steps per batch.
4. **Consistency distillation** on all data at the end of ``learn``.

Exploration is the stochastic sampler's (RL-100 explores through it): the σ of every denoising
step is clipped from below by σ_min, which falls linearly over the budget from
``explore_sigma[0]`` to ``explore_sigma[1]`` (defaults 0.3 → 0.1 in action units: a per-state
action sd of about 4.8 mm → 1.6 mm on the default ±12 mm grid; 0.3 mm with the old floor 0.01).

Differences from the paper: the consistency head takes its own gradient steps after each stage's
policy steps (eq. 22 adds the two losses, but with the teacher under stop-gradient they share no
parameters, so the sum decouples); Ĵ needs no transition model (one-step episodes); re-imitation
fine-tunes the denoiser (trunk frozen) instead of training it anew; the gate tests a confidence
bound, not the point estimates (``ope_confidence=None`` restores the paper's rule); the offline
PPO scores the actions the behaviour policy samples at D's states, where eq. 19 scores D's own
transitions (``offline_actions="logged"``; on held-out simulated cells it was not better).

Each stage logs its losses (``imitation/``, ``reimitation/``, ``offline/``, ``online/``,
``distill/``) and every OPE decision (``offline/ope_*``). Every trial is appended to the
crash-safe trial log as it happens, as for the other agents; after a crash, logged trials
re-enter D (their chains are not logged, so an interrupted online batch is dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import obs_as_tensor

from rmrl_agents.common.losses import BaselineKind
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.rl100.data import PriorSource, Transitions
from rmrl_agents.rl100.policy import SAMPLERS, RL100Policy, SamplerKind, check_continuous_spaces
from rmrl_agents.rl100.stages import OfflineActions, OpeDeltaScale, RL100Stages

SelfRL100 = TypeVar("SelfRL100", bound="RL100")
OPE_DELTA_SCALES: tuple[OpeDeltaScale, ...] = ("value", "reward_sd")
OFFLINE_ACTIONS: tuple[OfflineActions, ...] = ("sampled", "logged")


def _check_count(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")


def _check_settings(settings: dict[str, Any]) -> None:
    """Refuse RL100's counts and coefficients that can never work (``settings``: the constructor's arguments)."""
    _check_count("n_denoising_steps (K)", settings["n_denoising_steps"], 1)
    _check_count("batch_size", settings["batch_size"], 1)
    _check_count("online_batch_size", settings["online_batch_size"], 1)
    _check_count("ope_samples", settings["ope_samples"], 1)
    _check_count("ppo_minibatch_size", settings["ppo_minibatch_size"], 1)
    stage_budgets = (
        "imitation_steps", "offline_iterations", "critic_steps", "offline_ppo_epochs", "trials_per_iteration",
        "online_ppo_epochs", "distill_steps", "online_distill_steps", "reimitation_steps", "reimitation_min_transitions",
    )  # fmt: skip
    for name in stage_budgets:
        _check_count(name, settings[name], 0)
    clip_eps, ope_delta_rel, value_coef = settings["clip_eps"], settings["ope_delta_rel"], settings["value_coef"]
    if not clip_eps > 0 or ope_delta_rel < 0 or value_coef < 0:
        raise ValueError(f"need clip_eps > 0, ope_delta_rel ≥ 0, value_coef ≥ 0; got {clip_eps}, {ope_delta_rel}, {value_coef}")
    if not 0 <= settings["reimitation_quantile"] < 1:
        raise ValueError(f"reimitation_quantile must lie in [0, 1), got {settings['reimitation_quantile']}")
    explore = settings["explore_sigma"]
    if len(explore) != 2 or not all(0 < float(v) <= 0.8 for v in explore):
        raise ValueError(f"explore_sigma must be (start, end) with each in (0, 0.8] (action units), got {explore!r}")
    if not 0 <= settings["ope_holdout"] < 1:
        raise ValueError(f"ope_holdout must lie in [0, 1) (0: the paper's, one set of critics), got {settings['ope_holdout']}")
    confidence = settings["ope_confidence"]
    if confidence is not None and not 0 < confidence < 1:
        raise ValueError(f"ope_confidence must lie in (0, 1) (None: the paper's point rule), got {confidence}")
    if settings["offline_actions"] not in OFFLINE_ACTIONS:
        raise ValueError(f"offline_actions must be one of {list(OFFLINE_ACTIONS)}, got {settings['offline_actions']!r}")
    if settings["ope_delta_scale"] not in OPE_DELTA_SCALES:
        raise ValueError(f"ope_delta_scale must be one of {list(OPE_DELTA_SCALES)}, got {settings['ope_delta_scale']!r}")


class RL100(RL100Stages):
    """RL-100 on the continuous cell-plate envs (``gym.make(id, action_type="continuous")``).

    :param policy: "MultiInputPolicy" (:class:`RL100Policy`; its sizes via ``policy_kwargs``).
    :param env: a continuous cell-plate env, its id, or a one-env VecEnv.
    :param prior_data: role-model dataset(s) (a ``RoleModelDataset``, its directory, or a run's
        directory) and/or continuous trial log(s) to imitate and to start D with (default none:
        imitation is skipped and D starts empty).
    :param prior_in_offline_data: whether D holds the prior data besides this env's trials (default
        True, the paper's: demonstrations join D). False: the prior is imitated only, and the
        critics, the OPE gate and re-imitation see this env's trials alone; for prior data whose
        rewards were measured elsewhere (another cell's role models).
    :param n_denoising_steps: K of the DDIM sampler (default 5; ≥ 1).
    :param learning_rate: Adam learning rate of the PPO updates of the denoiser, offline and online
        (default 1e-4).
    :param imitation_learning_rate: Adam learning rate of imitation, trunk and denoiser (default 1e-3).
    :param batch_size: mini-batch of every update (default 64).
    :param imitation_steps: gradient steps of the imitation stage (default 1000).
    :param offline_iterations: iterations of offline RL (default 2).
    :param critic_steps: critic gradient steps per offline iteration (default 500).
    :param offline_actions: the actions the offline PPO learns from: "sampled" (default), chains
        the behaviour policy samples at D's states, scored A = Q(s, a) - V(s) at the sampled a;
        "logged", D's own transitions, A = Q(s_t, a_t) - V(s_t) as the paper's eq. 19 writes it,
        each action reached by a chain of the DDIM forward process
        (:meth:`~rmrl_agents.rl100.ddim.DDIMSampler.posterior_chain`), so that Q is never asked
        about an action outside the data.
    :param offline_ppo_epochs: PPO epochs over D for each candidate (default 10, the paper's 5–10).
    :param trials_per_iteration: trials collected after each offline iteration (default 20).
    :param online_batch_size: trials per online PPO update (default 32).
    :param online_ppo_epochs: PPO epochs over each online batch (default 10).
    :param ppo_minibatch_size: env steps per PPO mini-batch (default 256; each brings K denoising
        steps, 1280 samples at K = 5, within the paper's 128–2048): a benchmark-sized D or online
        batch is one mini-batch, so an update is ``*_ppo_epochs`` Adam steps on all of it.
    :param reimitation_steps: imitation steps on D's better transitions after each offline
        iteration's trials (default 200; 0: none); :param reimitation_quantile: the reward
        quantile of D they must reach (default 0.5: the better half);
        :param reimitation_min_transitions: re-imitation is skipped while fewer transitions pass
        that filter (default 0: never skipped, the paper's; 200 steps on a handful of exploring
        successes fit their noise: a run without labels on the simulated cell, whose 2 successes
        of 25 trials were re-imitated, ended at 9.25 mm, and at 3.90 mm without re-imitation).
    :param explore_sigma: (start, end) of the behaviour noise floor σ_min (default (0.3, 0.1)).
    :param distill_steps: distillation steps after imitation, after each offline iteration and at
        the end of ``learn`` (default 1000: on the tests' fitted task the head's zero-noise action
        lay 0.52 mm from the teacher's after 300 steps, 0.19 mm after 1000);
        ``online_distill_steps`` after each online batch (20).
    :param clip_eps: ε of the PPO clip (default 0.2).
    :param ope_delta_rel: δ of the OPE gate relative to its scale (default 0: the bound must
        exceed 0; the paper's is 0.05).
    :param ope_delta_scale: the scale δ is relative to: "value", |Ĵ(π_i)| (the paper's; default),
        or "reward_sd", the standard deviation of the rewards in D. With rewards that all lie
        near 1, 5 % of |Ĵ| is more than the gap between a good and a poor policy.
    :param ope_confidence: one-sided level of the gate's bootstrap lower bound (default 0.95);
        None: the paper's rule, Ĵ(π) - Ĵ(π_i) ≥ δ on point estimates (with ``ope_delta_rel=0.05``
        and ``ope_delta_scale="value"``, exactly the paper's).
    :param ope_holdout: the share of D held out from the critics that train the candidate, on
        which the gate's own critics are fitted and the gate scores both policies (default 0: the
        paper's, one set of critics fitted on all of D trains the candidate and scores it, so the
        gate accepts what PPO found by exploiting that Q's errors). With a share, both sets are
        fitted afresh each iteration on their own part of D (split evenly over D's rewards).
    :param ope_samples: actions per state in Ĵ (default 4).
    :param value_coef: λ_V, weight of the value regression online (default 0.5).
    Other parameters (max_grad_norm, data_dir, ..., seed, device): see
    :class:`~rmrl_agents.common.OneStepAlgorithm`. Critic and head learning rates, K-step
    schedule and σ range are ``policy_kwargs`` of :class:`RL100Policy`.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MultiInputPolicy": RL100Policy}
    policy_base: ClassVar[type[BasePolicy]] = RL100Policy
    _check_spaces = staticmethod(check_continuous_spaces)

    def __init__(
        self,
        policy: str | type[RL100Policy],
        env: GymEnv | str | None,
        prior_data: PriorSource | Sequence[PriorSource] | None = None,
        prior_in_offline_data: bool = True,
        n_denoising_steps: int = 5,
        learning_rate: float | Schedule = 1e-4,
        imitation_learning_rate: float = 1e-3,
        batch_size: int = 64,
        imitation_steps: int = 1000,
        offline_iterations: int = 2,
        critic_steps: int = 500,
        offline_actions: OfflineActions = "sampled",
        offline_ppo_epochs: int = 10,
        trials_per_iteration: int = 20,
        online_batch_size: int = 32,
        online_ppo_epochs: int = 10,
        ppo_minibatch_size: int = 256,
        reimitation_steps: int = 200,
        reimitation_quantile: float = 0.5,
        reimitation_min_transitions: int = 0,
        explore_sigma: tuple[float, float] = (0.3, 0.1),
        distill_steps: int = 1000,
        online_distill_steps: int = 20,
        clip_eps: float = 0.2,
        ope_delta_rel: float = 0.0,
        ope_delta_scale: OpeDeltaScale = "value",
        ope_confidence: float | None = 0.95,
        ope_holdout: float = 0.0,
        ope_samples: int = 4,
        value_coef: float = 0.5,
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
        _check_settings(locals())
        self.ope_delta_scale = ope_delta_scale
        sources = [] if prior_data is None else list(prior_data) if isinstance(prior_data, (list, tuple)) else [prior_data]
        self.prior_data = [str(getattr(s, "path", s)) for s in sources]
        self.prior_in_offline_data = bool(prior_in_offline_data)
        self.n_denoising_steps = n_denoising_steps
        self.batch_size, self.imitation_steps = batch_size, imitation_steps
        self.offline_iterations, self.critic_steps, self.offline_ppo_epochs = offline_iterations, critic_steps, offline_ppo_epochs
        self.trials_per_iteration = trials_per_iteration
        self.online_batch_size, self.online_ppo_epochs = online_batch_size, online_ppo_epochs
        self.distill_steps, self.online_distill_steps = distill_steps, online_distill_steps
        self.clip_eps, self.ope_delta_rel, self.ope_samples, self.value_coef = clip_eps, ope_delta_rel, ope_samples, value_coef
        self.imitation_learning_rate = imitation_learning_rate
        self.ppo_minibatch_size, self.ope_confidence = ppo_minibatch_size, ope_confidence
        self.ope_holdout, self.offline_actions = float(ope_holdout), offline_actions
        self.reimitation_steps, self.reimitation_quantile = reimitation_steps, reimitation_quantile
        self.reimitation_min_transitions = reimitation_min_transitions
        self.explore_sigma = (float(explore_sigma[0]), float(explore_sigma[1]))
        self.imitation_policy = None
        self.imitated = False
        self.offline_done = 0
        self.ope_decisions: list[dict[str, float | bool]] = []
        self._prior: Transitions | None = None
        self._pending: tuple[th.Tensor, th.Tensor] | None = None
        self._online: list[tuple[Trial, th.Tensor, th.Tensor]] = []
        self._collect_chains = False
        kwargs_policy = dict(policy_kwargs or {})
        kwargs_policy["n_denoising_steps"] = n_denoising_steps
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            reward_baseline=reward_baseline,
            baseline_decay=baseline_decay,
            max_grad_norm=max_grad_norm,
            data_dir=data_dir,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=kwargs_policy,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=_init_setup_model,
        )

    def _optimizer_state_names(self) -> list[str]:
        return ["policy.optimizer", "policy.critic_optimizer", "policy.consistency_optimizer"]

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_prior", "_pending", "_online", "imitation_policy"]

    # -- acting ---------------------------------------------------------------------------------
    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        sampler: SamplerKind = "ddim",
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """SB3's ``predict`` with a choice of sampler: "ddim" (K network evaluations) or
        "consistency" (one). Deterministic actions: σ = 0 DDIM (or the head) from zero noise."""
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
        self.policy.predict_sampler = sampler
        return self.policy.predict(observation, state, episode_start, deterministic)

    def _trial_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        self.policy.set_training_mode(False)
        with th.no_grad():
            cond = self.policy.features(self._obs_tensor_from_vec(obs))
        actions, chain, log_prob = self.policy.sample_chain(cond)
        self._pending = (chain[0], log_prob[0]) if self._collect_chains else None
        return actions.cpu().numpy()

    def _obs_tensor_from_vec(self, obs: dict[str, np.ndarray]) -> dict[str, th.Tensor]:
        tensors = obs_as_tensor(obs, self.device)
        assert isinstance(tensors, dict)
        return tensors

    def _process_trial(self, trial: Trial) -> None:
        if self._pending is not None:  # a live online trial: keep its chain for the PPO batch
            self._online.append((trial, *self._pending))
        self._pending = None

    # -- the pipeline ----------------------------------------------------------------------------------
    def _collect(self, n: int, callback: BaseCallback, log_interval: int, total: int) -> bool:
        for _ in range(n):
            if not self._run_trial(callback):
                return False
            self._update_current_progress_remaining(self.num_timesteps, total)
            if log_interval and self._episode_num % log_interval == 0:
                self.dump_logs()
        return True

    def learn(
        self: SelfRL100,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 10,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfRL100:
        """Run the stages (module docstring) within ``total_timesteps`` env trials."""
        env_reset = reset_num_timesteps or self._last_obs is None
        total, cb = self._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name or "RL100", progress_bar)
        self.sync_with_log()
        if env_reset:
            self._on_env_reset()
        cb.on_training_start(locals(), globals())
        first, going = self._episode_num, True
        if not self.imitated:
            self.imitation_stage()
        while going and self.offline_done < self.offline_iterations and self.num_timesteps < total:
            if self.offline_iteration() is None:  # nothing to learn from yet: collect first
                self.offline_done += 1
            self._explore()  # an iteration sets it too; without one (D too small) the floor would stay 0.01
            going = self._collect(min(self.trials_per_iteration, total - self.num_timesteps), cb, log_interval, total)
            if going:
                self.reimitate()
        self._collect_chains = True
        try:
            while going and self.num_timesteps < total:
                self._explore()
                going = self._collect(min(self.online_batch_size, total - self.num_timesteps), cb, log_interval, total)
                self.online_update()
        finally:
            self._collect_chains, self._online = False, []
        data = self.offline_data()
        if len(data):
            actions = th.as_tensor(data.actions, device=self.device)
            self.distill(self._features(data.images, data.poses), actions, self.distill_steps)
        self.dump_last_logs(first, log_interval)
        self.logger.dump(step=self.num_timesteps)  # what distillation recorded after the last trial's dump
        cb.on_training_end()
        return self


__all__ = ["RL100"]
