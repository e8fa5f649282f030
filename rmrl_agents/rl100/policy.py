"""The RL100 policy: the shared ResNet + pose-MLP trunk, a conditional denoiser sampled by K-step
DDIM, a one-step consistency head and the IQL critics, in one SB3 ``BasePolicy``.

image (B, 3, H, W) uint8, pose (B, 3) [m, m, rad] ──► PlateEncoder ──► c (B, C)
    "ddim":        a^{τ_K} ~ N(0, I) ──K × ε_θ(·, τ_k, c)──► a (B, 3)
    "consistency": a^{τ_K} ~ N(0, I) ──1 × C_w(·, τ_K, c)──► a (B, 3)
    critics:       Q_ψ(c, a), V_ψ(c)

Actions are the continuous env's ``Box(-1, 1, (3,))`` (Δx, Δy, Δψ scaled to the grid's ranges);
what the policy hands the env is clipped to [-1, 1], the chains keep the unclipped samples.
Deterministic actions are σ = 0 DDIM (the paper's deterministic sampler; or the consistency
head) started from zero noise, the mode of N(0, I), not from a seeded draw as the paper does:
on the tests' fitted task (tests/rl100/conftest.py) the RMS error to the optimal action is 0.057
from zero, 0.072 from a fresh draw per state and 0.117 from the seed-0 draw. A one-step task has
one best action per state, and a fixed draw keeps its own offset from the learned mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule

from rmrl_agents.errors import IncompatibleEnvError
from rmrl_agents.policies import IMAGE_KEY, POSE_KEY, PlateEncoder, check_spaces, pose_normalisation
from rmrl_agents.resnet import NormKind
from rmrl_agents.rl100.consistency import ConsistencyHead
from rmrl_agents.rl100.critics import Critics
from rmrl_agents.rl100.ddim import DDIMSampler, ScheduleKind
from rmrl_agents.rl100.denoiser import Denoiser

SamplerKind = Literal["ddim", "consistency"]
SAMPLERS: tuple[SamplerKind, ...] = ("ddim", "consistency")


def check_continuous_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Raise :class:`IncompatibleEnvError` unless the env is a continuous cell-plate env."""
    if not (
        isinstance(action_space, spaces.Box)
        and action_space.shape == (3,)
        and np.allclose(action_space.low, -1.0)
        and np.allclose(action_space.high, 1.0)
    ):
        raise IncompatibleEnvError(
            f"RL100 needs the continuous action space Box(-1, 1, (3,), float32), got {action_space!r}; make the env "
            "with gym.make(env_id, action_type='continuous') (or rmrl_agents/SyntheticPlateContinuous-v0)"
        )
    try:  # the observation check of the other agents (given a stand-in grid action space)
        check_spaces(observation_space, spaces.MultiDiscrete([1, 1, 1]))
    except IncompatibleEnvError as err:
        raise IncompatibleEnvError(f"RL100: unsupported observation space: {err}") from None


class RL100Policy(BasePolicy):
    """Diffusion policy + consistency head + critics on the shared trunk.

    :param observation_space: Dict with "image" (uint8, (3, H, W) or (H, W, 3)) and "pose" ((3,)).
    :param action_space: Box(-1, 1, (3,)).
    :param lr_schedule: learning rate of the denoiser (and, in imitation, the trunk).
    :param resnet_depth, resnet_width, norm, encoder_input_size, pose_hidden, pose_mean, pose_scale,
        pretrained_encoder, freeze_encoder: the trunk, as in :class:`~rmrl_agents.policies.RoleModelPolicy`.
    :param n_denoising_steps: K of the DDIM sampler (default 5; ≥ 1).
    :param n_diffusion_steps: T of the noise schedule (default 100).
    :param schedule, eta, sigma_min, sigma_max: noise schedule and per-step σ (see :class:`DDIMSampler`).
    :param denoiser_hidden: hidden sizes of ε_θ and of the consistency head (default (256, 256)).
    :param step_embed_dim, cond_embed_dim: step embedding and condition projection sizes (32, 128).
    :param critic_hidden: hidden sizes of Q_ψ and V_ψ (default (256, 256)).
    :param n_q: Q ensemble size (default 2); :param expectile: τ_e of V (default 0.7).
    :param critic_learning_rate, consistency_learning_rate: Adam learning rates (default 3e-4 each).
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        resnet_depth: int = 18,
        resnet_width: int = 64,
        norm: NormKind = "frozen_batch",
        encoder_input_size: Sequence[int] | None = None,
        pose_hidden: Sequence[int] = (64, 64),
        pose_mean: Sequence[float] | None = None,
        pose_scale: Sequence[float] | None = None,
        pretrained_encoder: str | Path | None = None,
        freeze_encoder: bool = False,
        n_denoising_steps: int = 5,
        n_diffusion_steps: int = 100,
        schedule: ScheduleKind = "cosine",
        eta: float = 1.0,
        sigma_min: float = 0.01,
        sigma_max: float = 0.8,
        denoiser_hidden: Sequence[int] = (256, 256),
        step_embed_dim: int = 32,
        cond_embed_dim: int = 128,
        critic_hidden: Sequence[int] = (256, 256),
        n_q: int = 2,
        expectile: float = 0.7,
        critic_learning_rate: float = 3e-4,
        consistency_learning_rate: float = 3e-4,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        check_continuous_spaces(observation_space, action_space)
        super().__init__(
            observation_space,
            action_space,
            features_extractor=None,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )
        self.sampler = DDIMSampler(n_denoising_steps, n_diffusion_steps, schedule, eta, sigma_min, sigma_max)
        self._config = {
            "resnet_depth": resnet_depth,
            "resnet_width": resnet_width,
            "norm": norm,
            "pose_hidden": tuple(pose_hidden),
            "freeze_encoder": freeze_encoder,
            "n_denoising_steps": n_denoising_steps,
            "n_diffusion_steps": n_diffusion_steps,
            "schedule": schedule,
            "eta": eta,
            "sigma_min": sigma_min,
            "sigma_max": sigma_max,
            "denoiser_hidden": tuple(denoiser_hidden),
            "step_embed_dim": step_embed_dim,
            "cond_embed_dim": cond_embed_dim,
            "critic_hidden": tuple(critic_hidden),
            "n_q": n_q,
            "expectile": expectile,
            "critic_learning_rate": critic_learning_rate,
            "consistency_learning_rate": consistency_learning_rate,
        }
        self.action_dim = int(action_space.shape[0])
        self._channels_first = is_image_space_channels_first(observation_space[IMAGE_KEY])  # type: ignore[arg-type]
        mean, scale = pose_normalisation(observation_space[POSE_KEY], pose_mean, pose_scale)  # type: ignore[arg-type]
        self.pose_mean_value, self.pose_scale_value = mean.tolist(), scale.tolist()
        self.encoder_input_size = tuple(int(s) for s in encoder_input_size) if encoder_input_size is not None else None
        self.encoder = PlateEncoder(
            mean,
            scale,
            resnet_depth,
            resnet_width,
            norm,
            self.encoder_input_size,
            pose_hidden,
            pretrained_encoder,
            freeze_encoder,
        )
        cond_dim = self.encoder.features_dim
        self.denoiser = Denoiser(self.action_dim, cond_dim, denoiser_hidden, step_embed_dim, cond_embed_dim)
        self.consistency = ConsistencyHead(self.action_dim, cond_dim, denoiser_hidden, step_embed_dim, cond_embed_dim)
        self._critic_args = (cond_dim, self.action_dim, tuple(critic_hidden), n_q, float(expectile))
        self.critics = self.new_critics()
        trainable = [p for m in (self.encoder, self.denoiser) for p in m.parameters() if p.requires_grad]
        self.optimizer = self.optimizer_class(trainable, lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]
        self.critic_optimizer = th.optim.Adam(self.critics.parameters(), lr=critic_learning_rate)
        self.consistency_optimizer = th.optim.Adam(self.consistency.parameters(), lr=consistency_learning_rate)
        self.predict_sampler: SamplerKind = "ddim"

    def new_critics(self) -> Critics:
        """A freshly initialised set of critics of this policy's sizes (on the policy's device)."""
        return Critics(*self._critic_args).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(self._config, encoder_input_size=self.encoder_input_size)
        data.update(
            pose_mean=self.pose_mean_value,
            pose_scale=self.pose_scale_value,
            normalize_images=self.normalize_images,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            lr_schedule=self._dummy_schedule,
        )
        return data

    @property
    def n_denoising_steps(self) -> int:
        """K."""
        return self.sampler.n_steps

    # -- forward ------------------------------------------------------------------------------
    def features(self, obs: PyTorchObs) -> th.Tensor:
        """Trunk features c (B, C) of observations as SB3 gives them (uint8 image)."""
        assert isinstance(obs, dict)
        image = obs[IMAGE_KEY].float()
        if not self._channels_first:
            image = image.permute(0, 3, 1, 2)
        if self.normalize_images:
            image = image / 255.0
        return self.encoder(image, obs[POSE_KEY])

    def act(
        self, cond: th.Tensor, sampler: SamplerKind = "ddim", deterministic: bool = False, generator: th.Generator | None = None
    ) -> th.Tensor:
        """Actions (B, 3) clipped to [-1, 1] for trunk features (B, C)."""
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
        noise = th.zeros(cond.shape[0], self.action_dim, device=cond.device) if deterministic else None
        if sampler == "consistency":
            action = self.consistency.act(self.sampler, cond, deterministic, noise, generator)
        else:
            action, _ = self.sampler.sample(self.denoiser, cond, self.action_dim, deterministic, noise, generator)
        return action.clamp(-1.0, 1.0)

    def sample_chain(self, cond: th.Tensor, generator: th.Generator | None = None) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Stochastic DDIM for exploration: (actions (B, 3) clipped, chain (B, K + 1, 3), log π (B, K))."""
        with th.no_grad():
            action, chain = self.sampler.sample(self.denoiser, cond, self.action_dim, generator=generator)
            log_prob = self.sampler.log_prob(self.denoiser, chain, cond)
        return action.clamp(-1.0, 1.0), chain, log_prob

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        with th.no_grad():
            return self.act(self.features(observation), self.predict_sampler, deterministic)


__all__ = ["SAMPLERS", "RL100Policy", "SamplerKind", "check_continuous_spaces"]
