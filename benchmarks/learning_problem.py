"""Is the simulated cell a real learning problem? Context-free and contextual adjustments against the oracle.

Usage: ``python benchmarks/learning_problem.py [--quick] [--scenes N] [--cells K] [--workers W] [--json PATH]``

For the default cell and ``K`` drawn cells (``cell_seed`` 0..K-1), every held-out scene is
picked and placed, into the box and onto the shelf, from the same initial state (the same reset
seed) with each of:

* **zero**: pick at P^e;
* **random**: a uniformly random grid action;
* **constant**: the best constant adjustment, the mean oracle adjustment over *other* scenes of
  the same cell (the fit scenes), snapped to the grid;
* **affine**: an adjustment affine in P^e = (x, y, ψ), least squares on the fit scenes' oracle
  adjustments;
* **oracle**: the grid action that puts the true grasp centre on the true plate pose
  (:mod:`rmrl_env.sim.oracle`: every error source, the arm's kinematic error included).

Fitting reads the sim's ground truth of the fit scenes (resets only), like a lab that measured
its pick errors on other plates. Printed per cell group: mean true and measured e_trans, reward
and seated share for box and shelf, and the share of the squared (x, y) pick error each
adjustment removes on the held-out scenes; the share of scenes whose oracle lies on the grid.
Cells run in parallel in spawned worker processes (a MuJoCo GL context does not survive fork).

Wall time on the 2-core machine shared with other jobs: the default run (200 default-cell
scenes, 10 cells x 40, 6,000 trials) 362 s.

Measured (default run, ``--fit 100``): on the default cell the best constant leaves a true
e_trans of 1.37 / 1.20 mm (box / shelf) against the oracle's 0.94 / 0.76 mm (+0.44 / +0.44 mm)
and seats 74 % on the shelf against the oracle's 99 % (-24 points); affine on P^e lies between
(1.16 / 0.95 mm, 85 %). Over 10 drawn cells: +0.42 / +0.39 mm and -24 points. Most of the
context is the plate type: on standard plates the constant is as good as the oracle (0.90 vs
0.89 mm), on 44 mm deep-well plates it is not (1.82 vs 0.98 mm, shelf 59 % vs 99 %).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import time
from typing import Any

import numpy as np

METHODS = ("zero", "random", "constant", "affine", "oracle")
TASKS = ("place", "shelf")
FIT_SEED0 = 100_000


def _features(poses: np.ndarray) -> np.ndarray:
    """Affine features of P^e rows [x_m, y_m, yaw_rad]: [1, x, y, ψ], shape (n, 4)."""
    return np.c_[np.ones(len(poses)), poses]


def _make(task: str, cell_seed: int | None) -> Any:
    import gymnasium as gym

    import rmrl_env  # noqa: F401

    env_id = "CellPlatePlace-sim-v0" if task == "place" else "CellPlateShelf-sim-v0"
    return gym.make(env_id, cell_seed=cell_seed) if cell_seed is not None else gym.make(env_id)


_FITS: dict[tuple[int | None, int], tuple[np.ndarray, np.ndarray]] = {}


def _fit(env: Any, cell: int | None, n_fit: int) -> tuple[np.ndarray, np.ndarray]:
    """Best constant adjustment and affine coefficients (4 x 3) from the fit scenes (cached per
    worker process: the fit is deterministic)."""
    if (cell, n_fit) not in _FITS:
        _FITS[cell, n_fit] = _fit_scenes(env, n_fit)
    return _FITS[cell, n_fit]


def _fit_scenes(env: Any, n_fit: int) -> tuple[np.ndarray, np.ndarray]:
    from rmrl_env.info import privileged
    from rmrl_env.protocols import PlanarPose
    from rmrl_env.sim.oracle import oracle_adjustment

    poses, adjs = [], []
    for k in range(n_fit):
        obs, info = env.reset(seed=FIT_SEED0 + k)
        est = obs["pose"].astype(np.float64)
        adjs.append(oracle_adjustment(env, PlanarPose.from_array(est), PlanarPose.from_array(privileged(info)["true_pose"])))
        poses.append(est)
    p, a = np.array(poses), np.array(adjs)
    coef, *_ = np.linalg.lstsq(_features(p), a, rcond=None)
    return a.mean(axis=0), coef


def _run_chunk(job: dict[str, Any]) -> dict[str, Any]:
    """Fit on the cell's fit scenes, then run every method on ``job['scenes']`` for both tasks."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from rmrl_env.info import privileged
    from rmrl_env.protocols import PlanarPose
    from rmrl_env.sim.oracle import oracle_action, oracle_adjustment

    cell = job["cell_seed"]
    rows: list[dict[str, Any]] = []
    constant = coef = None
    for task in TASKS:
        env = _make(task, cell)
        u = env.unwrapped
        if constant is None:
            constant, coef = _fit(env, cell, job["n_fit"])
        rng = np.random.default_rng(10_000 + (cell or 0) * 1000 + job["scenes"][0])
        for s in job["scenes"]:
            random_action = rng.integers(0, u.action_space.nvec)
            obs, info = env.reset(seed=s)
            est = obs["pose"].astype(np.float64)
            truth = privileged(info)["true_pose"]
            needed = oracle_adjustment(env, PlanarPose.from_array(est), PlanarPose.from_array(truth))
            oracle, on_grid = oracle_action(env, obs, info)
            for k, method in enumerate(METHODS):
                if k > 0:  # the same initial state and sensor noise again
                    obs, info = env.reset(seed=s)
                if method == "zero":
                    action = u.grid.zero_action()
                elif method == "random":
                    action = random_action
                elif method == "constant":
                    action = u.grid.to_action(*constant, clip=True)
                elif method == "affine":
                    action = u.grid.to_action(*(_features(est[None])[0] @ coef), clip=True)
                else:
                    action = oracle
                adj = u.grid.to_adjustment(action)
                _, reward, _, _, step = env.step(action)
                rows.append(
                    {
                        "cell": cell,
                        "task": task,
                        "scene": s,
                        "method": method,
                        "plate_type": privileged(info).get("plate_type"),
                        "reward": float(reward),
                        "e_trans_mm": float(step["e_trans_mm"]),
                        "true_e_trans_mm": float(privileged(step)["true_e_trans_mm"]),
                        "success": bool(step["success"]),
                        "failure": None if step["failure"] is None else str(step["failure"]),
                        "needed_mm": (1000 * needed[:2]).tolist(),
                        "residual_mm": (1000 * (needed[:2] - adj[:2])).tolist(),
                        "on_grid": on_grid,
                    }
                )
        env.close()
    return {"rows": rows, "constant": None if constant is None else constant.tolist()}


def _summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for method in METHODS:
        r: dict[str, float] = {}
        for task in TASKS:
            sel = [x for x in rows if x["method"] == method and x["task"] == task]
            if not sel:
                continue
            r[f"{task}_true_e_trans_mm"] = float(np.nanmean([x["true_e_trans_mm"] for x in sel]))
            r[f"{task}_e_trans_mm"] = float(np.nanmean([x["e_trans_mm"] for x in sel]))
            r[f"{task}_reward"] = float(np.mean([x["reward"] for x in sel]))
            r[f"{task}_seated"] = float(np.mean([x["success"] for x in sel]))
            r["n"] = len(sel)
        sel = [x for x in rows if x["method"] == method and x["task"] == "place"]
        needed = np.array([x["needed_mm"] for x in sel])
        resid = np.array([x["residual_mm"] for x in sel])
        r["pick_error_removed"] = 1.0 - float(np.sum(resid**2) / np.sum(needed**2))
        if method == "oracle":
            r["oracle_on_grid"] = float(np.mean([x["on_grid"] for x in sel]))
            r["pick_error_mm_mean"] = float(np.mean(np.linalg.norm(needed, axis=1)))
            r["pick_error_mm_max"] = float(np.max(np.abs(needed)))
        out[method] = r
    return out


def _print_table(title: str, s: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(
        "| adjustment | box true e_trans (mm) | box measured (mm) | box reward | box seated | shelf true e_trans (mm) | shelf measured (mm) | shelf reward | shelf seated | pick error removed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in METHODS:
        r = s[m]
        print(
            f"| {m} (n={int(r['n'])}) | {r['place_true_e_trans_mm']:.2f} | {r['place_e_trans_mm']:.2f} | {r['place_reward']:.4f} | "
            f"{100 * r['place_seated']:.0f} % | {r['shelf_true_e_trans_mm']:.2f} | {r['shelf_e_trans_mm']:.2f} | {r['shelf_reward']:.4f} | "
            f"{100 * r['shelf_seated']:.0f} % | {100 * r['pick_error_removed']:.1f} % |"
        )
    o = s["oracle"]
    print(
        f"pick error |oracle adjustment|: mean {o['pick_error_mm_mean']:.2f} mm, largest component {o['pick_error_mm_max']:.1f} mm; "
        f"oracle on the grid for {100 * o['oracle_on_grid']:.1f} % of scenes"
    )
    c, z = s["constant"], s["oracle"]
    print(
        f"best constant vs oracle: true e_trans {c['place_true_e_trans_mm'] - z['place_true_e_trans_mm']:+.2f} mm (box), "
        f"{c['shelf_true_e_trans_mm'] - z['shelf_true_e_trans_mm']:+.2f} mm (shelf); shelf seated "
        f"{100 * (c['shelf_seated'] - z['shelf_seated']):+.0f} points"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 default-cell scenes, 10 cells x 16 scenes, 60 fit scenes")
    parser.add_argument("--scenes", type=int, default=200, help="held-out scenes of the default cell (default 200)")
    parser.add_argument("--cell-scenes", type=int, default=40, help="held-out scenes per drawn cell (default 40)")
    parser.add_argument("--cells", type=int, default=10, help="drawn cells, cell_seed 0..K-1 (default 10)")
    parser.add_argument("--fit", type=int, default=120, help="fit scenes per cell (default 120)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", default=None, help="also write every trial and the summaries to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.scenes, args.cell_scenes, args.fit = 60, 16, 60
    for name in ("scenes", "cell_scenes", "fit", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")

    chunk = 20
    jobs = [
        {"cell_seed": None, "scenes": list(range(i, min(i + chunk, args.scenes))), "n_fit": args.fit}
        for i in range(0, args.scenes, chunk)
    ]
    for c in range(args.cells):
        jobs += [
            {"cell_seed": c, "scenes": list(range(i, min(i + chunk, args.cell_scenes))), "n_fit": args.fit}
            for i in range(0, args.cell_scenes, chunk)
        ]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(_run_chunk, jobs, chunksize=1)
    wall = time.perf_counter() - t0
    rows = [r for res in results for r in res["rows"]]
    default = [r for r in rows if r["cell"] is None]
    drawn = [r for r in rows if r["cell"] is not None]
    summaries = {"default": _summary(default)}
    print(
        f"learning problem: default cell {args.scenes} held-out scenes, {args.cells} drawn cells x {args.cell_scenes}, "
        f"{args.fit} fit scenes per cell; {len(rows)} trials in {wall:.0f} s on {args.workers} workers"
    )
    constants = {res_job["cell_seed"]: res["constant"] for res_job, res in zip(jobs, results, strict=True)}
    print(
        f"best constant of the default cell (mm, mm, °): {np.round(np.array(constants[None]) * [1000, 1000, 180 / math.pi], 2).tolist()}"
    )
    _print_table("Default cell", summaries["default"])
    print("\nDefault cell by plate type: where the context is")
    print("| plate | scenes | box true e_trans constant / affine / oracle (mm) | shelf seated constant / affine / oracle |")
    print("|---|---|---|---|")
    for plate in sorted({r["plate_type"] for r in default}):
        s = _summary([r for r in default if r["plate_type"] == plate])
        summaries[f"default_{plate}"] = s
        n = sum(1 for r in default if r["plate_type"] == plate and r["method"] == "oracle" and r["task"] == TASKS[0])
        box = " / ".join(f"{s[m]['place_true_e_trans_mm']:.2f}" for m in ("constant", "affine", "oracle"))
        shelf = " / ".join(f"{100 * s[m]['shelf_seated']:.0f} %" for m in ("constant", "affine", "oracle"))
        print(f"| {plate} | {n} | {box} | {shelf} |")
    if drawn:
        summaries["drawn"] = _summary(drawn)
        _print_table(f"{args.cells} drawn cells (all scenes pooled)", summaries["drawn"])
        print("\n| cell | constant (mm, mm, °) | box true e_trans const / oracle (mm) | shelf seated const / oracle |")
        print("|---|---|---|---|")
        for c in range(args.cells):
            s = _summary([r for r in drawn if r["cell"] == c])
            summaries[f"cell{c}"] = s
            k = np.round(np.array(constants[c]) * [1000, 1000, 180 / math.pi], 1).tolist()
            print(
                f"| {c} | {k} | {s['constant']['place_true_e_trans_mm']:.2f} / {s['oracle']['place_true_e_trans_mm']:.2f} | "
                f"{100 * s['constant']['shelf_seated']:.0f} % / {100 * s['oracle']['shelf_seated']:.0f} % |"
            )
    for t in TASKS:
        fails = [r["failure"] for r in rows if r["task"] == t and r["failure"]]
        if fails:
            names, counts = np.unique(fails, return_counts=True)
            print(f"{t}: failures " + ", ".join(f"{n!s} {int(c)}" for n, c in zip(names, counts, strict=True)))
    print(f"wall time {wall:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "wall_s": wall, "summaries": summaries, "rows": rows}, fh)


if __name__ == "__main__":
    main()
