"""The reference rows that are bounds (rmrl_agents.bench.references): exact scene re-creation on the
sim, and searches that never return anything worse than where they started."""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
import numpy as np
import pytest

from rmrl_agents.bench.grid_search import NEIGHBOURHOODS, box_size, pattern_search
from rmrl_agents.bench.references import (
    CONSTANT_OBJECTIVES,
    ConstantScore,
    Scene,
    Trial,
    box_optimum,
    pose_scenes,
    reward_optimal_constant,
    reward_optimal_oracle,
    run_trial,
    scripted_policy,
)

PLACE_ID = "CellPlatePlace-sim-v0"
NVEC = (25, 25, 21)


@pytest.fixture(scope="module")
def env():
    pytest.importorskip("rmrl_env")
    if PLACE_ID not in gym.registry:
        pytest.skip(f"{PLACE_ID} is not registered")
    e = gym.make(PLACE_ID)
    yield e
    e.close()


def _bowl(centre, scale=(1.0, 1.0, 1.0)):
    c = np.asarray(centre, dtype=float)
    return lambda a: float(np.sum(np.asarray(scale) * (np.asarray(a) - c) ** 2))


# -- the search itself (no sim) -------------------------------------------------------------------


def test_search_stays_at_a_start_that_is_the_optimum() -> None:
    start = (10, 12, 7)
    res = pattern_search(_bowl(start), start, NVEC, rank=lambda v: v, max_evals=100, neighbourhood="axial")
    assert res.best == start and res.converged
    assert len(res.values) == 1 + len(NEIGHBOURHOODS["axial"][0])  # one full poll, nothing else
    wide = pattern_search(_bowl(start), start, NVEC, rank=lambda v: v, max_evals=100, neighbourhood="wide")
    assert wide.best == start and wide.converged
    assert len(wide.values) == 1 + 26 + 12  # every tier polled once around the start


@pytest.mark.parametrize("neighbourhood", sorted(NEIGHBOURHOODS))
def test_search_finds_the_minimum_inside_its_box(neighbourhood: str) -> None:
    start, target = (10, 12, 7), (13, 10, 8)
    res = pattern_search(
        _bowl(target, (1.0, 2.0, 0.5)), start, NVEC, rank=lambda v: v, radius=4, max_evals=200, neighbourhood=neighbourhood
    )
    assert res.best == target and res.converged


def test_search_never_leaves_its_box_nor_the_grid() -> None:
    start = (1, 23, 10)
    res = pattern_search(_bowl((-20, 60, 40)), start, NVEC, rank=lambda v: v, radius=3, max_evals=500, neighbourhood="cube")
    for a in res.values:
        assert all(0 <= i < n for i, n in zip(a, NVEC, strict=True))
        assert max(abs(i - s) for i, s in zip(a, start, strict=True)) <= 3
    assert res.best == (0, 24, 13)  # the box's corner nearest the minimum, clipped to the grid
    assert box_size(start, NVEC, 3) == 5 * 5 * 7  # x 0..4, y 20..24, ψ 7..13


def test_search_respects_its_cap() -> None:
    calls: list[tuple[int, ...]] = []

    def value(a):
        calls.append(a)
        return _bowl((20, 20, 20))(a)

    res = pattern_search(value, (5, 5, 5), NVEC, rank=lambda v: v, radius=10, max_evals=9)
    assert len(calls) == len(res.values) == 9 and len(set(calls)) == 9
    assert not res.converged


@pytest.mark.parametrize("neighbourhood", sorted(NEIGHBOURHOODS))
def test_search_never_returns_worse_than_its_start_on_rugged_landscapes(neighbourhood: str) -> None:
    """Random values with ties: the answer is the best point evaluated, never worse than the start."""
    rng = np.random.default_rng(0)
    for trial in range(30):
        table = rng.integers(0, 6, size=NVEC)  # many ties: only strict improvements may move the search
        start = tuple(int(rng.integers(0, n)) for n in NVEC)
        res = pattern_search(
            lambda a, t=table: int(t[a]),
            start,
            NVEC,
            rank=lambda v: v,
            radius=3,
            max_evals=1 + trial,
            neighbourhood=neighbourhood,
        )
        assert res.values[res.best] <= res.values[start]
        assert res.values[res.best] == min(res.values.values())
        assert all(int(table[a]) == v for a, v in res.values.items())


def test_trial_rank_puts_any_seated_plate_first_then_the_smaller_true_error() -> None:
    def trial(seated: bool, e_mm: float, rot: float = 0.1) -> Trial:
        return Trial((0, 0, 0), 0.5, seated, None if seated else "dropped", e_mm, rot, (0.0, 0.0, 0.0))

    order = [
        trial(True, 0.3),
        trial(True, 0.3, rot=0.5),
        trial(True, 2.0),
        trial(True, math.nan),
        trial(False, 0.1),
        trial(False, 5.0),
    ]
    assert sorted([order[i] for i in (3, 0, 5, 1, 4, 2)], key=Trial.rank) == order


def test_constant_rank_prefers_the_mean_reward_then_the_smaller_true_error() -> None:
    def score(rewards, errors) -> ConstantScore:
        return ConstantScore(
            (0, 0, 0), tuple(Trial((0, 0, 0), r, True, None, e, 0.0, ()) for r, e in zip(rewards, errors, strict=True))
        )

    order = [
        score([0.9, 0.9], [3.0, 3.0]),
        score([0.9, 0.9], [3.0, 4.0]),
        score([1.0, 0.7], [0.1, 0.1]),
        score([0.0, 0.0], [0.0, 0.0]),
    ]
    assert sorted([order[i] for i in (2, 3, 1, 0)], key=ConstantScore.rank) == order
    accurate, rewarded = score([0.90, 0.90], [1.0, 1.0]), score([0.95, 0.95], [2.0, 2.0])
    assert min(accurate, rewarded, key=CONSTANT_OBJECTIVES["reward"]) is rewarded
    assert min(accurate, rewarded, key=CONSTANT_OBJECTIVES["true_e_trans"]) is accurate
    dropped = ConstantScore((0, 0, 0), (Trial((0, 0, 0), 0.0, False, "dropped", 0.2, 0.0, ()), accurate.trials[0]))
    assert min(accurate, dropped, key=CONSTANT_OBJECTIVES["true_e_trans"]) is accurate  # seated first, as Trial.rank


# -- on the sim --------------------------------------------------------------------------------------


def test_recreating_a_scene_is_exact(env) -> None:
    """The same action on a re-created scene gives the identical true outcome, whatever ran between."""
    grid = env.unwrapped.grid
    for scene in (Scene(10_000, {"initial_pose": [0.42, -0.05, 0.4]}), Scene(200_003)):
        a, b = grid.zero_action(), grid.zero_action() + np.array([3, -3, 2])
        first, other, again = run_trial(env, scene, a), run_trial(env, scene, b), run_trial(env, scene, a)
        assert first == again
        assert len(first.true_final_pose) == 3 and math.isfinite(first.true_e_trans_mm)
        assert other.true_final_pose != first.true_final_pose  # the action does change the outcome


def test_recreating_a_scene_is_exact_after_a_failure_and_another_scene(env) -> None:
    grid = env.unwrapped.grid
    scene, elsewhere = Scene(10_002, {"initial_pose": [0.3, -0.25, -0.5]}), Scene(200_001)
    a = grid.zero_action()
    first = run_trial(env, scene, a)
    corner = run_trial(env, scene, np.zeros(3, dtype=np.int64))  # -12 mm, -12 mm, -5°: far off the plate
    run_trial(env, elsewhere, grid.nvec - 1)
    assert run_trial(env, scene, a) == first
    assert corner != first


@pytest.mark.slow
def test_reward_optimal_oracle_is_never_worse_than_the_geometric_oracle(env) -> None:
    from rmrl_env.sim.oracle import oracle_action

    grid = env.unwrapped.grid
    scenes = [Scene(10_000 + i, {"initial_pose": p}) for i, p in enumerate(([0.40, -0.1, 0.3], [0.30, -0.3, -0.6]))]
    for scene, start in itertools.product(scenes, (None, grid.zero_action())):
        res = reward_optimal_oracle(env, scene, start, max_trials=8, radius=2)
        obs, info = scene.reset(env)
        geometric = tuple(int(i) for i in oracle_action(env, obs, info)[0])
        assert res.geometric.action == geometric
        assert res.best.rank() <= res.geometric.rank()
        assert res.best == min(res.trials, key=lambda t: t.rank())
        assert run_trial(env, scene, res.best.action) == res.best  # the answer holds when re-run
        cov = res.coverage
        assert cov.evaluated == len({t.action for t in res.trials}) == len(res.trials) <= 8
        assert cov.share_of_grid == pytest.approx(cov.evaluated / (25 * 25 * 21))
        assert cov.share_of_box == pytest.approx(cov.evaluated / 125)


@pytest.mark.slow
def test_the_box_optimum_is_never_worse_than_a_search_inside_the_box(env) -> None:
    scene = Scene(10_001, {"initial_pose": [0.35, -0.2, 0.1]})
    res = reward_optimal_oracle(env, scene, max_trials=12, radius=1, neighbourhood="cube")
    box, n = box_optimum(env, scene, res.geometric.action, 1)
    assert n == 27 and res.coverage.box_size == 27
    assert box.rank() <= res.best.rank()
    assert max(abs(i - g) for i, g in zip(box.action, res.geometric.action, strict=True)) <= 1


@pytest.mark.slow
def test_reward_optimal_constant_is_never_worse_than_its_start(env) -> None:
    scenes = [Scene(200_000 + k) for k in range(2)]
    start = env.unwrapped.grid.to_action(0.003, -0.002, 0.0)
    res = reward_optimal_constant(env, scenes, start, max_candidates=4, radius=2)
    direct = [run_trial(env, s, start) for s in scenes]
    assert res.start.mean_reward == pytest.approx(np.mean([t.reward for t in direct]))
    assert res.best.mean_reward >= res.start.mean_reward
    assert res.best.rank() <= res.start.rank()
    assert res.candidates <= 4 and res.trials == 2 * res.candidates
    assert res.best.rank() == min(c.rank() for c in res.evaluated)
    assert res.evaluated[0] == res.start
    by_truth = reward_optimal_constant(env, scenes, start, max_candidates=3, radius=1, objective="true_e_trans")
    assert by_truth.best.true_rank() == min(c.true_rank() for c in by_truth.evaluated)
    assert by_truth.best.true_rank() <= by_truth.start.true_rank()


@pytest.mark.slow
def test_evaluate_policy_reproduces_the_searched_actions_outcomes(env) -> None:
    """The hook for the benchmark: the best actions, scripted, give the same true outcomes in evaluate_policy."""
    from rmrl_agents.common.evaluation import evaluate_policy, fixed_poses, reset_region

    poses = fixed_poses(reset_region(env), 2, 7)
    found = [reward_optimal_oracle(env, s, max_trials=6, radius=1) for s in pose_scenes(poses, 500)]
    result = evaluate_policy(scripted_policy([f.best.action for f in found]), env, poses=poses, seed=500)
    assert result.column("true_e_trans_mm").tolist() == [f.best.true_e_trans_mm for f in found]
    assert [tuple(e.action) for e in result.episodes] == [f.best.action for f in found]
    with pytest.raises(ValueError, match="2 actions and was asked for one more"):
        evaluate_policy(scripted_policy([f.best.action for f in found]), env, poses=np.r_[poses, poses[:1]], seed=500)
