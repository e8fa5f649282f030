"""The Markdown text of the paper benchmark's report: Tables 1-3, budgets, comparisons and a reading of them.

It formats what :func:`rmrl_agents.bench.report.summarize` computed and sets it beside the paper's
numbers; it computes nothing of its own.
"""

from __future__ import annotations

import math
from typing import Any

from rmrl_agents.bench.config import REFERENCES
from rmrl_agents.bench.runs import cell_label

#: The paper's numbers (real robot), by our method names (Tables 1-3).
PAPER: dict[str, dict[str, float]] = {
    "REINFORCE": {"t10": 45, "avg_reward": 0.948, "reward": 0.964, "e_trans_mm": 3.6, "e_rot_deg": 0.58, "shelf_success": 0.5},
    "ReplayREINFORCE": {
        "t10": 36,
        "avg_reward": 0.953,
        "reward": 0.944,
        "e_trans_mm": 5.8,
        "e_rot_deg": 1.01,
        "shelf_success": 0.4,
    },
    "RMRL": {"t10": 35, "avg_reward": 0.956, "reward": 0.970, "e_trans_mm": 3.0, "e_rot_deg": 0.89, "shelf_success": 0.7},
    "RMRL-pretrained": {
        "t10": 30,
        "avg_reward": 0.969,
        "reward": 0.978,
        "e_trans_mm": 2.1,
        "e_rot_deg": 0.60,
        "shelf_success": 1.0,
    },
}


def _fmt(s: dict[str, Any] | None, digits: int, pct: bool = False) -> str:
    if s is None or not math.isfinite(s["mean"]):
        return "–"
    k = 100.0 if pct else 1.0
    lo, hi = s["ci"]
    ci = f" [{k * lo:.{digits}f}, {k * hi:.{digits}f}]" if math.isfinite(lo) and math.isfinite(hi) else ""
    sd = f" (sd {k * s['std']:.{digits}f})" if math.isfinite(s["std"]) else ""
    return f"{k * s['mean']:.{digits}f}{ci}{sd}" + (" %" if pct else "")


def _t10(t: dict[str, Any]) -> str:
    median = "not reached" if not math.isfinite(t["median"]) else f"{t['median']:.0f}"
    never = round(t["n"] * (1 - t["reached_share"]))
    return f"{median} (never: {never} of {t['n']}; mean ≤{t['budget']}: {t['restricted_mean']:.1f})"


def _paper(name: str, key: str, digits: int, pct: bool = False) -> str:
    value = PAPER.get(name, {}).get(key)
    if value is None:
        return "–"
    return f"{100 * value:.0f} %" if pct else f"{value:.{digits}f}"


def markdown(results: dict[str, Any]) -> str:
    """Tables 1-3 (ours: mean [95 % CI] (sd) over (seed, cell) runs; paper: real robot), budgets and comparisons."""
    lines = [
        _caption(results),
        *_training_table(results),
        *_evaluation_table(results),
        *_search_note(results),
        *_plate_type_table(results),
        *_cell_table(results),
        *_curve_table(results),
        *_shelf_table(results),
        *_budget_table(results),
    ]
    lines += ["", "**Paired differences** (a − b over the same runs, 95 % bootstrap CI):", ""]
    lines += [f"- {c['sentence']}; P(a better than b) = {c['p_improvement']:.2f}" for c in results["comparisons"]]
    lines += ["", "**Reading the results.** " + reading(results)]
    return "\n".join(lines) + "\n"


def _network(policy_kwargs: dict[str, Any]) -> str:
    """The network's settings as written in a run and as read back from its JSON (lists as tuples)."""
    return str({k: tuple(v) if isinstance(v, list) else v for k, v in policy_kwargs.items()})


def _caption(results: dict[str, Any]) -> str:
    cfg = results["config"]
    cells = ", ".join(cell_label(c) for c in cfg["cells"])
    return (
        f"Simulated cell, {cfg['seeds']} seeds × {len(cfg['cells'])} cells ({cells}) = {len(results['pairs'])} paired runs per "
        f"method; {cfg['train_trials']} training trials; network {_network(cfg['policy_kwargs'])}; τ = {cfg['tau']:.4f} (the reward "
        f"of a {cfg['tau_e_trans_mm']:g} mm error). Ours: mean [95 % CI] (sample sd) over runs, the interval by "
        f"{results.get('interval', 'bootstrap over runs')}; paper: real robot, one run. Wall time {results['wall_s'] / 60:.1f} min{_reused(results)}."
    )


def _training_table(results: dict[str, Any]) -> list[str]:
    rows, rt = results["rows"], results["random_t10"]
    lines = [
        "",
        "**Table 1, training.** T^10_τ: the trial at which the reward has exceeded τ for the 10th time; Kaplan–Meier "
        "median, runs that never reached it, and the restricted mean (never = the budget).",
        "",
        "| method | T^10_τ (ours) | (paper) | average training reward (ours) | (paper) |",
        "|---|---|---|---|---|",
    ]
    for name in results["config"]["all_methods"]:
        if name == "RMRL-transfer":
            continue
        r = rows[name]
        lines.append(
            f"| {name} | {_t10(r['t10'])} | {_paper(name, 't10', 0)} | {_fmt(r['avg_reward'], 4)} | {_paper(name, 'avg_reward', 3)} |"
        )
    chance_median = "not reached" if not math.isfinite(rt["median"]) else f"{rt['median']:.0f}"
    lines.append(
        f"| random policy (chance) | median {chance_median}, P(reached by {rt['budget']}) = {rt['reached_share']:.2f}, "
        f"mean ≤{rt['budget']}: {rt['restricted_mean']:.1f} (p > τ per trial = {rt['p_above_tau']:.3f}) | – | – | – |"
    )
    return lines


def _evaluation_table(results: dict[str, Any]) -> list[str]:
    cfg, rows = results["config"], results["rows"]
    lines = [
        "",
        f"**Table 2, evaluation** of the deterministic policy on {cfg['eval_poses']} fixed scenes per cell (pose, "
        "sensor noise and plate the same for every method, half of each plate type); measured errors (the camera) and "
        "true errors (the sim's ground truth). Reference rows are deterministic per cell and repeat over seeds. "
        f"Intervals: {results.get('interval', 'bootstrap over runs')}." + _continuous_note(results),
        "",
        "| method | reward | (paper) | e_trans mm measured | true | (paper) | e_rot ° measured | true | seated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in [*cfg["all_methods"], *REFERENCES]:
        r = rows[name]
        lines.append(
            f"| {name} | {_fmt(r['reward'], 4)} | {_paper(name, 'reward', 3)} | {_fmt(r['e_trans_mm'], 2)} | "
            f"{_fmt(r['true_e_trans_mm'], 2)} | {_paper(name, 'e_trans_mm', 1)} | {_fmt(r['e_rot_deg'], 2)} | "
            f"{_fmt(r['true_e_rot_deg'], 2)} | {_fmt(r['place_success'], 0, pct=True)} |"
        )
    return lines


def _search_note(results: dict[str, Any]) -> list[str]:
    """How far the searched reference rows looked, per cell (empty when the run recorded no search)."""
    parts = []
    for cell, searches in results.get("searches", {}).items():
        oracle = searches.get("reward-optimal oracle", {}).get("place")
        consts = [
            f"the {name} after {s['candidates']} candidates ({'converged' if s['converged'] else 'stopped at the cap'})"
            for name, s in searches.items()
            if name.endswith("constant")
        ]
        text = f"{cell}: " + ", ".join(consts)
        if oracle:
            text += (
                f"; the reward-optimal oracle tried {oracle['trials_per_scene']:.0f} actions a scene, "
                f"{100 * oracle['share_of_grid']:.2f} % of the grid and {100 * oracle['share_of_box']:.1f} % of the box "
                f"±{oracle['box_radius_steps']} steps around the geometric oracle, and converged on "
                f"{100 * oracle['converged_share']:.0f} % of the scenes"
            )
        parts.append(text)
    if not parts:
        return []
    return [
        "",
        "**Reference searches** (the searched rows are the best found, not proven optima: a policy could beat the "
        "reward-optimal oracle where its search stopped at the cap). " + "; ".join(parts) + ".",
    ]


def _plate_type_table(results: dict[str, Any]) -> list[str]:
    """True e_trans per plate type, and how many scenes share one action (a policy that ignores the scene: 100 %)."""
    cfg, rows = results["config"], results["rows"]
    kinds = sorted({k for r in rows.values() for k in r.get("plate_types", {})})
    if not kinds:
        return []
    lines = [
        "",
        "**Table 2b, per plate type**: true e_trans (mm) of the place evaluation on each type's scenes, and the share of "
        "the evaluation scenes given the commonest action (100 %: one action whatever the scene, i.e. a constant; a "
        "continuous action counts as its nearest grid action).",
        "",
        "| method | " + " | ".join(kinds) + " | commonest action's share |",
        "|---|" + "---|" * len(kinds) + "---|",
    ]
    for name in [*cfg["all_methods"], *REFERENCES]:
        r = rows[name]
        cells = " | ".join(_fmt(r["plate_types"].get(k), 2) for k in kinds)
        lines.append(f"| {name} | {cells} | {_fmt(r.get('eval_commonest_share'), 0, pct=True)} |")
    return lines


def _cell_table(results: dict[str, Any]) -> list[str]:
    """Table 2c: true e_trans per evaluated cell, with the spread of the runs (empty with one cell)."""
    first = next(iter(results["rows"].values()))
    cells = list(first.get("per_cell", {}))
    if len(cells) < 2:
        return []
    lines = [
        "",
        "**Table 2c, per cell**: true e_trans (mm) of the place evaluation on each cell, mean [95 % CI over its seeds] "
        "and the range of its runs.",
        "",
        "| method | " + " | ".join(cells) + " |",
        "|---|" + "---|" * len(cells),
    ]
    for name, r in results["rows"].items():
        cols = []
        for cell in cells:
            s = r["per_cell"][cell]
            runs = [v for v in s["per_run"] if math.isfinite(v)]
            spread = f" ({min(runs):.2f}–{max(runs):.2f})" if runs else ""
            cols.append(_fmt({**s, "std": math.nan}, 2) + spread)
        lines.append(f"| {name} | " + " | ".join(cols) + " |")
    return lines


def _curve_table(results: dict[str, Any]) -> list[str]:
    """The learning curves of the true error as numbers (the plot error_curves.png draws them)."""
    curves = results.get("curves") or {}
    marks = sorted({p["trials"] for c in curves.values() for p in c["points"]})
    if len(marks) < 2:
        return []
    lines = [
        "",
        "**Learning curves**: true e_trans (mm) of the place evaluation after each number of training trials.",
        "",
        "| method | " + " | ".join(f"{m} trials" for m in marks) + " |",
        "|---|" + "---|" * len(marks),
    ]
    for name, c in curves.items():
        by = {p["trials"]: p for p in c["points"]}
        cells = [_fmt({**by[m], "std": math.nan}, 2) if m in by else "–" for m in marks]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _shelf_table(results: dict[str, Any]) -> list[str]:
    cfg, rows = results["config"], results["rows"]
    lines = [
        "",
        f"**Table 3, shelf** (1.5 mm clearance): success of the place-trained policy from {cfg['shelf_trials']} fixed poses per cell.",
        "",
        "| method | success (ours) | (paper) |",
        "|---|---|---|",
    ]
    for name in [*cfg["all_methods"], *REFERENCES]:
        lines.append(
            f"| {name} | {_fmt(rows[name]['shelf_success'], 0, pct=True)} | {_paper(name, 'shelf_success', 0, pct=True)} |"
        )
    return lines


def _budget_table(results: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    lines = [
        "",
        "**Budgets.** Trials on the evaluated cell, trials of the source run (on another cell), optimizer steps "
        "(mean per run, the source run's included), what one step averages over, the share of the last 25 training "
        "trials that took the commonest action (about 0.04 while exploring, 1.0 collapsed; a continuous action counts "
        "as its nearest grid action) and, for the grid agents, their policy's mean entropy per head over those trials "
        "(Δx, Δy, Δψ in nats; 0: that head always picks one bin; a uniform head over n bins: ln n).",
        "",
        "| method | online trials | source trials | gradient steps | samples per step | last-25 commonest share "
        "| last-25 entropy Δx / Δy / Δψ |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, b in results["budget"].items():
        share, ent = b.get("last_commonest_share"), b.get("last_entropy_nats")
        entropy = "–" if ent is None or all(v is None for v in ent) else " / ".join("–" if v is None else f"{v:.2f}" for v in ent)
        lines.append(
            f"| {name} | {b['online_trials']} | {b['source_trials']} | {b['gradient_steps']:.0f} | {b['samples_per_step']} "
            f"| {'–' if share is None else f'{share:.2f}'} | {entropy} |"
        )
    if "rl100" in results:
        r = results["rl100"]
        lines += [
            "",
            f"RL100's OPE gate accepted {r['ope_accepted']} of {r['ope_candidates']} offline candidates ({_gate(cfg)}).",
        ]
    return lines


def _gate(cfg: dict[str, Any]) -> str:
    """RL100's OPE rule in the run's settings (its own defaults where the benchmark sets none)."""
    import inspect

    from rmrl_agents.rl100.rl100 import RL100

    defaults = {k: v.default for k, v in inspect.signature(RL100.__init__).parameters.items()}
    settings: dict[str, Any] = {**defaults, **cfg.get("rl100_kwargs", {})}
    scale_name = str(settings["ope_delta_scale"])
    scale = {"value": "|Ĵ(π_i)|", "reward_sd": "the sd of the logged rewards"}.get(scale_name, scale_name)
    delta = f"δ = {settings['ope_delta_rel']:g} × {scale}"
    confidence = settings["ope_confidence"]
    if confidence is None:
        return f"the paper's rule: Ĵ(π) − Ĵ(π_i) ≥ {delta}, on point estimates"
    return f"the {100 * float(confidence):g} % bootstrap lower bound of Ĵ(π) − Ĵ(π_i) must reach {delta}"


def _reused(results: dict[str, Any]) -> str:
    n = results.get("reused_jobs", 0)
    return f" ({n} of {results['n_jobs']} jobs reused from earlier runs, not timed)" if n else ""


def _continuous_note(results: dict[str, Any]) -> str:
    """Table 2's note on the methods with continuous actions (empty without them)."""
    learners = results["config"]["all_methods"]
    if not {"RL100", "SAC"} & set(learners):
        return ""
    text = " RL100 and SAC act on the continuous envs (the same poses, scenes and metrics)"
    if "rl100" in results:
        text += (
            f"; RL100 is evaluated with its default sampler, {results['rl100']['sampler']}, from zero noise with the step means"
        )
    if "SAC" in learners:
        text += "; SAC with its deterministic action (tanh of the Gaussian mean)"
    return text + "."


def _diff(c: dict[str, Any]) -> str:
    value, low, high = c["difference"]
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}]"


def reading(results: dict[str, Any]) -> str:
    """What the intervals allow one to say, in a few sentences (generated: no claim beyond them)."""
    comps = results["comparisons"]
    bars = {"calibration", *REFERENCES}
    between = [c for c in comps if c["b"] not in bars]
    separated = [c for c in between if "no detectable difference" not in c["sentence"] and "too few" not in c["sentence"]]
    parts = [
        f"Of {len(between)} paired comparisons between learners, {len(between) - len(separated)} show no detectable difference"
        + (f"; the {len(separated)} that do: " + "; ".join(c["sentence"] for c in separated) + "." if separated else ".")
    ]
    for bar, label in (
        ("calibration", "the reward-only calibration"),
        ("reward-optimal constant", "the reward-optimal constant"),
        ("zero", "the zero adjustment"),
    ):
        vs = [c for c in comps if c["b"] == bar and c["metric"] == "true_e_trans_mm"]
        if not vs:
            continue
        better = [f"{c['a']} ({_diff(c)})" for c in vs if c["sentence"].startswith(f"true_e_trans_mm: {c['a']} is better")]
        worse = [f"{c['a']} ({_diff(c)})" for c in vs if c["sentence"].startswith(f"true_e_trans_mm: {bar} is better")]
        named = {*better, *worse}
        unsure = [f"{c['a']} ({_diff(c)})" for c in vs if f"{c['a']} ({_diff(c)})" not in named]
        parts.append(
            f"Against {label} (true e_trans, paired difference in mm): better {', '.join(better) or 'none'}; "
            f"worse {', '.join(worse) or 'none'}; not distinguishable {', '.join(unsure) or 'none'}."
        )
    chance, budget = results["random_t10"]["restricted_mean"], results["random_t10"]["budget"]
    # only runs with the chance reference's budget compare (RMRL-pretrained-equal trains fewer online trials)
    faster = [
        n
        for n, r in results["rows"].items()
        if "t10" in r and r["t10"]["budget"] == budget and r["t10"]["restricted_mean"] < chance
    ]
    parts.append(
        f"T^10_τ restricted mean below the random policy's ({chance:.1f}): {', '.join(faster) or 'none'} "
        "(a point comparison: no interval)."
    )
    return " ".join(parts)
