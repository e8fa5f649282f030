"""Speed of the rmrl policy and of each kind of update on CPU.

    python benchmarks/agents_speed.py                      # defaults: ResNet-18, 120×160, 2 threads
    python benchmarks/agents_speed.py --depth 10 --threads 1 --repeats 30

Prints the median (and 10th / 90th percentile) wall time of:
  * policy forward (batch 1, no grad) and ``model.predict`` on one env observation;
  * REINFORCE update (policy gradient, 1 trial);
  * RL + replay update (policy gradient, batch of ``--replay-batch`` trials);
  * RM-RL scene update (cross-entropy on D_i, K = ``--scene-size`` states);
  * RM-RL data replay (cross-entropy, batch of ``--dataset-batch`` labels).
Target: forward ≤ 30 ms median at 120×160 on 2 threads.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch as th
from latency import time_ms  # benchmarks/latency.py (this folder is on sys.path when a script runs)

from rmrl_agents import RMRL
from rmrl_agents.common.envs import SyntheticPlateEnv


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--depth", type=int, default=18)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--image-size", type=int, nargs=2, default=(120, 160), metavar=("H", "W"))
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--update-repeats", type=int, default=10)
    p.add_argument("--replay-batch", type=int, default=16)
    p.add_argument("--scene-size", type=int, default=5)
    p.add_argument("--dataset-batch", type=int, default=32)
    args = p.parse_args()

    th.set_num_threads(args.threads)
    h, w = args.image_size
    env = SyntheticPlateEnv(image_size=(h, w))
    model = RMRL("MultiInputPolicy", env, seed=0, policy_kwargs={"resnet_depth": args.depth, "resnet_width": args.width})
    model._ensure_logger()
    policy = model.policy
    rng = np.random.default_rng(0)

    def batch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        images = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        poses = rng.normal([0.4, 0.0, 0.0], [0.05, 0.05, 0.2], (n, 3)).astype(np.float32)
        actions = rng.integers(0, 21, (n, 3))
        return images, poses, actions

    img1, pose1, act1 = batch(1)
    obs_t = model._obs_tensor(img1, pose1)
    obs_env = {"image": img1[0], "pose": pose1[0]}
    policy.set_training_mode(False)

    def forward() -> None:
        with th.no_grad():
            policy(obs_t)

    rows: list[tuple[str, tuple[float, float, float]]] = []
    rows.append(("policy forward, batch 1", time_ms(forward, args.repeats)))
    rows.append(("model.predict, one observation", time_ms(lambda: model.predict(obs_env, deterministic=True), args.repeats)))
    rows.append(
        (
            "REINFORCE update (1 trial)",
            time_ms(lambda: model.policy_gradient_update(img1, pose1, act1, [0.95]), args.update_repeats),
        )
    )
    b = batch(args.replay_batch)
    rows.append(
        (
            f"RL+replay update (batch {args.replay_batch})",
            time_ms(lambda: model.policy_gradient_update(*b, rng.random(len(b[0]))), args.update_repeats),
        )
    )
    s = batch(args.scene_size)
    rows.append(
        (
            f"RM-RL scene CE (K={args.scene_size})",
            time_ms(lambda: model.cross_entropy_update(*s, learning_rate=3e-4), args.update_repeats),
        )
    )
    d = batch(args.dataset_batch)
    rows.append(
        (
            f"RM-RL data replay CE (batch {args.dataset_batch})",
            time_ms(lambda: model.cross_entropy_update(*d, learning_rate=3e-4), args.update_repeats),
        )
    )

    n_params = sum(p.numel() for p in policy.parameters())
    print(
        f"policy: ResNet-{args.depth} (width {args.width}) + pose MLP + 3 heads, {n_params / 1e6:.2f} M parameters; "
        f"image {h}×{w}; torch {th.__version__}, {th.get_num_threads()} threads"
    )
    print(f"{'what':44s} {'median ms':>10s} {'p10':>8s} {'p90':>8s}")
    for name, (med, lo, hi) in rows:
        print(f"{name:44s} {med:10.1f} {lo:8.1f} {hi:8.1f}")
    target = rows[0][1][0]
    print(f"forward latency target ≤ 30 ms median: {'met' if target <= 30 else 'NOT met'} ({target:.1f} ms)")


if __name__ == "__main__":
    main()
