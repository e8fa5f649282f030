"""The benchmark's figures: training reward curves, and learning curves of the true error.

Legends sit outside the axes (below them), so no curve is hidden behind one; a paper recipe is
dashed in its improved twin's colour, so no two methods share a look.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.bench.runs import key as _key
from rmrl_agents.bench.runs import pairs
from rmrl_agents.metrics import ema


def _legend_below(ax: Any, fig: Any, n: int) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(4, max(1, n)), fontsize=7, frameon=False)
    fig.tight_layout()


def _styles(names: list[str]) -> dict[str, tuple[Any, str]]:
    """A colour and line style per method: a paper recipe (``X-paper``) is drawn dashed in the colour
    of its improved twin ``X``, so the two read as a pair and ten colours serve up to ten methods."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    colours = [cmap(i) for i in range(cmap.N)]
    base = [n for n in names if not n.endswith("-paper") or n.removesuffix("-paper") not in names]
    out = {n: (colours[i % len(colours)], "-") for i, n in enumerate(base)}
    out.update({n: (out[n.removesuffix("-paper")][0], "--") for n in names if n not in out})
    return out


def plot_reward_curves(raw: dict[str, Any], path: Path) -> None:
    """EMA-smoothed training reward per method: mean over runs with a 95 % bootstrap band (paper Fig. 5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg, alpha = raw["config"], raw["config"]["ema_alpha"]
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=120)
    style = _styles([m for m in cfg["all_methods"] if m != "RMRL-transfer"])
    for name in style:
        curves = np.array([ema(raw["jobs"][_key(name, s, c)]["train_rewards"], alpha) for s, c in pairs(raw)])
        if curves.size == 0 or curves.shape[1] == 0:
            continue
        means = curves[rng.integers(0, len(curves), (2000, len(curves)))].mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5], axis=0)
        x = np.arange(1, curves.shape[1] + 1)
        colour, dash = style[name]
        ax.plot(x, curves.mean(axis=0), label=name, lw=1.5, color=colour, ls=dash)
        ax.fill_between(x, low, high, alpha=0.18, color=colour)
    ax.axhline(cfg["tau"], color="grey", lw=0.8, ls="--", label=f"τ ({cfg['tau_e_trans_mm']:g} mm)")
    ax.set_xlabel("training trial on the evaluated cell")
    ax.set_ylabel(f"reward, EMA α = {alpha}")
    ax.set_title(f"Training reward, {len(pairs(raw))} (seed, cell) runs: mean and 95 % bootstrap band")
    ax.grid(alpha=0.3)
    _legend_below(ax, fig, len(cfg["all_methods"]) + 1)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def plot_error_curves(results: dict[str, Any], path: Path) -> None:
    """Mean true e_trans of the place evaluation against training trials, per learner, with its
    interval (``results["interval"]`` says how it resamples), and the reference rows as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    n = 0
    style = _styles(list(results["curves"]))
    for name, curve in results["curves"].items():
        pts = [p for p in curve["points"] if math.isfinite(p["mean"])]
        if not pts:
            continue
        x = [p["trials"] for p in pts]
        colour, dash = style[name]
        ax.plot(x, [p["mean"] for p in pts], marker="o", ms=3, lw=1.5, label=name, color=colour, ls=dash)
        lo = [p["ci"][0] if math.isfinite(p["ci"][0]) else p["mean"] for p in pts]
        hi = [p["ci"][1] if math.isfinite(p["ci"][1]) else p["mean"] for p in pts]
        ax.fill_between(x, lo, hi, alpha=0.15, color=colour)
        n += 1
    styles = {"zero": ("grey", "--"), "reward-optimal constant": ("black", "--"), "reward-optimal oracle": ("black", ":")}
    for name, (colour, dash) in styles.items():
        row = results["rows"].get(name)
        if row is not None and math.isfinite(row["true_e_trans_mm"]["mean"]):
            ax.axhline(row["true_e_trans_mm"]["mean"], lw=1.0, ls=dash, color=colour, label=f"{name} (reference)")
            n += 1
    ax.set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter

    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_xlabel("training trials on the evaluated cell")
    ax.set_ylabel("true e_trans, mm (place evaluation)")
    ax.set_title("True placement error during training: mean and 95 % interval over runs")
    ax.grid(alpha=0.3, which="both")
    _legend_below(ax, fig, n)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
