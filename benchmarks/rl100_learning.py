"""What RL100's stages add on the continuous synthetic env, from imperfect role-model labels.

    python benchmarks/rl100_learning.py                          # labels biased by +3 mm in x, 200 trials
    python benchmarks/rl100_learning.py --bias-mm 0 --lr 1e-3 --trials 48
    python benchmarks/rl100_learning.py --bench /work/scratch/rl100/run1   # a paper bench's RL100 jobs

Builds a role-model dataset as an RM-RL run would leave it (the best grid action of each state,
off by ±1 grid step per axis and shifted by ``--bias-mm`` in x: role models that share a
calibration error), imitates it, then runs the offline and online stages within ``--trials``
env trials. Prints the mean placement error and reward of the deterministic DDIM policy over
100 new scenes after imitation alone and after the RL stages, the best constant action's, and
every OPE decision. Tiny networks (ResNet-10, width 8), one CPU thread.

``--bench DIR`` reads the RL100 jobs of a ``rmrl bench paper`` output instead and prints, per cell,
RL100 after its RL stages against its own imitation-only checkpoint on the same poses (paired by
seed: mean difference RL − imitation of the true placement error with a 95 % bootstrap interval,
and how many seeds got worse), both against the zero adjustment, and the consistency head's gap
to the DDIM teacher on the evaluation poses.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch as th

from rmrl_agents import RL100, RoleModelDataset
from rmrl_agents.bench.stats import bootstrap_ci, paired_difference
from rmrl_agents.common.envs import SyntheticPlateEnv
from rmrl_agents.common.envs.synthetic import correction
from rmrl_agents.common.evaluation import PolicyLike, evaluate_policy
from rmrl_env.grid import CandidateGrid

TINY = {"resnet_depth": 10, "resnet_width": 8, "denoiser_hidden": (128, 128), "critic_hidden": (64, 64)}


def role_model_dataset(path: Path, n: int, bias_mm: float, seed: int, axis: int = 0, env_kwargs: dict | None = None) -> None:
    """Grid labels: the optimal action of each state, ±1 step of noise per axis, +bias_mm along
    ``axis`` (0: x, 1: y), in a ``SyntheticPlateEnv(**env_kwargs)``."""
    env = SyntheticPlateEnv(**(env_kwargs or {}))
    rng = np.random.default_rng(seed)
    shift = np.zeros(3, dtype=np.int64)
    shift[axis] = round(bias_mm / env.grid.step_xy_mm)
    data = RoleModelDataset(path, image_shape=(32, 32, 3), action_nvec=env.grid.nvec.tolist())
    obs, _ = env.reset(seed=seed)
    for i in range(n):
        label = env.optimal_action(obs["pose"].astype(float)) + shift + rng.integers(-1, 2, 3)
        label = np.clip(label, 0, env.grid.nvec - 1)
        data.add(
            obs["image"],
            obs["pose"].tolist(),
            label.tolist(),
            scene=i,
            trial=i,
            reward=float("nan"),
            role_model_trial=i,
            role_model_reward=0.97,
        )
        obs, _ = env.reset()
    data.close()


def report(name: str, policy: PolicyLike) -> None:
    """Print the mean e_trans_mm and reward over 100 new scenes (seed 123)."""
    means = evaluate_policy(policy, SyntheticPlateEnv(action_type="continuous"), n_eval_episodes=100, seed=123).means()
    print(f"{name:<26}e_trans {means['e_trans_mm']:.2f} mm, reward {means['reward']:.4f}")


def _place(res: dict, metric: str = "true_e_trans_mm") -> float:
    v = np.asarray(res["place"][metric], dtype=np.float64)
    return float(v[np.isfinite(v)].mean())


def _spread_mm(res: dict) -> float:
    """sd of a job's deterministic place actions across the scenes, mm (mean of x and y; actions in
    [-1, 1] of the benchmark's grid, the default ``CandidateGrid``)."""
    actions = np.asarray(res["place"]["action"], dtype=np.float64)
    return float(actions[:, :2].std(0).mean() * CandidateGrid().max_xy_mm)


def bench_report(out: Path) -> None:
    """Paired RL − imitation figures of the RL100 jobs under ``out/jobs`` (see the module docstring)."""
    import json

    jobs = [json.loads(f.read_text()) for f in sorted((out / "jobs").glob("RL100__*.json"))]
    refs = {f.name: json.loads(f.read_text()) for f in (out / "jobs").glob("references__*.json")}
    for cell in sorted({j["cell"] for j in jobs}, key=str):
        runs = sorted((j for j in jobs if j["cell"] == cell and "imitation" in j), key=lambda j: j["seed"])
        if not runs:
            continue
        rl = np.array([_place(j) for j in runs])
        il = np.array([_place(j["imitation"]) for j in runs])
        diff = paired_difference(rl, il)
        ref = refs.get(f"references__s-__c{'default' if cell is None else cell}.json")
        zero = _place(ref["zero"]) if ref else float("nan")
        gaps = [j["consistency_gap"]["mean_mm"] for j in runs]
        accepted = sum(bool(d["accepted"]) for j in runs for d in j.get("ope", []))
        candidates = sum(len(j.get("ope", [])) for j in runs)
        print(f"cell {'default' if cell is None else cell}: {len(runs)} seeds, true e_trans (mm)")
        print(f"  RL100 {rl.mean():.2f}, imitation-only {il.mean():.2f}, zero adjustment {zero:.2f}")
        print(
            f"  RL − imitation {diff.value:+.2f} [{diff.low:+.2f}, {diff.high:+.2f}], RL worse on {int((rl > il).sum())}/{len(runs)} seeds"
        )
        print(f"  per seed RL − imitation: {' '.join(f'{d:+.2f}' for d in rl - il)}")
        print(f"  RL worse than zero on {int((rl > zero).sum())}/{len(runs)} seeds; imitation on {int((il > zero).sum())}")
        gap = bootstrap_ci(np.asarray(gaps))
        print(f"  consistency head vs DDIM teacher on the place poses: {gap.value:.2f} [{gap.low:.2f}, {gap.high:.2f}] mm")
        print(f"  OPE: {accepted} of {candidates} candidates accepted")
        spread = np.array([[_spread_mm(j), _spread_mm(j["imitation"])] for j in runs])
        print(
            f"  the deterministic action's sd across the scenes (mean of x and y): RL {spread[:, 0].mean():.2f} mm, "
            f"imitation-only {spread[:, 1].mean():.2f} mm"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--lr", type=float, default=1e-4, help="PPO learning rate (RL100 learning_rate)")
    p.add_argument("--bias-mm", type=float, default=3.0)
    p.add_argument("--labels", type=int, default=200)
    p.add_argument("--ope-delta-rel", type=float, default=0.0, help="RL100 ope_delta_rel (the paper: 0.05)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bench", type=Path, default=None, help="report a paper bench's RL100 jobs (its --out) instead")
    args = p.parse_args()
    if args.bench is not None:
        bench_report(args.bench)
        return
    th.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="rl100-learning-"))
    role_model_dataset(root / "role_model", args.labels, args.bias_mm, args.seed)
    env = SyntheticPlateEnv(action_type="continuous")
    model = RL100(
        "MultiInputPolicy", env, prior_data=root / "role_model", seed=args.seed, policy_kwargs=TINY, imitation_steps=800,
        learning_rate=args.lr, offline_iterations=2, critic_steps=300, trials_per_iteration=20, online_batch_size=16,
        distill_steps=100, ope_delta_rel=args.ope_delta_rel, data_dir=root / "run",
    )  # fmt: skip
    obs, _ = env.reset(seed=2024)
    corrections = []
    for _ in range(400):
        corrections.append(correction(obs["pose"].astype(float)))
        obs, _ = env.reset()
    const = env.adjustment_to_action(*np.median(corrections, axis=0))
    deterministic = lambda o: model.predict(o, deterministic=True)[0]  # noqa: E731
    print(f"labels: {args.labels}, x bias {args.bias_mm:g} mm; PPO learning rate {args.lr:g}; data under {root}")
    report("best constant action", lambda o: const)
    model.learn(0)
    report("after imitation", deterministic)
    model.learn(args.trials)
    report(f"after {model.num_timesteps} RL trials", deterministic)
    for d in model.ope_decisions:
        verdict = "accepted" if d["accepted"] else "rejected"
        print(
            f"  OPE iteration {d['iteration']}: Ĵ old {d['value_old']:.4f}, candidate {d['value_new']:.4f}, "
            f"lower bound of the gain {d['lower']:+.4f}, δ {d['delta']:.4f}: {verdict}"
        )


if __name__ == "__main__":
    main()
