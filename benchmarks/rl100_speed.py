"""Policy latency of RL100 at batch 1 on CPU: K-step DDIM sampler against the one-step consistency head.

    python benchmarks/rl100_speed.py                        # ResNet-18, 120×160, K = 5 and 10, 2 threads
    python benchmarks/rl100_speed.py --depth 10 --k 5 --threads 1

For each K prints the median (10th / 90th percentile) wall time of ``model.predict`` on one env
observation, deterministic, with ``sampler="ddim"`` (trunk + K denoiser evaluations) and
``sampler="consistency"`` (trunk + one head evaluation), their ratio, and the same for the
action heads alone on fixed trunk features (what the sampler choice changes). Untrained weights:
the latency does not depend on them.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch as th
from latency import time_ms  # benchmarks/latency.py (this folder is on sys.path when a script runs)

from rmrl_agents import RL100
from rmrl_agents.common.envs import SyntheticPlateEnv


def _row(name: str, t: tuple[float, float, float]) -> str:
    return f"  {name:<34} {t[0]:8.2f} ms  (p10 {t[1]:.2f}, p90 {t[2]:.2f})"


def _measure(k: int, env: SyntheticPlateEnv, obs: dict[str, np.ndarray], args: argparse.Namespace) -> None:
    """Print the latencies for K = ``k``."""
    kwargs = {"resnet_depth": args.depth, "resnet_width": args.width}
    model = RL100("MultiInputPolicy", env, n_denoising_steps=k, seed=0, policy_kwargs=kwargs)
    policy = model.policy
    policy.set_training_mode(False)
    ddim = time_ms(lambda: model.predict(obs, deterministic=True, sampler="ddim"), args.repeats)
    cm = time_ms(lambda: model.predict(obs, deterministic=True, sampler="consistency"), args.repeats)
    with th.no_grad():
        cond = policy.features(model._obs_tensor(obs["image"][None], obs["pose"][None]))
        heads_ddim = time_ms(lambda: policy.act(cond, "ddim", deterministic=True), args.repeats)
        heads_cm = time_ms(lambda: policy.act(cond, "consistency", deterministic=True), args.repeats)
    print(f"K = {k}")
    print(_row("predict, DDIM (trunk + K steps)", ddim))
    print(_row("predict, consistency (trunk + 1)", cm))
    print(f"  {'ratio DDIM / consistency':<34} {ddim[0] / cm[0]:8.2f}")
    print(_row("heads only, DDIM (K steps)", heads_ddim))
    print(_row("heads only, consistency (1 step)", heads_cm))
    print(f"  {'ratio, heads only':<34} {heads_ddim[0] / heads_cm[0]:8.2f}")
    model.close_storage()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--depth", type=int, default=18)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--image-size", type=int, nargs=2, default=(120, 160), metavar=("H", "W"))
    p.add_argument("--k", type=int, nargs="+", default=(5, 10), help="denoising steps K to measure")
    p.add_argument("--repeats", type=int, default=50)
    args = p.parse_args()

    th.set_num_threads(args.threads)
    h, w = args.image_size
    env = SyntheticPlateEnv(image_size=(h, w), action_type="continuous")
    obs, _ = env.reset(seed=0)
    print(f"RL100 policy latency, batch 1, {args.threads} CPU thread(s), ResNet-{args.depth} width {args.width}, image {h}×{w}")
    for k in args.k:
        _measure(k, env, obs, args)


if __name__ == "__main__":
    main()
