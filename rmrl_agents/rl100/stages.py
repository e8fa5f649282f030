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
from rmrl_agents.rl100.data import Transitions, load_prior
from rmrl_agents.rl100.objectives import estimate_value, imitation_loss, ope_gate, ppo_update
from rmrl_agents.rl100.policy import RL100Policy

OpeDeltaScale = Literal["value", "reward_sd"]


class RL100Stages(OneStepAlgorithm[RL100Policy]):
    """RL100's stages on its policy (not used directly; the settings are RL100's parameters)."""

    # RL100's settings (see its parameters)
    prior_data: list[str]
    batch_size: int
    imitation_steps: int
    imitation_learning_rate: float
    critic_steps: int
    offline_ppo_epochs: int
    online_ppo_epochs: int
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
        """D: the prior data and every trial of the log with a measured reward."""
        log = self.trial_log
        logged = Transitions(
            log.get("image", np.arange(len(log))),
            log.poses(),
            np.asarray(log.column("action"), dtype=np.float32).reshape(-1, 3),
            log.rewards().astype(np.float32),
        )
        data = self._prior_transitions().concat(logged)
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
        """Stage 1 on the prior data; returns the last mean loss (None: no prior data)."""
        data = self._prior_transitions()
        if len(data) == 0:
            self.imitated = True
            return None
        policy = self.policy
        policy.set_training_mode(True)
        for group in policy.optimizer.param_groups:
            group["lr"] = self.imitation_learning_rate
        actions = th.as_tensor(data.actions, device=self.device)
        params = [p for g in policy.optimizer.param_groups for p in g["params"]]
        loss = th.zeros(())
        for idx in self._batches(len(data), self.imitation_steps):
            cond = self._features(data.images[idx], data.poses[idx], grad=True)
            loss = imitation_loss(policy.denoiser, policy.sampler, actions[idx], cond)
            self._optimizer_step(policy.optimizer, loss, params)
            self.logger.record_mean("imitation/loss", float(loss.detach()))
        policy.set_training_mode(False)
        self.distill(self._features(data.images, data.poses), actions, self.distill_steps)
        self.imitated = True
        self.logger.record("imitation/n_transitions", len(data))
        self.logger.dump(step=self.num_timesteps)
        return float(loss.detach())

    def offline_iteration(self) -> dict[str, float | bool] | None:
        """Stage 2, one iteration: critics, PPO candidate, OPE gate, distillation. None: D too small."""
        data = self.offline_data()
        if len(data) < 2:
            return None
        policy, sampler = self.policy, self.policy.sampler
        policy.set_training_mode(False)
        feats = self._features(data.images, data.poses)  # the trunk stays frozen from here on
        actions = th.as_tensor(data.actions, device=self.device)
        rewards = th.as_tensor(data.rewards, device=self.device)
        critics = policy.critics
        for idx in self._batches(len(data), self.critic_steps):
            q_loss = critics.q_loss(feats[idx], actions[idx], rewards[idx])
            v_loss = critics.v_loss(feats[idx], actions[idx])
            self._optimizer_step(policy.critic_optimizer, q_loss + v_loss, critics.parameters())
            self.logger.record_mean("offline/critic_q_loss", float(q_loss.detach()))
            self.logger.record_mean("offline/critic_v_loss", float(v_loss.detach()))
        behaviour = policy.denoiser
        candidate = copy.deepcopy(behaviour)
        optimizer = th.optim.Adam(candidate.parameters(), lr=self._current_lr())
        with th.no_grad():
            sampled, chain = sampler.sample(behaviour, feats, policy.action_dim)
            old_log_prob = sampler.log_prob(behaviour, chain, feats)
            adv = critics.advantage(feats, sampled.clamp(-1, 1))
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        stats = ppo_update(
            candidate, sampler, optimizer, feats, chain, old_log_prob, adv, self.clip_eps, self.offline_ppo_epochs,
            self.batch_size, self.max_grad_norm,
        )  # fmt: skip

        def value(model: th.nn.Module) -> float:
            return estimate_value(
                lambda c: sampler.sample(model, c, policy.action_dim)[0].clamp(-1, 1), critics.q, feats, self.ope_samples
            )

        by_spread = getattr(self, "ope_delta_scale", "value") == "reward_sd"  # models saved before the option: the paper's
        scale = float(np.std(data.rewards)) if by_spread else None
        decision = ope_gate(value(candidate), value(behaviour), self.ope_delta_rel, scale)
        if decision.accepted:
            behaviour.load_state_dict(candidate.state_dict())
        self.offline_done += 1
        record: dict[str, float | bool] = {
            "iteration": self.offline_done,
            "accepted": decision.accepted,
            "value_old": decision.value_old,
            "value_new": decision.value_new,
            "delta": decision.delta,
            "n_transitions": len(data),
        }
        self.ope_decisions.append(record)
        for key, val in stats.items():
            self.logger.record(f"offline/ppo_{key}", val)
        for key, val in record.items():
            self.logger.record(f"offline/ope_{key}", float(val))
        self.distill(feats, actions, self.distill_steps)
        self.logger.dump(step=self.num_timesteps)
        return record

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
        stats = ppo_update(
            policy.denoiser, sampler, policy.optimizer, feats, chain, old_log_prob, adv, self.clip_eps, self.online_ppo_epochs,
            self.batch_size, self.max_grad_norm,
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
