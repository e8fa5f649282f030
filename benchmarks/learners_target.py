"""The learners' target, read from a finished ``rmrl bench paper`` run.

Usage::

    rmrl bench paper --seeds 10 --trials 200 --cells default,0 \\
        --methods RMRL,RMRL-paper,REINFORCE,ReplayREINFORCE,calibration --out runs/learners
    python benchmarks/learners_target.py runs/learners

For every learner, on each evaluated cell and pooled: its mean true e_trans on the place
evaluation (mm, 95 % bootstrap interval over seeds), its paired difference to the reward-only
calibration (same seed and cell) and to the ground-truth best constant and the zero adjustment
(the cell's reference rows), how many seeds evaluate worse than the zero adjustment, the shelf's
seated share, the true e_trans per plate type, and the commonest action's share in the last 25
training trials (1.0: collapsed). The target for RM-RL: below the calibration and the constant
with a paired interval that excludes 0, and no seed worse than zero.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.bench.runs import key as _key
from rmrl_agents.bench.stats import Estimate, bootstrap_ci, paired_difference

CALIBRATION = "calibration"
#: the reference rows' names before benchmark v2 (the runs in docs/learners)
V1_NAMES = {"mean-oracle constant": "constant", "geometric oracle": "oracle"}


def _mean(values: Any) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _fmt(e: Estimate) -> str:
    return e.format(2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="the rmrl bench --out folder")
    args = p.parse_args()
    raw = json.loads((args.out / "raw.json").read_text())  # every job's columns (results.json holds the summaries)
    cfg, jobs = raw["config"], raw["jobs"]
    seeds, cells = range(cfg["seeds"]), [None if c is None else int(c) for c in cfg["cells"]]
    methods = [m for m in cfg["all_methods"] if m != CALIBRATION]
    has_calibration = CALIBRATION in cfg["all_methods"]

    def place(method: str, seed: int, cell: int | None) -> float:
        return _mean(jobs[_key(method, seed, cell)]["place"]["true_e_trans_mm"])

    def reference(name: str, cell: int | None) -> float:
        refs = jobs[_key("references", None, cell)]
        name = name if name in refs else V1_NAMES.get(name, name)  # runs made before benchmark v2
        return _mean(refs[name]["place"]["true_e_trans_mm"])

    print(f"{args.out}: {cfg['seeds']} seeds, {cfg['train_trials']} trials, place evaluation on {cfg['eval_poses']} poses")
    for group in [*([c] for c in cells), cells]:
        label = "pooled" if len(group) > 1 else f"cell {'default' if group[0] is None else group[0]}"
        runs = [(s, c) for s in seeds for c in group]
        zero = np.array([reference("zero", c) for _, c in runs])
        const = np.array([reference("mean-oracle constant", c) for _, c in runs])
        print(
            f"\n== {label}: zero {np.mean(zero):.2f} mm, ground-truth constant {np.mean(const):.2f} mm, oracle "
            f"{np.mean([reference('geometric oracle', c) for _, c in runs]):.2f} mm"
        )
        calib = np.array([place(CALIBRATION, s, c) for s, c in runs]) if has_calibration else None
        if calib is not None:
            shelf = np.mean([_mean(jobs[_key(CALIBRATION, s, c)]["shelf"]["success"]) for s, c in runs])
            print(
                f"   {CALIBRATION:<22} {_fmt(bootstrap_ci(calib))} mm; shelf {100 * shelf:.0f} %; "
                f"worse than zero on {int(np.sum(calib > zero))}/{len(runs)}"
            )
        for m in methods:
            x = np.array([place(m, s, c) for s, c in runs])
            shelf = np.mean([_mean(jobs[_key(m, s, c)]["shelf"]["success"]) for s, c in runs])
            share = [jobs[_key(m, s, c)].get("exploration", [{}])[-1].get("commonest_share", math.nan) for s, c in runs]
            print(
                f"   {m:<22} {_fmt(bootstrap_ci(x))} mm; shelf {100 * shelf:.0f} %; worse than zero on "
                f"{int(np.sum(x > zero))}/{len(runs)}; last-25 commonest share {np.nanmean(share):.2f}"
            )
            if calib is not None:
                print(f"   {'':<22} − calibration {_fmt(paired_difference(x, calib))} mm")
            print(
                f"   {'':<22} − constant    {_fmt(paired_difference(x, const))} mm;  − zero {_fmt(paired_difference(x, zero))} mm"
            )
            by_type: dict[str, list[float]] = {}
            for s, c in runs:
                res = jobs[_key(m, s, c)]["place"]
                for t, e in zip(res.get("plate_type", []), res["true_e_trans_mm"], strict=False):
                    by_type.setdefault(str(t), []).append(e)
            if by_type:
                print(
                    f"   {'':<22} per plate type: "
                    + ", ".join(f"{t} {_mean(v):.2f} mm (n={len(v)})" for t, v in sorted(by_type.items()))
                )


if __name__ == "__main__":
    main()
