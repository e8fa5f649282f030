"""A small ResNet image encoder written by hand (no torchvision / timm).

Parameter names follow the usual ResNet layout (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0`` ...), so a state dict of a standard ResNet-18/34 saved as a ``.pt``
file elsewhere loads directly (its ``fc.*`` entries are ignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch as th
import torch.nn.functional as F
from torch import nn

#: blocks per stage for the supported depths (all use the two-conv BasicBlock)
RESNET_STAGES: dict[int, tuple[int, int, int, int]] = {
    10: (1, 1, 1, 1),
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
}

NormKind = Literal["frozen_batch", "batch", "group"]


class FrozenBatchNorm2d(nn.BatchNorm2d):
    """Batch norm that always normalises with its stored running statistics.

    The affine weight and bias stay trainable; the running mean / variance never change.
    With freshly initialised statistics (mean 0, variance 1) it is a per-channel affine map,
    so a from-scratch encoder behaves the same for a batch of one trial (online updates)
    as for a replay batch; with pretrained statistics it keeps the pretrained normalisation.
    """

    def forward(self, x: th.Tensor) -> th.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class _GroupNorm(nn.GroupNorm):
    """GroupNorm with the ``(channels)`` constructor of BatchNorm (8 groups or fewer)."""

    def __init__(self, channels: int) -> None:
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        super().__init__(groups, channels)


def _norm(kind: NormKind, channels: int) -> nn.Module:
    if kind == "frozen_batch":
        return FrozenBatchNorm2d(channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return _GroupNorm(channels)
    raise ValueError(f"norm must be 'frozen_batch', 'batch' or 'group', got {kind!r}")


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (1×1 projection when the shape changes)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, norm: NormKind) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _norm(norm, out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        self.bn2 = _norm(norm, out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), _norm(norm, out_ch))

    def forward(self, x: th.Tensor) -> th.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNetEncoder(nn.Module):
    """ResNet trunk → global average pool → feature vector.

    Input: float tensor (B, 3, H, W), already normalised. Output: (B, ``features_dim``) with
    ``features_dim = 8 * base_width``. Any H, W ≥ 32 work (the pool is adaptive).

    :param depth: 10, 18 or 34 (BasicBlock stages (1,1,1,1), (2,2,2,2), (3,4,6,3)).
    :param base_width: channels of the first stage; stages use ×1, ×2, ×4, ×8 of it
        (64 is the standard width that pretrained weights have).
    :param norm: "frozen_batch" (default; see :class:`FrozenBatchNorm2d`), "batch" or "group".
    """

    # the four stages, built in __init__ (named as in torchvision, so pretrained weights load)
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential

    def __init__(self, depth: int = 18, base_width: int = 64, in_channels: int = 3, norm: NormKind = "frozen_batch") -> None:
        super().__init__()
        if depth not in RESNET_STAGES:
            raise ValueError(f"resnet depth must be one of {sorted(RESNET_STAGES)}, got {depth!r}")
        if base_width < 1:
            raise ValueError(f"base_width must be ≥ 1, got {base_width!r}")
        self.depth = depth
        self.base_width = base_width
        self.conv1 = nn.Conv2d(in_channels, base_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = _norm(norm, base_width)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        widths = [base_width * m for m in (1, 2, 4, 8)]
        in_ch = base_width
        for i, (n_blocks, width) in enumerate(zip(RESNET_STAGES[depth], widths, strict=True)):
            blocks = [
                BasicBlock(in_ch if b == 0 else width, width, (1 if i == 0 else 2) if b == 0 else 1, norm)
                for b in range(n_blocks)
            ]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            in_ch = width
        self.features_dim = widths[-1]
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # zero-init the last norm of each residual branch: every block starts as the identity
        for m in self.modules():
            weight = getattr(m.bn2, "weight", None) if isinstance(m, BasicBlock) else None
            if isinstance(weight, th.Tensor):
                nn.init.zeros_(weight)

    def forward(self, x: th.Tensor) -> th.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return th.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def load_pretrained(self, path: str | Path) -> None:
        """Load encoder weights from a local ``.pt`` state dict (no download, ever).

        Accepts a plain state dict or ``{"state_dict": ...}``; the prefixes ``module.``,
        ``features_extractor.``, ``encoder.`` and ``image_encoder.`` are stripped in that order
        (so an rmrl policy's or an SB3 extractor's encoder loads) and ``fc.*``
        (a classifier) is ignored. Every encoder tensor must be present with the right shape,
        otherwise a ``ValueError`` says which keys differ.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"pretrained encoder weights not found: {path} (give a local .pt state-dict file)")
        try:
            state = th.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ValueError(f"cannot read pretrained encoder weights {path}: {err}") from err
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if not isinstance(state, dict) or not all(isinstance(v, th.Tensor) for v in state.values()):
            raise ValueError(f"{path} does not hold a state dict of tensors")
        cleaned: dict[str, th.Tensor] = {}
        for key, value in state.items():
            for prefix in ("module.", "features_extractor.", "encoder.", "image_encoder."):
                if key.startswith(prefix):
                    key = key[len(prefix) :]
            if key.startswith("fc.") or key.endswith("num_batches_tracked"):
                continue
            cleaned[key] = value
        own = {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}
        missing = sorted(set(own) - set(cleaned))
        unexpected = sorted(set(cleaned) - set(own))
        wrong = sorted(k for k in set(own) & set(cleaned) if own[k].shape != cleaned[k].shape)
        if missing or unexpected or wrong:
            raise ValueError(
                f"pretrained encoder weights {path} do not fit a ResNet-{self.depth} "
                f"with base_width {self.base_width}: "
                f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                f"{'…' if len(unexpected) > 5 else ''}, wrong shape {wrong[:5]}"
            )
        self.load_state_dict(cleaned, strict=False)
