"""The benchmark's statistics: intervals that cover the truth, paired comparisons that say
"no detectable difference" when they must, and T^10 that counts runs that never got there."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmrl_agents.bench.stats import (
    bootstrap_ci,
    chance_time_to_event,
    compare,
    grouped_bootstrap_ci,
    grouping,
    iqm,
    paired_difference,
    probability_of_improvement,
    time_to_event,
)


def test_the_95_percent_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = [bootstrap_ci(rng.normal(1.0, 0.5, 20), seed=i).covers(1.0) for i in range(200)]
    assert 0.88 <= np.mean(covered) <= 0.99


def test_degenerate_samples():
    assert math.isnan(bootstrap_ci([]).value)
    one = bootstrap_ci([0.97])
    assert one.value == 0.97 and math.isnan(one.low) and one.format() == "0.970"
    same = bootstrap_ci([1.2, 1.2, 1.2])
    assert (same.low, same.high) == (1.2, 1.2)


def test_iqm_ignores_the_outer_quartiles():
    assert iqm(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0])) == pytest.approx(3.5)


def test_paired_comparison_sees_a_consistent_gain_that_an_unpaired_view_hides():
    rng = np.random.default_rng(1)
    per_cell = rng.normal(3.0, 1.5, 20)  # cells differ a lot
    a, b = per_cell - 0.3 + rng.normal(0, 0.05, 20), per_cell  # a is 0.3 mm better on every cell
    diff = paired_difference(a, b)
    assert diff.high < 0 and diff.covers(-0.3)
    assert "A is better than B" in compare("A", "B", diff, higher_is_better=False, what="e_trans")
    unpaired_a, unpaired_b = bootstrap_ci(a), bootstrap_ci(b)
    assert unpaired_a.high > unpaired_b.low  # the intervals overlap: only pairing detects it


def test_no_winner_is_named_when_the_interval_covers_zero():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.98, 0.01, 8), rng.normal(0.98, 0.01, 8)
    text = compare("RMRL", "REINFORCE", paired_difference(a, b), higher_is_better=True, what="reward")
    assert text.startswith("reward: no detectable difference between RMRL and REINFORCE")
    with pytest.raises(ValueError, match="same runs"):
        paired_difference([1.0, 2.0], [1.0])


def test_probability_of_improvement():
    assert probability_of_improvement([2, 3], [1, 1]) == 1.0
    assert probability_of_improvement([1, 1], [1, 1]) == 0.5


def test_censored_runs_count_instead_of_vanishing():
    # four runs reached T^10 at 20..26, one never within 150 trials
    summary = time_to_event([20, 22, 24, 26, None], budget=150)
    assert summary.median == 24 and summary.never == 1
    assert summary.restricted_mean == pytest.approx((20 + 22 + 24 + 26 + 150) / 5)
    dropped_mean = np.mean([20, 22, 24, 26])
    assert summary.restricted_mean > dropped_mean + 20  # dropping the failed seed would flatter the method
    assert time_to_event([None, None, 30], budget=60).format() == "not reached (mean ≤60: 50.0, 2 of 3 never)"
    with pytest.raises(ValueError, match="1..150"):
        time_to_event([0], budget=150)


def test_chance_reference_matches_simulated_random_policies():
    rng = np.random.default_rng(3)
    p, budget = 0.17, 150
    sims = []
    for _ in range(4000):
        hits = np.cumsum(rng.random(budget) < p)
        where = np.nonzero(hits >= 10)[0]
        sims.append(int(where[0]) + 1 if where.size else None)
    empirical = time_to_event(sims, budget)
    analytic = chance_time_to_event(p, 10, budget)
    assert abs(empirical.median - analytic.median) <= 1
    assert analytic.restricted_mean == pytest.approx(empirical.restricted_mean, rel=0.02)
    assert analytic.reached_share == pytest.approx(empirical.reached_share, abs=0.02)


def test_the_generated_reading_counts_and_lists_the_separated_comparisons_apart():
    from rmrl_agents.bench.tables import reading

    def comp(a, b, sentence, diff=(0.0, -1.0, 1.0)):
        return {"a": a, "b": b, "metric": "true_e_trans_mm", "sentence": sentence, "difference": list(diff)}

    results = {
        "comparisons": [
            comp("RMRL", "REINFORCE", "true_e_trans_mm: RMRL is better than REINFORCE (difference -1.0 [-2.0, -0.5])"),
            comp("RMRL", "PPO", "true_e_trans_mm: no detectable difference between RMRL and PPO (difference 0.1 [-0.3, 0.4])"),
            comp("RMRL", "calibration", "true_e_trans_mm: RMRL is better than calibration (x)", (-0.4, -0.7, -0.1)),
            comp("PPO", "calibration", "true_e_trans_mm: no detectable difference between PPO and calibration (x)"),
            comp(
                "RMRL",
                "reward-optimal constant",
                "true_e_trans_mm: reward-optimal constant is better than RMRL (difference 1.9 [1.5, 2.4])",
                (1.9, 1.5, 2.4),
            ),
            comp("RMRL", "zero", "true_e_trans_mm: RMRL is better than zero (x)", (-3.5, -4.0, -3.0)),
        ],
        "random_t10": {"restricted_mean": 61.2, "budget": 100},
        "rows": {"RMRL": {"t10": {"budget": 100, "restricted_mean": 70.0}}},
    }
    text = reading(results)
    assert text.startswith("Of 2 paired comparisons between learners, 1 show no detectable difference; the 1 that do: ")
    assert "RMRL is better than REINFORCE" in text and "between RMRL and PPO" not in text
    # each bar says plainly who beats it, with the paired interval
    assert (
        "Against the reward-only calibration (true e_trans, paired difference in mm): better RMRL (-0.40 [-0.70, -0.10]); "
        "worse none; not distinguishable PPO (+0.00 [-1.00, +1.00])." in text
    )
    assert (
        "Against the reward-optimal constant (true e_trans, paired difference in mm): better none; worse RMRL (+1.90 [+1.50, +2.40])"
        in text
    )
    assert "Against the zero adjustment (true e_trans, paired difference in mm): better RMRL (-3.50 [-4.00, -3.00])" in text
    assert "below the random policy's (61.2): none" in text


def test_grouped_intervals_resample_cells_when_there_are_enough_and_keep_them_otherwise():
    rng = np.random.default_rng(0)
    cells = [0] * 10 + [1] * 10 + [2] * 10
    values = np.concatenate([rng.normal(m, 0.05, 10) for m in (1.0, 2.0, 3.0)])
    hier = grouped_bootstrap_ci(values, cells)
    naive = bootstrap_ci(values)
    # three cells far apart: the hierarchical interval carries the spread between cells, runs as if independent do not
    assert hier.low < 1.6 and hier.high > 2.4 and (hier.high - hier.low) > 3 * (naive.high - naive.low)
    assert "hierarchical" in grouping(cells)
    # two cells are kept as they are: a reference that is constant on each cell has no interval to speak of
    two = grouped_bootstrap_ci([1.0] * 10 + [2.0] * 10, [0] * 10 + [1] * 10)
    assert two.value == two.low == two.high == 1.5 and "within each of the 2 cells" in grouping([0, 1])
    # and seeds within a cell still spread a learner's interval
    spread = grouped_bootstrap_ci(values[:20], cells[:20])
    assert spread.low < values[:20].mean() < spread.high and spread.high - spread.low < 0.2
    paired = paired_difference(values, values - 0.5, groups=cells)
    assert paired.value == pytest.approx(0.5) and paired.low == pytest.approx(0.5)
    with pytest.raises(ValueError, match="one group per value"):
        grouped_bootstrap_ci([1.0, 2.0], [0])
