"""Can a policy tell the two plate types apart? The full observation image against the plate crop.

Usage: ``python benchmarks/plate_types_separable.py [--poses N] [--cells default,0] [--folds K] [--json PATH]``

On each cell (the default one and ``cell_seed`` 0 unless told), ``N`` random scenes of the
default plate mix (standard and deep-well plates, half each) are reset with
``gym.make("CellPlatePlace-sim-v0", plate_crop=True)``; the type comes from the sim's privileged
info (labels only). Each observation is seen as:

* **full 60x80**: the 120x160 observation image resized as the benchmark's encoder does
  (``encoder_input_size=(60, 80)``, bilinear with antialiasing);
* **full 120x160**: the observation image itself;
* **crop 75x100**: the ``plate_crop`` observation (1.6 mm/px, turned to the plate's yaw);
* **crop 60x80**: the crop resized to the benchmark's encoder input, as a policy given the crop
  as its image would see it;
* **crop top face**: for comparison, a crop of the same window laid on the plate's measured top
  face instead of the table (every plate's top face then has the same size in the crop).

For each, printed per cell:

* **px > 20**: pixels where the two types' mean images differ by more than 20 grey levels (grey
  = the mean of R, G, B), and their share of the image;
* **probe enc**: cross-validated accuracy of a linear probe (L2 logistic regression on the
  standardised features, its strength chosen by an inner cross-validation on the training folds
  only) on the image features of the
  benchmark's network at initialisation: the ResNet of a ``RoleModelPolicy`` built with
  :class:`rmrl_agents.bench.config.BenchConfig`'s ``policy_kwargs`` (ResNet-10, width 32), seeded;
* **probe px**: the same probe on the raw pixels (0-1, RGB) at that resolution.

The share of the commoner type is the accuracy of always guessing it (chance). The pose
observation P^e alone is probed as well (a type cannot be told from where the plate lies).

Measured (default run: 300 scenes per cell, 5 folds; 3.1 min on the 2-core machine shared with
other jobs), default cell / cell_seed 0:

==============  ===================  ===============  ===============
view            px > 20              probe enc        probe px
==============  ===================  ===============  ===============
full 60x80      0 / 0 of 4,800       52.0 / 49.3 %    53.7 / 53.7 %
full 120x160    0 / 0 of 19,200      51.3 / 49.3 %    49.3 / 49.7 %
crop 75x100     1,115 / 1,342 of     100.0 / 97.0 %   100.0 / 99.0 %
                7,500
crop 60x80      754 / 886 of 4,800   82.3 / 82.3 %    100.0 / 98.3 %
crop top face   686 / 847 of 7,500   79.3 / 71.7 %    79.7 / 76.0 %
==============  ===================  ===============  ===============

Chance 50.3 %, the pose alone 54.0 %. In the full image the types cannot be told apart, by the
untrained encoder or by a linear read of the pixels; in the crop they can, best at the crop's own
resolution (resized to 60x80 the encoder's probe loses 15-18 points). A window on the plate's top
face instead of the table loses 20-25 points: the apparent size of the top face is much of the cue.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

ENV_ID = "CellPlatePlace-sim-v0"
#: Grey levels by which the two types' mean images must differ for a pixel to count.
GREY_LEVELS = 20
#: L2 strengths of the probe, per sample (chosen per outer fold by an inner cross-validation).
PROBE_L2 = (1e-3, 1e-2, 1e-1, 1.0)
VIEWS = ("full 60x80", "full 120x160", "crop 75x100", "crop 60x80", "crop top face")


def _cells(text: str) -> list[int | None]:
    try:
        return [None if c.strip() == "default" else int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--cells takes 'default' and cell seeds, comma-separated, got {text!r}") from None


def collect(cell_seed: int | None, poses: int) -> dict[str, np.ndarray]:
    """``poses`` scenes of one cell: observation images, crops, poses and plate types (0 standard, 1 deep-well)."""
    import gymnasium as gym

    import rmrl_env  # noqa: F401

    kwargs: dict[str, Any] = {"plate_crop": True} | ({} if cell_seed is None else {"cell_seed": cell_seed})
    env = gym.make(ENV_ID, **kwargs)
    images, crops, top_crops, pose, types = [], [], [], [], []
    base: Any = env.unwrapped
    cropper = base.plate_crop
    try:
        for i in range(poses):
            obs, info = env.reset(seed=i)
            images.append(obs["image"])
            crops.append(obs["plate_crop"])
            seen, frame = base._estimate, base._last_frame  # the reset's detection and frame
            on_top = replace(cropper, table_z_m=seen.top_z_m)
            top_crops.append(on_top(frame.color, seen.pose, seen.top_z_m, frame.intrinsics))
            pose.append(obs["pose"])
            types.append(info["privileged"]["plate_type"] != "standard")
    finally:
        env.close()
    return {
        "image": np.stack(images),
        "crop": np.stack(crops),
        "top": np.stack(top_crops),
        "pose": np.stack(pose),
        "type": np.array(types, dtype=int),
    }


def views(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Each view as a float tensor (n, 3, H, W) in [0, 1], resized the encoder's way."""
    import torch as th
    import torch.nn.functional as F

    def tensor(images: np.ndarray) -> th.Tensor:
        return th.as_tensor(images).permute(0, 3, 1, 2).float() / 255.0

    def resized(x: th.Tensor) -> th.Tensor:
        return F.interpolate(x, size=(60, 80), mode="bilinear", align_corners=False, antialias=True)

    image, crop = tensor(data["image"]), tensor(data["crop"])
    return dict(zip(VIEWS, (resized(image), image, crop, resized(crop), tensor(data["top"])), strict=True))


def differing_pixels(x: Any, types: np.ndarray) -> tuple[int, int]:
    """Pixels whose grey level differs by more than :data:`GREY_LEVELS` between the types' mean images; all pixels."""
    grey = x.mean(dim=1).numpy() * 255.0
    diff = np.abs(grey[types == 1].mean(axis=0) - grey[types == 0].mean(axis=0))
    return int((diff > GREY_LEVELS).sum()), int(diff.size)


def encoder_features(x: Any, policy: Any) -> np.ndarray:
    """The ResNet features of the benchmark's policy for images ``x`` (n, 3, H, W) in [0, 1], fed at their size."""
    import torch as th

    enc = policy.encoder
    with th.no_grad():
        out = [enc.image_encoder((batch - enc.image_mean) / enc.image_std) for batch in th.split(x, 64)]
    return th.cat(out).numpy()


def bench_policy(obs_space: Any, action_space: Any) -> Any:
    import torch as th

    from rmrl_agents.bench.config import BenchConfig
    from rmrl_agents.policies import RoleModelPolicy

    cfg = BenchConfig()
    th.manual_seed(0)
    return RoleModelPolicy(obs_space, action_space, lambda _: 1e-3, **cfg.policy_kwargs).eval()


def _fit_logistic(k: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Dual coefficients α of L2 logistic regression with the linear kernel ``k`` (w = Xᵀα): exact for a linear
    probe, and n parameters however many features."""
    from scipy.optimize import minimize
    from scipy.special import expit

    s = 2.0 * y - 1.0
    n = len(y)

    def loss(alpha: np.ndarray) -> tuple[float, np.ndarray]:
        f = k @ alpha
        m = -s * f
        value = np.logaddexp(0.0, m).mean() + 0.5 * l2 * alpha @ f
        grad = k @ (-s * expit(m)) / n + l2 * f
        return float(value), grad

    return minimize(loss, np.zeros(n), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x


def _folds(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    return np.array_split(rng.permutation(n), k)


def _accuracy(k: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, l2: float) -> float:
    alpha = _fit_logistic(k[np.ix_(train, train)], y[train], l2)
    return float(((k[np.ix_(test, train)] @ alpha > 0).astype(int) == y[test]).mean())


def probe(x: np.ndarray, y: np.ndarray, folds: int, seed: int = 0) -> float:
    """Nested cross-validated accuracy of the linear probe on features ``x`` (n, ...), each feature standardised
    over all scenes (no labels used), divided by √d so that the L2 strengths mean the same for every view."""
    rng = np.random.default_rng(seed)
    x = x.reshape(len(x), -1).astype(np.float64)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8) / np.sqrt(x.shape[1])
    k = x @ x.T
    correct = 0.0
    for test in _folds(len(y), folds, rng):
        train = np.setdiff1d(np.arange(len(y)), test)
        inner = _folds(len(train), 3, rng)
        scores = [np.mean([_accuracy(k, y, np.setdiff1d(train, train[f]), train[f], l2) for f in inner]) for l2 in PROBE_L2]
        correct += _accuracy(k, y, train, test, PROBE_L2[int(np.argmax(scores))]) * len(test)
    return correct / len(y)


def measure(cell_seed: int | None, poses: int, folds: int) -> dict[str, Any]:
    import gymnasium as gym

    import rmrl_env  # noqa: F401

    t0 = time.perf_counter()
    data = collect(cell_seed, poses)
    collect_s = time.perf_counter() - t0
    env = gym.make(ENV_ID)  # the benchmark's spaces, for its network
    policy = bench_policy(env.observation_space, env.action_space)
    env.close()
    y = data["type"]
    rows: dict[str, Any] = {}
    for name, x in views(data).items():
        count, total = differing_pixels(x, y)
        rows[name] = {
            "shape": list(x.shape[-2:]),
            "px_differing": count,
            "px_total": total,
            "probe_encoder": probe(encoder_features(x, policy), y, folds),
            "probe_pixels": probe(x.numpy(), y, folds),
        }
    return {
        "cell_seed": cell_seed,
        "poses": poses,
        "deep_well_share": float(y.mean()),
        "chance": float(max(y.mean(), 1 - y.mean())),
        "probe_pose": probe(data["pose"], y, folds),
        "views": rows,
        "collect_s": collect_s,
        "total_s": time.perf_counter() - t0,
    }


def report(result: dict[str, Any]) -> None:
    cell = "default cell" if result["cell_seed"] is None else f"cell_seed {result['cell_seed']}"
    print(
        f"\n{cell}: {result['poses']} scenes, {100 * result['deep_well_share']:.0f} % deep-well; chance "
        f"{100 * result['chance']:.1f} %; probe on the pose P^e alone {100 * result['probe_pose']:.1f} %"
    )
    print(f"{'view':<14} {'px > ' + str(GREY_LEVELS):>16} {'share':>7} {'probe enc':>10} {'probe px':>9}")
    for name, row in result["views"].items():
        print(
            f"{name:<14} {row['px_differing']:>7,} / {row['px_total']:<7,} {100 * row['px_differing'] / row['px_total']:>6.1f}%"
            f" {100 * row['probe_encoder']:>9.1f}% {100 * row['probe_pixels']:>8.1f}%"
        )
    print(f"({result['collect_s']:.0f} s to reset the scenes, {result['total_s']:.0f} s in all)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=int, default=300, help="random scenes per cell (default 300)")
    parser.add_argument("--cells", type=_cells, default=[None, 0], help="cells: 'default' and cell seeds (default default,0)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.poses < 4 * args.folds or args.folds < 2:
        print(
            f"error: --poses ({args.poses}) must be at least 4 x --folds ({args.folds}), and --folds at least 2", file=sys.stderr
        )
        return 2
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        print(f"error: the folder of --json {args.json} does not exist; create it or give another path", file=sys.stderr)
        return 2
    results = []
    for cell in args.cells:
        results.append(measure(cell, args.poses, args.folds))
        report(results[-1])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
