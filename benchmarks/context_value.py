"""How much better than one constant adjustment can any policy place, given what it sees?

Usage::

    python benchmarks/context_value.py [--fit 200] [--eval 50] [--cells default,0]

The benchmark's "ground-truth constant" is the mean oracle adjustment of the cell. A learner
can only beat it by reading the scene: the plate's estimated pose P^e and its type (the type is
visible in the plate crop, not in the full image). This script measures what that context is
worth, with ground truth, before any learning:

1. On ``--fit`` training scenes of each cell (the benchmark's fit seeds), it records P^e, the
   plate's type and the oracle adjustment Δ* (what puts the true grasp centre on the plate's
   true pose), and fits Δ* by least squares from (a) nothing (the constant), (b) P^e, (c) P^e
   and the plate type (a separate linear map per type). Each fit's 5-fold cross-validated
   residual sd per axis says how much of Δ*'s scene-to-scene spread the context predicts.
2. It runs the three fitted maps and the oracle as policies, snapped to the env's grid, on
   ``--eval`` fixed evaluation scenes (the benchmark's: half of each plate type), and prints
   the mean true e_trans and each one's paired difference to the constant (95 % bootstrap
   intervals over scenes).

The maps in (b) and (c) are fitted on ground truth, which no learner has, and (c) reads the
plate's true type: they bound what a learner using that context could gain in the limit of
data. The oracle also knows the true pose, which no policy sees.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from rmrl_agents.bench.config import EVAL_POSES_SEED, EVAL_RESET_SEED, PLACE_ID
from rmrl_agents.bench.evaluation import cell_kwargs
from rmrl_agents.bench.reference_rows import LastReset, fit_scene_oracles
from rmrl_agents.bench.stats import bootstrap_ci, paired_difference
from rmrl_agents.common.env_util import make_env
from rmrl_agents.common.evaluation import balanced_scenes, evaluate_policy
from rmrl_env.info import privileged
from rmrl_env.sim.oracle import oracle_action

TYPES = ("standard", "deep_well")
AXES = ("Δx mm", "Δy mm", "Δψ deg")
TO_UNITS = np.array([1e3, 1e3, np.degrees(1.0)])


def design(pose: np.ndarray, plate_type: str | None) -> np.ndarray:
    """Regressors: 1 and P^e (x, y in m, yaw in rad); per plate type when the type is given."""
    base = np.concatenate([[1.0], pose])
    if plate_type is None:
        return base
    return np.concatenate([base * (plate_type == t) for t in TYPES])


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return coef


def cv_residual_sd(x: np.ndarray, y: np.ndarray, folds: int = 5) -> np.ndarray:
    """Per-axis sd of the out-of-fold residuals of a least-squares fit of y on x."""
    idx = np.arange(len(y))
    res = np.empty_like(y)
    for k in range(folds):
        test = idx % folds == k
        res[test] = y[test] - x[test] @ fit(x[~test], y[~test])
    return res.std(axis=0)


def run_cell(cell: int | None, n_fit: int, n_eval: int) -> None:
    name = "default" if cell is None else f"cell_seed {cell}"
    env: Any = LastReset(make_env(PLACE_ID, cell_kwargs(cell)))
    t0 = time.perf_counter()
    poses, types, adjs = fit_scene_oracles(env, n_fit)
    counts = {t: types.count(t) for t in TYPES}
    print(f"\n== {name}: {n_fit} training scenes ({counts}), {time.perf_counter() - t0:.0f} s")
    print(f"   oracle adjustment Δ*: mean {np.round(adjs.mean(0) * TO_UNITS, 2)} ({', '.join(AXES)})")
    designs = {
        "constant": np.ones((n_fit, 1)),
        "P^e": np.array([design(p, None) for p in poses]),
        "P^e × type": np.array([design(p, t) for p, t in zip(poses, types, strict=True)]),
    }
    print("   cross-validated residual sd of Δ* per axis (what the context leaves unexplained):")
    for label, x in designs.items():
        sd = cv_residual_sd(x, adjs) * TO_UNITS
        print(f"     {label:<12} {sd[0]:5.2f} mm  {sd[1]:5.2f} mm  {sd[2]:5.2f} deg")
    coefs = {label: fit(x, adjs) for label, x in designs.items()}
    grid = env.unwrapped.grid

    def mapped(label: str) -> Any:
        def act(obs: dict[str, np.ndarray]) -> np.ndarray:
            pose = np.asarray(obs["pose"], dtype=np.float64)
            kind = str(privileged(env.last_info)["plate_type"])
            row = {"constant": np.ones(1), "P^e": design(pose, None), "P^e × type": design(pose, kind)}[label]
            return grid.to_action(*(row @ coefs[label]), clip=True)

        return act

    policies = {label: mapped(label) for label in designs}
    policies["oracle"] = lambda obs: oracle_action(env, obs, env.last_info)[0]
    scenes = balanced_scenes(env, n_eval, EVAL_POSES_SEED, EVAL_RESET_SEED)
    errors: dict[str, np.ndarray] = {}
    plate_types: list[str] = []
    for label, policy in policies.items():
        cols = evaluate_policy(policy, env, poses=scenes.poses, seeds=scenes.seeds).columns()
        errors[label] = np.asarray(cols["true_e_trans_mm"], dtype=np.float64)
        plate_types = [str(t) for t in cols.get("plate_type", [])]
    print(f"   {n_eval} evaluation poses ({ {t: plate_types.count(t) for t in TYPES} }), true e_trans in mm, mean [95 % CI]:")
    for label, e in errors.items():
        by_type = "  ".join(f"{t} {e[np.array(plate_types) == t].mean():.2f}" for t in TYPES if t in plate_types)
        line = f"     {label:<12} {bootstrap_ci(e).format(2):<22} {by_type}"
        if label != "constant":
            line += f"   − constant {paired_difference(e, errors['constant']).format(2)}"
        print(line)
    env.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fit", type=int, default=200, help="training scenes per cell (default 200)")
    p.add_argument("--eval", type=int, default=50, help="evaluation poses per cell (default 50)")
    p.add_argument("--cells", default="default,0", help="'default' or cell_seed values, comma-separated")
    args = p.parse_args()
    for c in args.cells.split(","):
        run_cell(None if c.strip() == "default" else int(c), args.fit, args.eval)


if __name__ == "__main__":
    main()
