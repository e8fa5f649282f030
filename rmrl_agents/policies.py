"""The policy network shared by every rmrl agent (paper Fig. 3).

image (B, 3, H, W) uint8 ──► ResNet ──► f_img (B, 8·base_width) ─┐
pose  (B, 3) [x m, y m, ψ rad] ──► MLP ──► f_pose (B, pose_hidden[-1]) ─┴─► concat ─► 3 MLP heads
                                                                     ─► logits (B, n_x), (B, n_y), (B, n_ψ)

A softmax over each head's logits gives π(Δx|s), π(Δy|s), π(Δψ|s): together a
multi-categorical distribution over the env's ``MultiDiscrete([n_x, n_y, n_ψ])`` action.

Two choices respect the grid's order (its bins are 1 mm / 0.5° apart, not unrelated classes):

* **start** (``init_spread_bins``): each head starts as a discretised Gaussian centred on the
  zero adjustment (the middle bin: the env's grids are symmetric around zero), so the first
  greedy action is "no correction" and the first samples explore near it. ``None`` starts
  uniform over the grid (the paper's network, whose first greedy action is an arbitrary bin);
* **deterministic readout** (``readout``): "argmax" (the mode of each head), or "mean" /
  "median" of each head's distribution, snapped to the nearest bin, which use the whole
  distribution's order (a broad distribution's argmax jumps between far bins; its mean moves smoothly).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.distributions import MultiCategoricalDistribution
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

from rmrl_agents.errors import IncompatibleEnvError
from rmrl_agents.resnet import NormKind, ResNetEncoder

IMAGE_KEY = "image"
POSE_KEY = "pose"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
ReadoutKind = Literal["argmax", "mean", "median"]
#: the deterministic readouts of :class:`RoleModelPolicy`
READOUTS: tuple[str, ...] = get_args(ReadoutKind)
#: the heads' starting spread around the zero adjustment, grid steps (chosen by the ablation in
#: ``benchmarks/learner_ablation.py``; the paper's network starts uniform: ``None``)
DEFAULT_INIT_SPREAD_BINS = 3.0
#: the deterministic readout (chosen by the same ablation; the paper's network: "argmax")
DEFAULT_READOUT: ReadoutKind = "mean"
#: pose normalisation used when the pose space has no finite bounds: (pose - mean) / scale
DEFAULT_POSE_MEAN = (0.4, 0.0, 0.0)
DEFAULT_POSE_SCALE = (0.1, 0.1, 0.5)

_EXPECTED = (
    "rmrl agents need an env with observation space Dict({'image': Box(0, 255, (H, W, 3), uint8), "
    "'pose': Box(-inf, inf, (3,), float32)}) and action space MultiDiscrete([n_x, n_y, n_psi]) "
    "(e.g. CellPlatePlace-sim-v0 or rmrl_agents/SyntheticPlate-v0)"
)


def check_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Raise :class:`IncompatibleEnvError` unless the spaces are those of a cell-plate env.

    Accepts the image either channel-last (H, W, 3) as the env gives it or channel-first
    (3, H, W) as SB3's ``VecTransposeImage`` hands it to the policy.
    """
    if not isinstance(action_space, spaces.MultiDiscrete) or len(action_space.nvec.shape) != 1:
        raise IncompatibleEnvError(
            f"{_EXPECTED}; got action space {action_space!r}. The action must be a MultiDiscrete vector of "
            "candidate indices, one per pose component (wrap a continuous env with a discretising wrapper)."
        )
    if np.any(np.asarray(action_space.start) != 0):
        raise IncompatibleEnvError(f"{_EXPECTED}; MultiDiscrete with a non-zero start {action_space.start} is not supported")
    if not isinstance(observation_space, spaces.Dict):
        raise IncompatibleEnvError(f"{_EXPECTED}; got observation space {observation_space!r} (not a Dict)")
    missing = [k for k in (IMAGE_KEY, POSE_KEY) if k not in observation_space.spaces]
    if missing:
        raise IncompatibleEnvError(
            f"{_EXPECTED}; the observation Dict has keys {sorted(observation_space.spaces)} and lacks {missing}"
        )
    image, pose = observation_space[IMAGE_KEY], observation_space[POSE_KEY]
    if not (
        isinstance(image, spaces.Box)
        and image.dtype == np.uint8
        and len(image.shape) == 3
        and 3 in (image.shape[0], image.shape[-1])
    ):
        raise IncompatibleEnvError(f"{_EXPECTED}; 'image' is {image!r}, not a uint8 colour image Box")
    if not (isinstance(pose, spaces.Box) and pose.shape == (3,)):
        raise IncompatibleEnvError(f"{_EXPECTED}; 'pose' is {pose!r}, not a Box of shape (3,)")


def plate_spaces(observation_space: spaces.Space) -> tuple[spaces.Box, spaces.Box]:
    """The ``(image, pose)`` Boxes of a cell-plate observation space (checked with :func:`check_spaces`)."""
    if not isinstance(observation_space, spaces.Dict):
        raise IncompatibleEnvError(f"{_EXPECTED}; got observation space {observation_space!r} (not a Dict)")
    image, pose = observation_space.spaces.get(IMAGE_KEY), observation_space.spaces.get(POSE_KEY)
    if not (isinstance(image, spaces.Box) and isinstance(pose, spaces.Box)):
        raise IncompatibleEnvError(f"{_EXPECTED}; got observation space {observation_space!r}")
    return image, pose


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


#: policy keywords renamed since models were first saved: old name → new name. A model file that
#: holds an old name loads (see :func:`upgrade_saved_policy_kwargs`); passing one is an error.
RENAMED_POLICY_KWARGS = {"image_size": "encoder_input_size"}


def check_policy_kwargs(policy_kwargs: dict[str, Any] | None) -> None:
    """Raise ``ValueError`` naming the new keyword if ``policy_kwargs`` uses a renamed one."""
    for old, new in RENAMED_POLICY_KWARGS.items():
        if policy_kwargs and old in policy_kwargs:
            raise ValueError(
                f"policy_kwargs {old!r} is now {new!r} (the (h, w) the policy resizes the image to before its "
                f"encoder); rename it, and set the env's observation size with the env's own image_size"
            )


def upgrade_saved_policy_kwargs(policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The policy keywords of a model file, with names renamed since it was saved brought up to date."""
    return {RENAMED_POLICY_KWARGS.get(k, k): v for k, v in policy_kwargs.items()}


def pose_normalisation(
    pose_space: spaces.Box, mean: Sequence[float] | None, scale: Sequence[float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, scale)`` with which the pose is fed as ``(pose - mean) / scale``.

    Defaults: the centre and half-width of the pose space if it is bounded, else
    :data:`DEFAULT_POSE_MEAN` / :data:`DEFAULT_POSE_SCALE`.
    """
    low, high = np.asarray(pose_space.low, dtype=np.float64), np.asarray(pose_space.high, dtype=np.float64)
    bounded = bool(np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low))
    m = np.asarray(mean if mean is not None else ((low + high) / 2 if bounded else DEFAULT_POSE_MEAN), dtype=np.float32)
    s = np.asarray(scale if scale is not None else ((high - low) / 2 if bounded else DEFAULT_POSE_SCALE), dtype=np.float32)
    if m.shape != (3,) or s.shape != (3,) or np.any(s <= 0):
        raise ValueError(f"pose_mean and pose_scale must be 3 numbers (scale > 0), got {m.tolist()} and {s.tolist()}")
    return m, s


class PlateEncoder(nn.Module):
    """The trunk of the network: ResNet on the image, MLP on the pose, concatenated.

    ``forward(image, pose)`` takes the image as floats in [0, 1], shape (B, 3, H, W), and the
    pose (B, 3) in m, m, rad; it returns features of shape (B, :attr:`features_dim`).
    """

    # buffers (saved with the weights), registered in __init__
    pose_mean: th.Tensor
    pose_scale: th.Tensor
    image_mean: th.Tensor
    image_std: th.Tensor

    def __init__(
        self,
        pose_mean: np.ndarray,
        pose_scale: np.ndarray,
        resnet_depth: int = 18,
        resnet_width: int = 64,
        norm: NormKind = "frozen_batch",
        encoder_input_size: Sequence[int] | None = None,
        pose_hidden: Sequence[int] = (64, 64),
        pretrained_encoder: str | Path | None = None,
        freeze_encoder: bool = False,
    ) -> None:
        super().__init__()
        self.encoder_input_size = tuple(int(v) for v in encoder_input_size) if encoder_input_size is not None else None
        self.register_buffer("pose_mean", th.as_tensor(pose_mean, dtype=th.float32))
        self.register_buffer("pose_scale", th.as_tensor(pose_scale, dtype=th.float32))
        self.register_buffer("image_mean", th.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("image_std", th.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        self.image_encoder = ResNetEncoder(resnet_depth, resnet_width, norm=norm)
        if pretrained_encoder is not None:
            self.image_encoder.load_pretrained(pretrained_encoder)
        if freeze_encoder:
            self.image_encoder.requires_grad_(False)
        self.pose_encoder = nn.Sequential(_mlp((3, *pose_hidden)), nn.ReLU())
        self.features_dim = self.image_encoder.features_dim + int(pose_hidden[-1])

    def forward(self, image: th.Tensor, pose: th.Tensor) -> th.Tensor:
        size = self.encoder_input_size
        if size is not None and tuple(image.shape[-2:]) != size:
            image = F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)
        image = (image - self.image_mean) / self.image_std
        pose = (pose.float() - self.pose_mean) / self.pose_scale
        return th.cat([self.image_encoder(image), self.pose_encoder(pose)], dim=1)


class PlateFeaturesExtractor(BaseFeaturesExtractor):
    """The same trunk for SB3's own actor-critic algorithms (PPO, A2C).

    ``PPO("MultiInputPolicy", env, policy_kwargs=dict(features_extractor_class=PlateFeaturesExtractor,
    features_extractor_kwargs=dict(resnet_depth=18)))`` gives PPO the ResNet + pose-MLP trunk of
    the rmrl agents; SB3 adds its own policy and value heads on top.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        pose_mean: Sequence[float] | None = None,
        pose_scale: Sequence[float] | None = None,
        **encoder_kwargs: Any,
    ) -> None:
        check_policy_kwargs(encoder_kwargs)
        image_space, pose_space = plate_spaces(observation_space)
        mean, scale = pose_normalisation(pose_space, pose_mean, pose_scale)
        encoder = PlateEncoder(mean, scale, **encoder_kwargs)
        super().__init__(observation_space, features_dim=encoder.features_dim)
        self.encoder = encoder
        self._channels_first = is_image_space_channels_first(image_space)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        image = observations[IMAGE_KEY].float()  # SB3 has already scaled it to [0, 1]
        if not self._channels_first:
            image = image.permute(0, 3, 1, 2)
        return self.encoder(image, observations[POSE_KEY])


class RoleModelPolicy(BasePolicy):
    """ResNet + pose-MLP policy with one softmax head per action dimension (paper Fig. 3).

    :param observation_space: Dict with "image" (uint8, (3, H, W) or (H, W, 3)) and "pose" ((3,)).
    :param action_space: MultiDiscrete([n_x, n_y, n_ψ]); one head per entry.
    :param lr_schedule: learning-rate schedule (SB3 convention), used to build the optimizer.
    :param resnet_depth: 10, 18 (default) or 34.
    :param resnet_width: channels of the first ResNet stage (default 64, the standard width).
    :param norm: normalisation layers of the ResNet: "frozen_batch" (default), "batch" or "group".
    :param encoder_input_size: (h, w) the policy resizes the observation image to before its
        encoder (bilinear); None (default) feeds the image at the env's observation size (the
        env's ``image_size``, 120×160 for the cell-plate envs). Called ``image_size`` before;
        model files saved with that name load.
    :param pose_hidden: hidden sizes of the pose MLP (default (64, 64)); the last is its output size.
    :param head_hidden: hidden sizes of each of the three heads (default (256,)).
    :param pose_mean, pose_scale: the pose is fed as (pose - mean) / scale, in m, m, rad.
        Default: from the pose space's bounds if finite, else (0.4, 0, 0) and (0.1, 0.1, 0.5).
    :param pretrained_encoder: optional path to a local ``.pt`` ResNet state dict.
    :param freeze_encoder: keep the ResNet weights fixed (only pose MLP and heads learn).
    :param init_spread_bins: each head starts as a Gaussian of this sd (grid steps) around the
        middle bin, the zero adjustment (default :data:`DEFAULT_INIT_SPREAD_BINS`); None: uniform.
    :param readout: the deterministic action: "argmax", "mean" or "median" of each head, snapped
        to a bin (default :data:`DEFAULT_READOUT`); see the module docstring.
    :param optimizer_class, optimizer_kwargs: the optimizer (default Adam).
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.MultiDiscrete,
        lr_schedule: Schedule,
        resnet_depth: int = 18,
        resnet_width: int = 64,
        norm: NormKind = "frozen_batch",
        encoder_input_size: Sequence[int] | None = None,
        pose_hidden: Sequence[int] = (64, 64),
        head_hidden: Sequence[int] = (256,),
        pose_mean: Sequence[float] | None = None,
        pose_scale: Sequence[float] | None = None,
        pretrained_encoder: str | Path | None = None,
        freeze_encoder: bool = False,
        init_spread_bins: float | None = DEFAULT_INIT_SPREAD_BINS,
        readout: ReadoutKind = DEFAULT_READOUT,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        check_spaces(observation_space, action_space)
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {list(READOUTS)}, got {readout!r}")
        if init_spread_bins is not None and not init_spread_bins > 0:
            raise ValueError(f"init_spread_bins must be > 0 grid steps, or None for a uniform start; got {init_spread_bins!r}")
        super().__init__(
            observation_space,
            action_space,
            features_extractor=None,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )
        self.resnet_depth, self.resnet_width, self.norm = resnet_depth, resnet_width, norm
        self.encoder_input_size = tuple(int(s) for s in encoder_input_size) if encoder_input_size is not None else None
        self.pose_hidden, self.head_hidden = tuple(pose_hidden), tuple(head_hidden)
        self.freeze_encoder = freeze_encoder
        self.init_spread_bins = None if init_spread_bins is None else float(init_spread_bins)
        self.readout: ReadoutKind = readout
        self.pretrained_encoder = str(pretrained_encoder) if pretrained_encoder is not None else None
        self.action_dims = [int(n) for n in action_space.nvec]
        image_space, pose_space = plate_spaces(observation_space)
        self._channels_first = is_image_space_channels_first(image_space)

        mean, scale = pose_normalisation(pose_space, pose_mean, pose_scale)
        self.pose_mean_value, self.pose_scale_value = mean.tolist(), scale.tolist()
        self.encoder = PlateEncoder(
            mean,
            scale,
            resnet_depth,
            resnet_width,
            norm,
            self.encoder_input_size,
            self.pose_hidden,
            pretrained_encoder,
            freeze_encoder,
        )
        joint = self.encoder.features_dim
        heads = [_mlp((joint, *self.head_hidden, n)) for n in self.action_dims]
        for head, n in zip(heads, self.action_dims, strict=True):  # small last layer: the bias sets the start
            last = head[-1]
            assert isinstance(last, nn.Linear)
            nn.init.orthogonal_(last.weight, gain=0.01)
            with th.no_grad():
                last.bias.copy_(start_logits(n, self.init_spread_bins))
        self.heads = nn.ModuleList(heads)
        self.action_dist = MultiCategoricalDistribution(self.action_dims)
        trainable = [p for p in self.parameters() if p.requires_grad]
        self.optimizer = self.optimizer_class(trainable, lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]

    @property
    def image_encoder(self) -> ResNetEncoder:
        """The ResNet of the trunk."""
        return self.encoder.image_encoder

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            resnet_depth=self.resnet_depth,
            resnet_width=self.resnet_width,
            norm=self.norm,
            encoder_input_size=self.encoder_input_size,
            pose_hidden=self.pose_hidden,
            head_hidden=self.head_hidden,
            pose_mean=self.pose_mean_value,
            pose_scale=self.pose_scale_value,
            freeze_encoder=self.freeze_encoder,
            init_spread_bins=self.init_spread_bins,
            readout=self.readout,
            normalize_images=self.normalize_images,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            lr_schedule=self._dummy_schedule,
        )
        return data

    # -- forward ------------------------------------------------------------------------------
    def logits(self, obs: PyTorchObs) -> th.Tensor:
        """Concatenated head logits, shape (B, n_x + n_y + n_ψ). ``obs`` as SB3 gives it (uint8 image)."""
        assert isinstance(obs, dict)
        image = obs[IMAGE_KEY].float()
        if not self._channels_first:
            image = image.permute(0, 3, 1, 2)
        if self.normalize_images:
            image = image / 255.0
        features = self.encoder(image, obs[POSE_KEY])
        return th.cat([head(features) for head in self.heads], dim=1)

    def get_distribution(self, obs: PyTorchObs) -> MultiCategoricalDistribution:
        """π(·|s) as SB3's MultiCategoricalDistribution (one softmax per head)."""
        return self.action_dist.proba_distribution(action_logits=self.logits(obs))

    def probabilities(self, obs: PyTorchObs) -> list[th.Tensor]:
        """Softmax of each head: a list of (B, n_i) tensors whose rows sum to 1."""
        return [F.softmax(part, dim=1) for part in th.split(self.logits(obs), self.action_dims, dim=1)]

    def log_prob(self, obs: PyTorchObs, actions: th.Tensor) -> th.Tensor:
        """log π(a|s) = Σ_i log π(a[i]|s), shape (B,); ``actions`` (B, 3) integer indices."""
        return self.get_distribution(obs).log_prob(actions)

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        if deterministic and self.readout != "argmax":
            return read_out(self.probabilities(observation), self.readout)
        return self.get_distribution(observation).get_actions(deterministic=deterministic)


def start_logits(n: int, spread_bins: float | None) -> th.Tensor:
    """A head's starting logits over ``n`` bins: log of a Gaussian of sd ``spread_bins`` around the
    middle bin (normalised over the grid), or zeros (uniform) for None."""
    if spread_bins is None:
        return th.zeros(n)
    bins = th.arange(n, dtype=th.float32)
    return th.log_softmax(-0.5 * ((bins - (n - 1) / 2) / spread_bins) ** 2, dim=0)


def read_out(probabilities: Sequence[th.Tensor], readout: ReadoutKind) -> th.Tensor:
    """The deterministic action (B, n_heads) int64 from each head's (B, n_i) probabilities:
    the "argmax", or the "mean" or "median" bin index rounded to the nearest bin."""
    picks = []
    for p in probabilities:
        if readout == "argmax":
            picks.append(p.argmax(1))
        elif readout == "mean":
            bins = th.arange(p.shape[1], device=p.device, dtype=p.dtype)
            picks.append(th.round((p * bins).sum(1)).long().clamp(0, p.shape[1] - 1))
        else:  # the first bin whose cumulative probability reaches one half
            below = (th.cumsum(p, dim=1) < 0.5).sum(1)
            picks.append(below.clamp(max=p.shape[1] - 1))
    return th.stack(picks, dim=1)


#: SB3-style alias: ``REINFORCE("MultiInputPolicy", env)``
MultiInputPolicy = RoleModelPolicy
