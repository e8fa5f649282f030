"""Is the simulated cell a real learning problem? Zero adjustment vs a learnable correction vs the oracle.

Usage: ``python benchmarks/learning_problem.py [--scenes N] [--task place|shelf] [--cell-seed S]``

For N seeded scenes the plate is placed three ways from the same initial state:

* **zero**: pick at the estimated pose P^e (no adjustment);
* **oracle**: pick at P^e + (true pose − P^e), snapped to the candidate grid;
* **regression**: pick at P^e + f(P^e), where f is a least-squares fit, affine in
  [x, y, ψ], of the pick error (true − P^e) on the first half of the scenes, evaluated on the
  second half (held out). It shows how much of the error is systematic, i.e. predictable from
  what a policy observes.

Prints e_trans (as the reward sees it, and the ground truth), success rates, and the share of
the squared pick-pose error (x, y) that the regression removes on held-out scenes.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import gymnasium as gym
import numpy as np

import rmrl_env  # noqa: F401


def _trial(env: gym.Env, seed: int, adjustment: np.ndarray | None) -> tuple[dict, np.ndarray, np.ndarray]:
    obs, info = env.reset(seed=seed)
    est = obs["pose"].astype(np.float64)
    true = np.asarray(info["true_pose"], dtype=np.float64)
    if adjustment is None:  # the oracle
        delta = true - est
        delta[2] = math.remainder(delta[2], math.pi)
    else:
        delta = adjustment
    _, reward, _, _, step_info = env.step(env.unwrapped.adjustment_to_action(*delta))
    step_info["reward"] = reward
    return step_info, est, true


def _features(est: np.ndarray) -> np.ndarray:
    return np.c_[np.ones(len(est)), est]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=160)
    parser.add_argument("--task", choices=["place", "shelf"], default="place")
    parser.add_argument(
        "--cell-seed", type=int, default=None, help="draw the cell's error sources from this seed instead of the defaults"
    )
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    env_id = "CellPlatePlace-sim-v0" if args.task == "place" else "CellPlateShelf-sim-v0"
    env = gym.make(env_id, cell_seed=args.cell_seed) if args.cell_seed is not None else gym.make(env_id)
    t0 = time.perf_counter()
    seeds = list(range(args.scenes))
    zero, oracle, est, true = [], [], [], []
    for s in seeds:
        info, e, t = _trial(env, s, np.zeros(3))
        zero.append(info)
        est.append(e)
        true.append(t)
        oracle.append(_trial(env, s, None)[0])
    est, true = np.array(est), np.array(true)
    err = true - est
    err[:, 2] = np.remainder(err[:, 2] + math.pi / 2, math.pi) - math.pi / 2

    half = len(seeds) // 2
    coef, *_ = np.linalg.lstsq(_features(est[:half]), err[:half], rcond=None)
    pred = _features(est[half:]) @ coef
    resid = err[half:] - pred
    share = 1.0 - float(np.sum(resid[:, :2] ** 2) / np.sum(err[half:, :2] ** 2))
    regression = [_trial(env, s, p)[0] for s, p in zip(seeds[half:], pred, strict=False)]
    wall = time.perf_counter() - t0

    def summary(rows: list[dict]) -> dict[str, float]:
        e = np.array([r["e_trans_mm"] for r in rows], dtype=float)
        te = np.array([r["true_e_trans_mm"] for r in rows], dtype=float)
        return {
            "e_trans_mm_mean": float(np.nanmean(e)),
            "e_trans_mm_median": float(np.nanmedian(e)),
            "true_e_trans_mm_mean": float(np.nanmean(te)),
            "true_e_trans_mm_median": float(np.nanmedian(te)),
            "e_rot_deg_mean": float(np.nanmean([r["e_rot_deg"] for r in rows])),
            "reward_mean": float(np.mean([r["reward"] for r in rows])),
            "success_rate": float(np.mean([bool(r["success"]) for r in rows])),
            "n": len(rows),
        }

    results = {
        "task": args.task,
        "scenes": args.scenes,
        "cell_seed": args.cell_seed,
        "pick_error_mm_mean": float(np.mean(np.linalg.norm(err[:, :2], axis=1)) * 1000),
        "pick_error_mm_mean_xy": (np.mean(err[:, :2], axis=0) * 1000).tolist(),
        "pick_error_yaw_deg_sd": float(np.degrees(np.std(err[:, 2]))),
        "systematic_share_removed_by_regression": share,
        "zero": summary(zero),
        "regression_heldout": summary(regression),
        "oracle": summary(oracle),
        "wall_s": wall,
    }
    print(
        f"{env_id}, {args.scenes} scenes ({'default cell' if args.cell_seed is None else f'cell seed {args.cell_seed}'}), {wall:.0f} s"
    )
    print(
        f"pick-pose error |true - P^e|: mean {results['pick_error_mm_mean']:.2f} mm, "
        f"mean (x, y) = ({results['pick_error_mm_mean_xy'][0]:+.2f}, {results['pick_error_mm_mean_xy'][1]:+.2f}) mm, yaw sd {results['pick_error_yaw_deg_sd']:.2f}°"
    )
    print(f"share of the squared (x, y) pick error an affine regression on P^e removes (held out): {100 * share:.1f} %")
    print(
        "| adjustment | e_trans mean (mm) | e_trans median (mm) | true e_trans mean (mm) | e_rot mean (°) | reward mean | success |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in ("zero", "regression_heldout", "oracle"):
        r = results[name]
        print(
            f"| {name} (n={r['n']}) | {r['e_trans_mm_mean']:.2f} | {r['e_trans_mm_median']:.2f} | {r['true_e_trans_mm_mean']:.2f} | "
            f"{r['e_rot_deg_mean']:.2f} | {r['reward_mean']:.4f} | {100 * r['success_rate']:.0f} % |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
