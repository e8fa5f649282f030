"""The data D and the training stages of RL100 (imitation, offline iteration, online update,
distillation); :class:`~rmrl_agents.rl100.rl100.RL100` sets their budgets and runs them in order."""

from __future__ import annotations

import copy
from typing import Any, Literal

import numpy as np
import torch as th

from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.rl100.consistency import distillation_loss
from rmrl_agents.rl100.critics import Critics
from rmrl_agents.rl100.data import Transitions, load_prior
from rmrl_agents.rl100.objectives import imitation_loss, ope_gate, paired_q, ppo_update
from rmrl_agents.rl100.policy import RL100Policy

OpeDeltaScale = Literal["value", "reward_sd"]
OfflineActions = Literal["sampled", "logged"]


class RL100Stages(OneStepAlgorithm[RL100Policy]):
    """RL100's stages on its policy (not used directly; the settings are RL100's parameters)."""

    # RL100's settings (see its parameters)
    prior_data: list[str]
    prior_in_offline_data: bool
    batch_size: int
    imitation_steps: int
    imitation_learning_rate: float
    critic_steps: int
    offline_ppo_epochs: int
    online_ppo_epochs: int
    ppo_minibatch_size: int
    reimitation_steps: int
    reimitation_quantile: float
    reimitation_min_transitions: int
    explore_sigma: tuple[float, float]
    ope_confidence: float | None
    ope_holdout: float
    offline_actions: OfflineActions
    distill_steps: int
    online_distill_steps: int
    clip_eps: float
    ope_delta_rel: float
    ope_delta_scale: OpeDeltaScale
    ope_samples: int
    value_coef: float
    # RL100's state
    imitated: bool
    offline_done: int
    ope_decisions: list[dict[str, float | bool]]
    _prior: Transitions | None
    _online: list[tuple[Trial, th.Tensor, th.Tensor]]
    imitation_policy: RL100Policy | None

    # -- data --------------------------------------------------------------------------------------
    def _grid(self) -> Any:
        assert self.env is not None
        return self.env.get_attr("grid")[0]

    def _prior_transitions(self) -> Transitions:
        if self._prior is None:
            shape = self._env_image_shape()
            data = Transitions.empty(shape)
            for source in self.prior_data:
                data = data.concat(load_prior(source, self._grid(), shape))
            self._prior = data
        return self._prior

    def offline_data(self) -> Transitions:
        """D: the prior data (unless ``prior_in_offline_data`` is False) and every trial of the log
        with a measured reward."""
        log = self.trial_log
        logged = Transitions(
            log.get("image", np.arange(len(log))),
            log.poses(),
            np.asarray(log.column("action"), dtype=np.float32).reshape(-1, 3),
            log.rewards().astype(np.float32),
        )
        prior = self._prior_transitions() if self.prior_in_offline_data else Transitions.empty(self._env_image_shape())
        data = prior.concat(logged)
        keep = np.isfinite(data.rewards)
        return Transitions(data.images[keep], data.poses[keep], data.actions[keep], data.rewards[keep])

    def _features(self, images: np.ndarray, poses: np.ndarray, grad: bool = False) -> th.Tensor:
        """Trunk features (N, C) of stored observations (env layout), in chunks when frozen."""
        if grad:
            return self.policy.features(self._obs_tensor(images, poses))
        with th.no_grad():
            chunks = [
                self.policy.features(self._obs_tensor(images[i : i + 256], poses[i : i + 256]))
                for i in range(0, len(images), 256)
            ]
        return th.cat(chunks) if chunks else th.zeros(0, self.policy.encoder.features_dim, device=self.device)

    def _batches(self, n: int, steps: int) -> list[np.ndarray]:
        return [np.sort(self._rng.choice(n, size=min(self.batch_size, n), replace=False)) for _ in range(steps)]

    # -- stages ------------------------------------------------------------------------------------
    def imitation_stage(self) -> float | None:
        """Stage 1 on the prior data; returns the last mean loss (None: no prior data). Keeps a copy
        of the imitation-only policy as ``imitation_policy`` (not saved)."""
        data = self._prior_transitions()
        if len(data) == 0:
            self.imitated = True
            self.imitation_policy = copy.deepcopy(self.policy)  # nothing to imitate: the untrained policy
            return None
        actions = th.as_tensor(data.actions, device=self.device)
        loss = self._imitate(lambda idx: self._features(data.images[idx], data.poses[idx], grad=True), actions)
        self.distill(self._features(data.images, data.poses), actions, self.distill_steps)
        self.imitated = True
        self.imitation_policy = copy.deepcopy(self.policy)
        self.logger.record("imitation/n_transitions", len(data))
        self.logger.dump(step=self.num_timesteps)
        return loss

    def _imitate(self, features: Any, actions: th.Tensor, steps: int | None = None, tag: str = "imitation") -> float:
        """Noise-prediction steps on ``actions`` (N, d) with ``features(idx)`` the trunk features of rows idx."""
        policy = self.policy
        policy.set_training_mode(True)
        for group in policy.optimizer.param_groups:
            group["lr"] = self.imitation_learning_rate
        params = [p for g in policy.optimizer.param_groups for p in g["params"]]
        loss = th.zeros(())
        for idx in self._batches(len(actions), self.imitation_steps if steps is None else steps):
            loss = imitation_loss(policy.denoiser, policy.sampler, actions[idx], features(idx))
            self._optimizer_step(policy.optimizer, loss, params)
            self.logger.record_mean(f"{tag}/loss", float(loss.detach()))
        policy.set_training_mode(False)
        return float(loss.detach())

    def reimitate(self) -> float | None:
        """Algorithm 1, line 13: imitation again on the grown D, filtered by reward (the transitions
        at or above the ``reimitation_quantile`` quantile of D's rewards, and above D's lowest
        reward if they differ: when more than that share of trials failed, the quantile is the
        failures' 0, and a failure is never imitated), trunk frozen. None: skipped, also when
        fewer than ``reimitation_min_transitions`` pass the filter."""
        data = self.offline_data()
        if self.reimitation_steps == 0 or len(data) < 2:
            return None
        rewards = data.rewards
        keep = rewards >= np.quantile(rewards, self.reimitation_quantile)
        if rewards.max() > rewards.min():
            keep &= rewards > rewards.min()
        self.logger.record("reimitation/n_transitions", int(keep.sum()))
        if keep.sum() < self.reimitation_min_transitions:  # the quantile keeps D's best: never 0
            return None
        feats = self._features(data.images[keep], data.poses[keep])
        actions = th.as_tensor(data.actions[keep], device=self.device)
        return self._imitate(lambda idx: feats[idx], actions, self.reimitation_steps, "reimitation")

    def _explore(self) -> None:
        """The behaviour noise floor σ_min of the schedule ``explore_sigma`` = (start, end): linear in
        the budget's progress; set only before a batch is sampled (never between sampling and scoring)."""
        start, end = self.explore_sigma
        self.policy.sampler.set_sigma_min(start + (end - start) * (1.0 - self._current_progress_remaining))
        self.logger.record("train/explore_sigma", self.policy.sampler.sigma_min)

    def _fit_critics(
        self, critics: Critics, optimizer: th.optim.Optimizer, feats: th.Tensor, actions: th.Tensor, rewards: th.Tensor, tag: str
    ) -> None:
        """``critic_steps`` IQL steps of ``critics`` on the transitions given (Q onto R, V an expectile of Q)."""
        for idx in self._batches(len(rewards), self.critic_steps):
            q_loss = critics.q_loss(feats[idx], actions[idx], rewards[idx])
            v_loss = critics.v_loss(feats[idx], actions[idx])
            self._optimizer_step(optimizer, q_loss + v_loss, critics.parameters())
            self.logger.record_mean(f"{tag}_q_loss", float(q_loss.detach()))
            self.logger.record_mean(f"{tag}_v_loss", float(v_loss.detach()))

    def _step_fn(self, optimizer: th.optim.Optimizer, params: list[th.nn.Parameter]) -> Any:
        return lambda loss: self._optimizer_step(optimizer, loss, params)

    def offline_iteration(self) -> dict[str, float | bool] | None:
        """Stage 2, one iteration: critics, PPO candidate, OPE gate, distillation. None: D too small."""
        data = self.offline_data()
        if len(data) < 2:
            return None
        fit, held = self._gate_split(data.rewards)
        if min(len(fit), len(held)) < 2:
            return None
        policy, sampler = self.policy, self.policy.sampler
        policy.set_training_mode(False)
        self._explore()
        feats = self._features(data.images, data.poses)  # the trunk stays frozen from here on
        actions = th.as_tensor(data.actions, device=self.device)
        rewards = th.as_tensor(data.rewards, device=self.device)
        critics = policy.critics
        if self.ope_holdout:  # neither critic may have seen the other's part of D before
            critics.load_state_dict(policy.new_critics().state_dict())
            policy.critic_optimizer.state.clear()
        self._fit_critics(critics, policy.critic_optimizer, feats[fit], actions[fit], rewards[fit], "offline/critic")
        gate_critics = critics
        if self.ope_holdout:
            gate_critics = policy.new_critics()
            gate_optimizer = th.optim.Adam(gate_critics.parameters(), lr=policy.critic_optimizer.defaults["lr"])
            self._fit_critics(gate_critics, gate_optimizer, feats[held], actions[held], rewards[held], "offline/gate_critic")
        behaviour = policy.denoiser
        candidate = copy.deepcopy(behaviour)
        params = list(candidate.parameters())
        step = self._step_fn(th.optim.Adam(params, lr=self._current_lr()), params)
        with th.no_grad():
            if self.offline_actions == "logged":  # D's own (s, a): Q is never asked off the data
                sampled, chain = actions, sampler.posterior_chain(actions)
            else:
                sampled, chain = sampler.sample(behaviour, feats, policy.action_dim)
            old_log_prob = sampler.log_prob(behaviour, chain, feats)
            adv = critics.advantage(feats, sampled.clamp(-1, 1))
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        stats = ppo_update(
            candidate, sampler, step, feats, chain, old_log_prob, adv, self.clip_eps, self.offline_ppo_epochs,
            self.ppo_minibatch_size,
        )  # fmt: skip

        def act(model: th.nn.Module) -> Any:
            return lambda c, gen: sampler.sample(model, c, policy.action_dim, generator=gen)[0].clamp(-1, 1)

        seed = int(self._rng.integers(2**31))
        held_rewards = data.rewards[held]
        q_range = (float(held_rewards.min()), float(held_rewards.max()))
        q_new, q_old = paired_q(act(candidate), act(behaviour), gate_critics.q, feats[held], self.ope_samples, q_range, seed)
        scale = float(np.std(held_rewards)) if self.ope_delta_scale == "reward_sd" else None
        decision = ope_gate(q_new, q_old, self.ope_delta_rel, scale, self.ope_confidence, seed=seed)
        if decision.accepted:
            behaviour.load_state_dict(candidate.state_dict())
        self.offline_done += 1
        record: dict[str, float | bool] = {
            "iteration": self.offline_done,
            "accepted": decision.accepted,
            "value_old": decision.value_old,
            "value_new": decision.value_new,
            "delta": decision.delta,
            "lower": decision.lower,
            "n_transitions": len(data),
            "n_gate_transitions": len(held_rewards),
        }
        self.ope_decisions.append(record)
        for key, val in stats.items():
            self.logger.record(f"offline/ppo_{key}", val)
        for key, val in record.items():
            self.logger.record(f"offline/ope_{key}", float(val))
        self.distill(feats, actions, self.distill_steps)
        self.logger.dump(step=self.num_timesteps)
        return record

    def _gate_split(self, rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of D for the PPO critics and for the gate's: all of D for both when
        ``ope_holdout`` is 0 (the paper's); else a share ``ope_holdout`` held out for the gate,
        spread evenly over D's rewards (every other transition in reward order, ties in random order)."""
        n = len(rewards)
        if not self.ope_holdout:
            every = np.arange(n)
            return every, every
        shuffled = self._rng.permutation(n)
        order = shuffled[np.argsort(rewards[shuffled], kind="stable")]
        position, offset = np.arange(n), self._rng.random()
        is_held = np.floor((position + 1) * self.ope_holdout + offset) > np.floor(position * self.ope_holdout + offset)
        return np.sort(order[~is_held]), np.sort(order[is_held])

    def online_update(self) -> dict[str, float] | None:
        """Stage 3, one PPO update on the collected online batch (then cleared). None: empty batch."""
        batch, self._online = self._online, []
        if not batch:
            return None
        policy, sampler = self.policy, self.policy.sampler
        trials = [b[0] for b in batch]
        feats = self._features(np.stack([t.image for t in trials]), np.stack([t.pose for t in trials]))
        chain = th.stack([b[1] for b in batch])
        old_log_prob = th.stack([b[2] for b in batch])
        rewards = th.as_tensor(np.nan_to_num([t.reward for t in trials]), dtype=th.float32, device=self.device)
        with th.no_grad():
            adv = rewards - policy.critics.v(feats)
            if len(batch) > 1:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        for group in policy.optimizer.param_groups:
            group["lr"] = self._current_lr()
        step = self._step_fn(policy.optimizer, list(policy.denoiser.parameters()))
        stats = ppo_update(
            policy.denoiser, sampler, step, feats, chain, old_log_prob, adv, self.clip_eps, self.online_ppo_epochs,
            self.ppo_minibatch_size,
        )  # fmt: skip
        actions = chain[:, -1].clamp(-1, 1)
        for _ in range(self.online_ppo_epochs):
            v_loss = self.value_coef * ((policy.critics.v(feats) - rewards) ** 2).mean()
            q_loss = policy.critics.q_loss(feats, actions, rewards)
            self._optimizer_step(policy.critic_optimizer, v_loss + q_loss, policy.critics.parameters())
            self.logger.record_mean("online/value_loss", float(v_loss.detach()))
        for key, val in stats.items():
            self.logger.record_mean(f"online/ppo_{key}", val)
        self.logger.record_mean("online/batch_reward", float(rewards.mean()))
        self.distill(feats, None, self.online_distill_steps)
        return stats

    def distill(self, feats: th.Tensor, actions: th.Tensor | None, steps: int) -> float | None:
        """Consistency distillation from the frozen K-step teacher on features (N, C)."""
        policy = self.policy
        loss = None
        for idx in self._batches(feats.shape[0], steps if feats.shape[0] else 0):
            act = actions[idx] if actions is not None else None
            loss = distillation_loss(policy.consistency, policy.denoiser, policy.sampler, feats[idx], act)
            self._optimizer_step(policy.consistency_optimizer, loss, policy.consistency.parameters())
            self.logger.record_mean("distill/loss", float(loss.detach()))
        return None if loss is None else float(loss.detach())
