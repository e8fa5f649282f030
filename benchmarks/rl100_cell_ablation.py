"""RL100's settings tried on held-out cells of the simulated cell (issue: RL100 that improves on its own imitation).

Usage: ``python benchmarks/rl100_cell_ablation.py --bench DIR [--cells 1 2] [--seeds 10] [--variants ...]
[--workers 2] [--out DIR] [--json PATH]``

``benchmarks/rl100_ablation.py`` applies the grid agents' rule on the synthetic env; that env does
not reproduce what RL100 does on the simulated cell (it corrects a 4 mm label bias there, and not
on cell_seed 0). This script applies the same rule to the benchmark's own RL100 job
(:func:`rmrl_agents.bench.jobs.execute`: the prior data are each seed's source run, on another
cell; 200 trials; the deterministic policy's true e_trans on the cell's 50 fixed place scenes) on
cells the benchmark neither evaluates nor trains a source run on (``cell_seed`` 1 and 2 by
default; the benchmark evaluates the default cell and cell_seed 0, and its source runs are on
cell_seed 1000 + seed). A setting is changed only if its variant beats the current settings,
paired by (cell, seed), by more than the 95 % interval over all those pairs.

``--bench DIR``: a finished benchmark output (``rmrl bench paper --out DIR``) whose
``runs/source__s*__cdefault`` source runs give the prior data, so that every variant starts from
the benchmark's own priors. Finished jobs under ``--out`` are reused, as in the benchmark.

Printed per cell: the reference rows of the benchmark (zero, random, reward-optimal constant,
reward-optimal oracle) and the reward-only calibration over the same seeds; per variant the mean
true e_trans after the RL stages and after imitation alone, RL − imitation (paired), variant −
the benchmark's settings (paired), how many seeds RL beat its imitation and the zero adjustment,
the share of training trials that scored 0, the spread of the deterministic action across the 50
scenes (sd in mm, mean of x and y), the true e_trans of its mean action played as a constant on
the same scenes ("mean act.": the policy without that spread), the xy distance of the mean action
from the reward-optimal constant's after imitation and after RL ("offset IL → RL", mean over the
seeds, seed 0's from its untrained start: how much of the prior's offset the RL stages closed) and
the OPE gate's acceptances.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark scripts

from learner_ablation import _interval, run_all
from rl100_ablation import VARIANTS
from rl100_learning import _place, _spread_mm

#: the references of the benchmark's reference job printed here
REFERENCE_ROWS = ("zero", "random", "reward-optimal constant", "reward-optimal oracle")


def _config(variant: str, cell: int, seeds: int) -> Any:
    from rmrl_agents.bench.config import RL100_KWARGS, BenchConfig

    return BenchConfig(seeds=seeds, cells=(cell,), methods=("RL100",), rl100_kwargs={**RL100_KWARGS, **VARIANTS[variant]})


def run_one(job: tuple[str, str, int | None, int, int]) -> dict[str, Any]:
    """One benchmark job (``kind``: "RL100", "calibration" or "references") of ``variant`` in ``out``."""
    from rmrl_agents.bench.config import Job
    from rmrl_agents.bench.jobs import execute, job_fingerprint, load_done

    out, kind, seed, cell, seeds = job
    variant = Path(out).name if kind == "RL100" else "defaults"
    cfg = _config(variant, cell, seeds)
    bench_job = Job(kind, seed, cell)
    t0 = time.time()
    done = load_done(Path(out), bench_job, job_fingerprint(cfg, bench_job))
    res = done if done is not None else execute(cfg, bench_job, Path(out))
    run: dict[str, Any] = {"out": out, "kind": kind, "seed": seed, "cell": cell, "result": res}
    if kind == "RL100":
        run["mean_action_e_trans_mm"] = mean_action_e_trans_mm(cfg, cell, res)
    return {**run, "s": time.time() - t0}


def mean_action_e_trans_mm(cfg: Any, cell: int, res: dict[str, Any]) -> float:
    """True e_trans of the job's mean deterministic action played as a constant on the same scenes:
    what the policy would place at without its spread across scenes."""
    from rmrl_agents.bench.evaluation import evaluate_on_cell

    action = _mean_action(res)
    return _place(evaluate_on_cell(cfg, cell, lambda env: lambda obs: action, continuous=True, tasks=("place",)))


def constant_xy_mm(index: list[int]) -> list[float]:
    """The (Δx, Δy) in mm of a grid action (the references' constants are grid indices)."""
    from rmrl_env.grid import CandidateGrid

    return [1000.0 * float(v) for v in CandidateGrid().to_adjustment(index)[:2]]


def _mean_action(res: dict[str, Any]) -> np.ndarray:
    """A job's mean deterministic place action over the scenes, in [-1, 1]^3 (float32)."""
    return np.asarray(res["place"]["action"], dtype=np.float64).mean(0).astype(np.float32)


def mean_xy_mm(res: dict[str, Any]) -> list[float]:
    """The (Δx, Δy) in mm of a job's mean deterministic action over the place scenes."""
    from rmrl_env.actions import ContinuousAdjustment
    from rmrl_env.grid import CandidateGrid

    return [1000.0 * float(v) for v in ContinuousAdjustment(CandidateGrid()).to_adjustment(_mean_action(res))[:2]]


def _offset_mm(xy: list[float] | None, constant: list[float]) -> float:
    return float("nan") if xy is None else float(np.hypot(xy[0] - constant[0], xy[1] - constant[1]))


def _fmt(values: list[float], sign: bool = False) -> str:
    mean, half = _interval(values)
    return f"{mean:+6.2f} ± {half:4.2f}" if sign else f"{mean:6.2f} ± {half:4.2f}"


def summarise(runs: list[dict[str, Any]], variants: list[str], cells: list[int]) -> dict[str, Any]:
    """Per (variant, cell, seed): e_trans after RL and after imitation, zero share, spread, the mean
    action's e_trans, OPE acceptances."""
    table: dict[str, Any] = {"references": {}, "constant_xy_mm": {}, "calibration": {}, "rl100": {}}
    for r in runs:
        res, cell = r["result"], r["cell"]
        if r["kind"] == "references":
            table["references"][cell] = {name: _place(res[name]) for name in REFERENCE_ROWS}
            table["constant_xy_mm"][cell] = constant_xy_mm(res["constants"]["reward-optimal constant"])
        elif r["kind"] == "calibration":
            table["calibration"].setdefault(cell, {})[r["seed"]] = _place(res)
        else:
            variant = Path(r["out"]).name
            rewards = np.asarray(res["train_rewards"], dtype=np.float64)
            table["rl100"].setdefault(variant, {}).setdefault(cell, {})[r["seed"]] = {
                "e_trans_mm": _place(res),
                "imitation_e_trans_mm": _place(res["imitation"]) if "imitation" in res else float("nan"),
                "mean_action_e_trans_mm": r["mean_action_e_trans_mm"],
                "train_zero_share": float(np.mean(rewards == 0)),
                "spread_mm": _spread_mm(res),
                "mean_xy_mm": mean_xy_mm(res),
                "imitation_mean_xy_mm": mean_xy_mm(res["imitation"]) if "imitation" in res else None,
                "ope_accepted": sum(bool(d["accepted"]) for d in res.get("ope", [])),
            }
    return table


def _offset_text(rows: list[dict[str, Any]], constant: list[float]) -> str:
    """Mean over the seeds with an imitation-only evaluation (seed 0's is its untrained start) of
    the xy distance (mm) from the reward-optimal constant of the mean action, after imitation →
    after RL: how much of the prior's offset the RL stages closed."""
    pairs = [
        (_offset_mm(r["imitation_mean_xy_mm"], constant), _offset_mm(r["mean_xy_mm"], constant))
        for r in rows
        if r["imitation_mean_xy_mm"] is not None and np.isfinite(r["imitation_e_trans_mm"])
    ]
    if not pairs:
        return ""
    il, rl = np.mean(pairs, axis=0)
    return f"{il:5.1f} → {rl:4.1f}mm"


def report(table: dict[str, Any], variants: list[str], cells: list[int]) -> None:
    base = variants[0]
    for cell in cells:
        refs = table["references"][cell]
        print(f"\ncell_seed {cell}: true e_trans mm on the 50 place scenes, mean ± 95 % half-interval over seeds")
        for name in REFERENCE_ROWS:
            print(f"  {name:<34} {refs[name]:6.2f}")
        calib = table["calibration"].get(cell, {})
        if calib:
            print(f"  {'reward-only calibration':<34} {_fmt(list(calib.values()))}")
        print(
            f"  {'variant':<34} {'after RL':>13} {'imitation':>13} {'RL − imitation':>15} {'− ' + base[:12]:>15}"
            f" {'RL<IL':>6} {'<zero':>6} {'0-reward':>8} {'spread':>8} {'mean act.':>10} {'offset IL → RL':>15} {'OPE acc':>8}"
        )
        constant = table["constant_xy_mm"][cell]
        for v in variants:
            rows = table["rl100"].get(v, {}).get(cell, {})
            seeds = sorted(rows)
            if not seeds:
                continue
            rl = [rows[s]["e_trans_mm"] for s in seeds]
            il = [rows[s]["imitation_e_trans_mm"] for s in seeds]
            gain = [a - b for a, b in zip(rl, il, strict=True) if np.isfinite(b)]
            vs_base = [rows[s]["e_trans_mm"] - table["rl100"][base][cell][s]["e_trans_mm"] for s in seeds] if v != base else []
            print(
                f"  {v:<34} {_fmt(rl):>13} {_fmt([b for b in il if np.isfinite(b)]):>13} {_fmt(gain, True):>15}"
                f" {_fmt(vs_base, True) if vs_base else '':>15} {sum(g < 0 for g in gain):3d}/{len(gain):<2d}"
                f" {sum(a < refs['zero'] for a in rl):3d}/{len(rl):<2d}"
                f" {np.mean([rows[s]['train_zero_share'] for s in seeds]):8.2f}"
                f" {np.mean([rows[s]['spread_mm'] for s in seeds]):6.2f}mm"
                f" {np.mean([rows[s]['mean_action_e_trans_mm'] for s in seeds]):8.2f}mm"
                f" {_offset_text([rows[s] for s in seeds], constant):>15}"
                f" {np.mean([rows[s]['ope_accepted'] for s in seeds]):8.1f}"
            )
    print(
        f"\nvariant − {base}, paired over (cell, seed), true e_trans mm (a variant is adopted only if < 0 beyond its interval):"
    )
    for v in variants[1:]:
        diffs = [
            row["e_trans_mm"] - table["rl100"][base][cell][seed]["e_trans_mm"]
            for cell, by_seed in table["rl100"].get(v, {}).items()
            for seed, row in by_seed.items()
        ]
        if diffs:
            print(f"  {v:<34} {_fmt(diffs, True)}  ({len(diffs)} pairs)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", required=True, help="a finished benchmark output directory (its source runs are the priors)")
    p.add_argument("--cells", nargs="*", type=int, default=[1, 2], help="held-out cell_seeds (default 1 2)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--variants", nargs="*", default=["defaults", "no re-imitation"], help="variant names (default: the two)")
    p.add_argument("--out", default="rl100_cell_ablation", help="where jobs are kept (reused when rerun)")
    p.add_argument("--json", help="also write the per-run figures to this file")
    args = p.parse_args()
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; known: {list(VARIANTS)}")
    evaluated = {0}  # the benchmark's cells besides the default one, and its source cells (1000 + seed)
    if set(args.cells) & evaluated or any(c >= 1000 for c in args.cells):
        p.error(f"cells {args.cells} include a cell the benchmark evaluates or trains a source run on; pick others (e.g. 1 2)")
    sources = [Path(args.bench) / "runs" / f"source__s{s}__cdefault" for s in range(args.seeds)]
    missing = [str(s) for s in sources if not (s / "DONE").exists()]
    if missing:
        p.error(f"--bench {args.bench} lacks finished source runs {missing}; run `rmrl bench paper --out {args.bench}` first")
    variants = ["defaults", *[v for v in args.variants if v != "defaults"]]
    out = Path(args.out)
    for v in variants:  # RL100 reads its prior from the source runs (read-only): linked, not copied
        (out / v / "runs").mkdir(parents=True, exist_ok=True)
        for src in sources:
            dst = out / v / "runs" / src.name
            if not dst.exists():
                dst.symlink_to(src.resolve(), target_is_directory=True)
    t0 = time.time()
    jobs: list[tuple[str, str, int | None, int, int]] = []
    for cell in args.cells:
        jobs.append((str(out / "references"), "references", None, cell, args.seeds))
        jobs += [(str(out / "references"), "calibration", s, cell, args.seeds) for s in range(args.seeds)]
        jobs += [(str(out / v), "RL100", s, cell, args.seeds) for v in variants for s in range(args.seeds)]
    runs = run_all(run_one, jobs, args.workers)
    table = summarise(runs, variants, args.cells)
    print(f"RL100 on held-out cells {args.cells}: the benchmark's job, {args.seeds} seeds, priors from {args.bench}")
    report(table, variants, args.cells)
    cpu = sum(r["s"] for r in runs)
    print(f"\n{len(runs)} jobs, {cpu:.0f} CPU-s in jobs (reused jobs count ~0), {time.time() - t0:.0f} s wall")
    if args.json:
        Path(args.json).write_text(json.dumps({"cells": args.cells, "seeds": args.seeds, "table": table}, indent=1, default=str))


if __name__ == "__main__":
    main()
