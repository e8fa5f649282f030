"""Statistics of the benchmark: intervals that say what the runs can and cannot tell apart.

Every figure the benchmark reports is an estimate over a handful of (seed, cell) runs, so each
comes with a 95 % bootstrap confidence interval (``scipy.stats.bootstrap``, BCa where it is
defined), methods are compared by *paired* differences on the same runs, and a comparison whose
interval covers zero is reported as "no detectable difference", never as a win.

T^10_τ (the trial at which the reward has exceeded τ for the tenth time) is a time-to-event: a
run that never gets there within its budget is *censored*, not dropped. Its summaries are the
Kaplan–Meier median and the restricted mean (the area under the survival curve up to the
budget), both of which count censored runs correctly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
N_RESAMPLES = 9999


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval; ``n`` runs behind it."""

    value: float
    low: float
    high: float
    n: int

    def covers(self, x: float) -> bool:
        return self.low <= x <= self.high

    def format(self, digits: int = 3, scale: float = 1.0, unit: str = "") -> str:
        """``0.981 [0.975, 0.986]`` (``nan`` when there is no data)."""
        if not math.isfinite(self.value):
            return "–"
        v, lo, hi = (x * scale for x in (self.value, self.low, self.high))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return f"{v:.{digits}f}{unit}"
        return f"{v:.{digits}f}{unit} [{lo:.{digits}f}, {hi:.{digits}f}]"


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50 % (robust to a few outlying runs)."""
    return np.asarray(stats.trim_mean(values, 0.25, axis=axis))


def _mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(values, axis=axis)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[..., np.ndarray] = _mean,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """The statistic of ``values`` (one number per run) with a bootstrap confidence interval.

    NaNs are dropped. With one value the interval is that value's (no spread can be estimated:
    ``low = high = nan``); with identical values it collapses to the value.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    point = float(statistic(x))
    if x.size == 1:
        return Estimate(point, math.nan, math.nan, 1)
    if np.all(x == x[0]):
        return Estimate(point, point, point, int(x.size))
    rng = np.random.default_rng(seed)
    method = "BCa" if x.size >= 3 else "percentile"
    res = stats.bootstrap(
        (x,), statistic, confidence_level=confidence, n_resamples=N_RESAMPLES, method=method, vectorized=True, random_state=rng
    )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):  # BCa can degenerate on tiny, lumpy samples
        res = stats.bootstrap(
            (x,),
            statistic,
            confidence_level=confidence,
            n_resamples=N_RESAMPLES,
            method="percentile",
            vectorized=True,
            random_state=rng,
        )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Estimate(point, low, high, int(x.size))


def paired_difference(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    groups: Sequence[object] | None = None,
) -> Estimate:
    """Mean of ``a − b`` over runs paired by (seed, cell), with a bootstrap interval (over the runs,
    or :func:`grouped_bootstrap_ci` over ``groups``, the runs' cells, when given).

    Pairs where either side is missing are dropped.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples need the same runs, got {x.shape} and {y.shape}")
    if groups is not None:
        return grouped_bootstrap_ci(x - y, groups, confidence=confidence, seed=seed)
    keep = np.isfinite(x) & np.isfinite(y)
    return bootstrap_ci(x[keep] - y[keep], confidence=confidence, seed=seed)


def grouped_bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    groups: Sequence[object],
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """The mean of ``values`` (one per run) with a bootstrap interval that respects how runs are grouped
    (``groups[i]``: the cell of run i).

    With 3 or more groups the bootstrap is *hierarchical*: each resample draws cells with
    replacement, then runs with replacement within each drawn cell, so the interval speaks for
    other cells too. With fewer, it is *stratified*: runs are redrawn within each cell and the
    cells are kept, so the interval speaks for these cells only (two cells cannot show the spread
    between cells). Percentile intervals; NaN runs are dropped.
    """
    x = np.asarray(values, dtype=np.float64)
    g = np.asarray([str(v) for v in groups])
    if x.shape != g.shape:
        raise ValueError(f"one group per value: {x.shape} values, {g.shape} groups")
    keep = np.isfinite(x)
    x, g = x[keep], g[keep]
    if x.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    point = float(x.mean())
    members = [x[g == name] for name in np.unique(g)]
    if x.size == 1 or (all(m.size == 1 for m in members) and len(members) < 3):
        return Estimate(point, math.nan, math.nan, int(x.size))
    rng = np.random.default_rng(seed)
    n_res = N_RESAMPLES
    sizes = np.array([m.size for m in members])
    if len(members) >= 3:
        picks = rng.integers(0, len(members), (n_res, len(members)))
        sums, counts = np.zeros(n_res), np.zeros(n_res)
        for slot in range(len(members)):  # each drawn cell's runs redrawn afresh, cell by cell
            redrawn = np.stack([m[rng.integers(0, m.size, (n_res, m.size))].sum(axis=1) for m in members], axis=1)
            sums += redrawn[np.arange(n_res), picks[:, slot]]
            counts += sizes[picks[:, slot]]
        means = sums / counts
    else:
        total = sum(m.size for m in members)
        sums = sum(m[rng.integers(0, m.size, (n_res, m.size))].sum(axis=1) for m in members)
        means = np.asarray(sums) / total
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return Estimate(point, float(low), float(high), int(x.size))


def grouping(groups: Sequence[object]) -> str:
    """How :func:`grouped_bootstrap_ci` resamples runs with these groups, in words (for table headers)."""
    n = len(set(map(str, groups)))
    if n >= 3:
        return f"hierarchical bootstrap: {n} cells drawn with replacement, then seeds within each drawn cell"
    return f"bootstrap over seeds within each of the {n} cell{'s' if n > 1 else ''} (cells fixed: it speaks for these cells only)"


def probability_of_improvement(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """P(X > Y) + ½·P(X = Y) for X a run of ``a`` and Y a run of ``b`` (the Mann–Whitney statistic / nm)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size == 0 or y.size == 0:
        return math.nan
    greater = (x[:, None] > y[None, :]).mean()
    ties = (x[:, None] == y[None, :]).mean()
    return float(greater + 0.5 * ties)


def compare(name_a: str, name_b: str, difference: Estimate, higher_is_better: bool, what: str) -> str:
    """A sentence that claims no more than the interval of ``a − b`` allows."""
    if difference.n < 2 or not (math.isfinite(difference.low) and math.isfinite(difference.high)):
        return f"{what}: too few paired runs to compare {name_a} with {name_b}"
    if difference.covers(0.0):
        return f"{what}: no detectable difference between {name_a} and {name_b} (difference {difference.format()})"
    a_better = (difference.value > 0) == higher_is_better
    winner, loser = (name_a, name_b) if a_better else (name_b, name_a)
    return f"{what}: {winner} is better than {loser} (difference {name_a} − {name_b} {difference.format()})"


# -- time to event: T^10_τ ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeToEvent:
    """Summary of a time-to-event over runs with a common budget.

    Attributes:
        median: Kaplan–Meier median (``nan`` when fewer than half the runs reached the event).
        restricted_mean: mean of min(T, budget), i.e. the area under the survival curve up to
            the budget (censored runs count as the budget: a lower bound of their true time).
        reached_share: share of runs that reached the event within the budget.
        n: runs (0 for an analytic reference).
        budget: the trials each run had.
    """

    median: float
    restricted_mean: float
    reached_share: float
    n: int
    budget: int

    @property
    def never(self) -> int:
        """Runs that never reached the event."""
        return round(self.n * (1.0 - self.reached_share))

    def format(self) -> str:
        median = "not reached" if not math.isfinite(self.median) else f"{self.median:.0f}"
        if self.n == 0:
            never = f", P(reached) = {self.reached_share:.2f}"
        else:
            never = f", {self.never} of {self.n} never" if self.never else ""
        return f"{median} (mean ≤{self.budget}: {self.restricted_mean:.1f}{never})"


def kaplan_meier(times: Sequence[int | None], budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Survival curve S(t) of event times; ``None`` = censored at ``budget``.

    Returns the distinct event times and S just after each, shape (k,) both.
    """
    t = np.array([budget if v is None else int(v) for v in times], dtype=np.float64)
    event = np.array([v is not None for v in times], dtype=bool)
    uniq = np.unique(t[event])
    surv = []
    s = 1.0
    for u in uniq:
        at_risk = np.sum(t >= u)
        deaths = np.sum((t == u) & event)
        s *= 1.0 - deaths / at_risk
        surv.append(s)
    return uniq, np.array(surv)


def time_to_event(times: Sequence[int | None], budget: int) -> TimeToEvent:
    """Kaplan–Meier median and restricted mean of event times (``None``: never within ``budget``)."""
    if any(v is not None and not 1 <= v <= budget for v in times):
        raise ValueError(f"event times must lie in 1..{budget} or be None, got {list(times)}")
    n = len(times)
    reached = sum(v is not None for v in times)
    if n == 0:
        return TimeToEvent(math.nan, math.nan, math.nan, 0, budget)
    uniq, surv = kaplan_meier(times, budget)
    below = np.nonzero(surv <= 0.5)[0]
    median = float(uniq[below[0]]) if below.size else math.nan
    # area under the step function S(t) on [0, budget]
    edges = np.concatenate([[0.0], uniq, [float(budget)]])
    levels = np.concatenate([[1.0], surv])
    restricted = float(np.sum(levels * np.diff(edges)))
    return TimeToEvent(median, restricted, reached / n, n, budget)


def chance_time_to_event(p_success: float, count: int, budget: int) -> TimeToEvent:
    """T^count of a policy whose every trial exceeds τ independently with probability ``p_success``.

    The number of trials to the ``count``-th success is negative-binomial; this is what a policy
    that learns nothing gets, for reference beside the learners.
    """
    if not 0.0 <= p_success <= 1.0:
        raise ValueError(f"p_success must be a probability, got {p_success}")
    trials = np.arange(count, budget + 1)
    # P(T <= t) = P(at least `count` successes in t trials)
    cdf = stats.binom.sf(count - 1, trials, p_success)
    reached_by_budget = float(cdf[-1]) if cdf.size else 0.0
    median_idx = np.nonzero(cdf >= 0.5)[0]
    median = float(trials[median_idx[0]]) if median_idx.size else math.nan
    survival = np.ones(budget + 1)
    survival[count:] = 1.0 - cdf
    restricted = float(np.sum(survival[:budget]))
    return TimeToEvent(median, restricted, reached_by_budget, 0, budget)
