"""The ablation that chose the grid agents' defaults (issue: learners that learn).

Usage: ``python benchmarks/learner_ablation.py [--seeds 8] [--trials 300] [--workers 2] [--json PATH]``

One procedure for every grid agent: start from the improved defaults, change one setting at a
time (and the paper's recipe as a whole), train each agent for ``--trials`` trials over
``--seeds`` seeds, and evaluate the deterministic policy's true e_trans on 100 fixed poses. A
default is kept only if no variant beats it by more than its seed-to-seed 95 % interval.

The env is the synthetic plate env shaped like the sim's problem (fast enough for many seeds):
a state-dependent optimum, a cliff (a placement more than 4 mm off scores 0, as a plate on the
box's rim does) and 0.3 mm of measurement noise on the measured error. Its reference rows: the
zero adjustment, the best constant grid action (ground truth, searched over the grid on the
evaluation poses themselves: a bound no constant can beat) and the oracle (the optimal action
of each pose). The sim's figures for the chosen defaults are in ``benchmarks/learners.py``.

Printed per agent and variant: mean true e_trans over seeds with its 95 % t-interval, how many
seeds beat the best constant and the zero adjustment, the share of failed evaluation trials,
and the commonest action's share over the last 25 training trials (1.0: collapsed).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import time
from typing import Any

import numpy as np

#: the env of the ablation: the synthetic plate env with a cliff and measurement noise
ENV_KWARGS: dict[str, Any] = {"fail_beyond_mm": 4.0, "measurement_noise_mm": 0.3}
#: the network: the benchmark's trunk, at the synthetic env's 32 x 32 images
POLICY_KWARGS: dict[str, Any] = {"resnet_depth": 10, "resnet_width": 16, "head_hidden": [128]}
EVAL_POSES, EVAL_POSES_SEED, EVAL_RESET_SEED = 100, 2026, 10_000
AGENTS = ("REINFORCE", "ReplayREINFORCE", "RMRL")
#: variants: name → (agents it applies to, agent keywords, policy keywords)
VARIANTS: dict[str, tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]] = {
    "defaults": (AGENTS, {}, {}),
    "paper recipe": (AGENTS, {"__paper__": True}, {}),
    "uniform start": (AGENTS, {}, {"init_spread_bins": None}),
    "start sd 1.5 steps": (AGENTS, {}, {"init_spread_bins": 1.5}),
    "start sd 6 steps": (AGENTS, {}, {"init_spread_bins": 6.0}),
    "argmax readout": (AGENTS, {}, {"readout": "argmax"}),
    "median readout": (AGENTS, {}, {"readout": "median"}),
    "no entropy bonus": (AGENTS, {"ent_coef": 0.0}, {}),
    "entropy bonus 0.05": (AGENTS, {"ent_coef": 0.05}, {}),
    "entropy bonus 0.2": (AGENTS, {"ent_coef": 0.2}, {}),
    "raw advantages": (AGENTS, {"normalize_advantage": False}, {}),
    "learning rate 1e-4": (AGENTS, {"learning_rate": 1e-4}, {}),
    "learning rate 1e-3": (AGENTS, {"learning_rate": 1e-3}, {}),
    "one-hot labels": (("RMRL",), {"label_sigma": 0.0}, {}),
    "label sd 1 step": (("RMRL",), {"label_sigma": 1.0}, {}),
    "label sd 3 steps": (("RMRL",), {"label_sigma": 3.0}, {}),
    "1 CE step per scene": (("RMRL",), {"scene_epochs": 1}, {}),
    "10 CE steps per scene": (("RMRL",), {"scene_epochs": 10}, {}),
    "no online PG": (("RMRL",), {"online_updates": False}, {}),
}


def _make_env() -> Any:
    from rmrl_agents.common.envs.synthetic import SyntheticPlateEnv

    return SyntheticPlateEnv(**ENV_KWARGS)


def _eval_poses(env: Any) -> np.ndarray:
    from rmrl_agents.common.evaluation import fixed_poses

    return fixed_poses(env.reset_region, EVAL_POSES, EVAL_POSES_SEED)


def _evaluate(policy: Any, env: Any) -> tuple[float, float]:
    """(mean true e_trans mm, failed share) of ``policy`` on the fixed poses."""
    from rmrl_agents.common.evaluation import evaluate_policy

    res = evaluate_policy(policy, env, poses=_eval_poses(env), seed=EVAL_RESET_SEED)
    failed = np.array([e.failure is not None for e in res.episodes])
    return float(np.mean(res.column("true_e_trans_mm"))), float(failed.mean())


def references(trials: int, seeds: int) -> dict[str, tuple[float, float]]:
    """zero, a uniformly random grid action, the reward-only calibration (``trials`` trials, mean
    over ``seeds`` seeds), the best constant grid action (searched on the evaluation poses) and
    the oracle: (mean true e_trans mm, failed share) each."""
    import tempfile

    from rmrl_agents.calibration import OffsetCalibration

    env = _make_env()
    out = {"zero": _evaluate(None, env)}
    rng = np.random.default_rng(0)
    out["random"] = _evaluate(lambda obs: rng.integers(0, env.action_space.nvec), env)
    calibrated = []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as tmp:
            model = OffsetCalibration("OffsetPolicy", _make_env(), data_dir=tmp, seed=seed, device="cpu")
            model.learn(trials)
            calibrated.append(_evaluate(model, env))
            model.close_storage()
    out["reward-only calibration"] = (float(np.mean([c[0] for c in calibrated])), float(np.mean([c[1] for c in calibrated])))
    centre = env.optimal_action(np.mean(_eval_poses(env), axis=0))
    best: tuple[float, float] | None = None
    for d in np.ndindex(7, 7, 5):
        action = np.clip(centre + np.array(d) - [3, 3, 2], 0, env.action_space.nvec - 1)
        score = _evaluate(lambda obs, a=action: a, env)
        best = score if best is None or score[0] < best[0] else best
    assert best is not None
    out["best constant (ground truth)"] = best
    out["oracle"] = _evaluate(lambda obs: env.optimal_action(obs["pose"]), env)
    return out


def run_one(job: tuple[str, str, int, int]) -> dict[str, Any]:
    """Train ``agent`` with ``variant`` for ``trials`` trials with ``seed``; evaluate it."""
    import tempfile

    import torch

    from rmrl_agents.algorithms import algorithm_class
    from rmrl_agents.common.exploration import commonest_share
    from rmrl_agents.recipes import paper_kwargs

    torch.set_num_threads(1)
    variant, agent, seed, trials = job
    _, kwargs, policy_kwargs = VARIANTS[variant]
    kwargs = dict(kwargs)
    if kwargs.pop("__paper__", False):
        kwargs = paper_kwargs(agent, POLICY_KWARGS)
    else:
        kwargs["policy_kwargs"] = {**POLICY_KWARGS, **policy_kwargs}
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        model = algorithm_class(agent)("MultiInputPolicy", _make_env(), seed=seed, data_dir=tmp, device="cpu", **kwargs)
        model.learn(trials)
        share = commonest_share(model.trial_log.actions()[-25:])
        e_trans, failed = _evaluate(model, _make_env())
        model.close_storage()
    return {
        "variant": variant,
        "agent": agent,
        "seed": seed,
        "e_trans_mm": e_trans,
        "failed": failed,
        "last_share": share,
        "s": time.time() - t0,
    }


def _interval(values: list[float]) -> tuple[float, float]:
    from scipy import stats

    a = np.asarray(values, dtype=np.float64)
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else math.nan
    return float(a.mean()), float(half)


def run_all(run: Any, jobs: list[Any], workers: int) -> list[dict[str, Any]]:
    """``run`` (a module-level function) over ``jobs`` in ``workers`` spawned processes, in order."""
    with mp.get_context("spawn").Pool(workers) as pool:
        return pool.map(run, jobs, chunksize=1)


def print_references(refs: dict[str, tuple[float, float]]) -> None:
    for name, (e, f) in refs.items():
        print(f"  {name:<30} true e_trans {e:5.2f} mm   failed {100 * f:4.0f} %")


def finish(runs: list[dict[str, Any]], t0: float, trials: int, refs: dict[str, Any], json_path: str | None) -> None:
    """Print the runs' CPU and wall time; write every run's figures to ``json_path`` (if given)."""
    cpu = sum(r["s"] for r in runs)
    print(f"\n{len(runs)} runs, {cpu:.0f} CPU-s in runs, {time.time() - t0:.0f} s wall")
    if json_path:
        with open(json_path, "w") as fh:
            json.dump({"env": ENV_KWARGS, "trials": trials, "references": refs, "runs": runs}, fh, indent=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--trials", type=int, default=300)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), help="variant names (default: all)")
    p.add_argument("--json", help="also write every run's figures to this file")
    args = p.parse_args()
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; known: {list(VARIANTS)}")
    t0 = time.time()
    refs = references(args.trials, args.seeds)
    jobs = [(v, a, s, args.trials) for v in args.variants for a in VARIANTS[v][0] for s in range(args.seeds)]
    runs = run_all(run_one, jobs, args.workers)
    print(f"synthetic env {ENV_KWARGS}, {args.trials} trials, {args.seeds} seeds, {EVAL_POSES} evaluation poses")
    print_references(refs)
    best, zero = refs["best constant (ground truth)"][0], refs["zero"][0]
    for agent in AGENTS:
        print(f"\n{agent:<24} {'true e_trans mm (95% CI)':>26} {'< const':>8} {'< zero':>7} {'failed':>7} {'last-25 share':>14}")
        for v in args.variants:
            rows = [r for r in runs if r["variant"] == v and r["agent"] == agent]
            if not rows:
                continue
            errors: list[float] = [r["e_trans_mm"] for r in rows]
            mean, half = _interval(errors)
            print(
                f"  {v:<22} {mean:14.2f} ± {half:4.2f}      {sum(x < best for x in errors):3d}/{len(errors):<3d}"
                f" {sum(x < zero for x in errors):3d}/{len(errors):<3d} {100 * np.mean([r['failed'] for r in rows]):5.0f} %"
                f" {np.mean([r['last_share'] for r in rows]):12.2f}"
            )
    finish(runs, t0, args.trials, refs, args.json)


if __name__ == "__main__":
    main()
