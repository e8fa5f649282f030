"""Reference rows that are true bounds: the reward-optimal oracle and the reward-optimal constant.

The geometric oracle (:func:`rmrl_env.sim.oracle.oracle_action`) puts the true grasp centre on the
plate's true pose; the mean-oracle constant (:func:`rmrl_agents.bench.jobs.best_constant`) averages
its adjustments. Neither is the best action by outcome. Here both are improved by search on the
sim, which can re-create a scene exactly (a reset with the same seed and options, then one step):

* :func:`reward_optimal_oracle`: per scene, the grid action with the best true outcome, by a
  pattern search from the geometric oracle's action (analysis only: it reads the ground truth and
  tries many actions on the same scene);
* :func:`reward_optimal_constant`: the grid constant with the highest mean reward over training
  scenes, by the same search from the mean-oracle constant.

Both return the best of everything they evaluated, the start included, so neither can be worse than
its start. Search cost is counted in trials (one reset and step each), and coverage as a share of
the grid and of the box of ±``radius`` steps around the start that the search may visit.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rmrl_agents.bench.grid_search import DEFAULT_NEIGHBOURHOOD, DEFAULT_RADIUS, Action, box_size, pattern_search
from rmrl_agents.common.info import as_float, failure_code
from rmrl_env.info import privileged

#: Default caps of the searches (with :mod:`~rmrl_agents.bench.grid_search`'s neighbourhood and
#: radius): 40 trials per scene, 60 candidate constants (each taken on every fit scene).
DEFAULT_MAX_TRIALS = 40
DEFAULT_MAX_CANDIDATES = 60


@dataclass(frozen=True)
class Scene:
    """One scene to re-create: the reset seed and options (e.g. ``{"initial_pose": [x, y, yaw]}``;
    any options the env accepts, copied afresh for every reset)."""

    seed: int
    options: Mapping[str, Any] | None = None

    def reset(self, env: Any) -> tuple[Any, dict[str, Any]]:
        options = None if self.options is None else copy.deepcopy(dict(self.options))
        return env.reset(seed=self.seed, options=options)


def pose_scenes(poses: np.ndarray | Sequence[Sequence[float]], seed: int) -> list[Scene]:
    """The scenes :func:`~rmrl_agents.common.evaluation.evaluate_policy` meets with fixed ``poses`` and
    ``seed``: scene i resets with seed ``seed + i`` and options ``{"initial_pose": poses[i]}``."""
    return [Scene(seed + i, {"initial_pose": [float(v) for v in p]}) for i, p in enumerate(np.asarray(poses).reshape(-1, 3))]


def scripted_policy(actions: Sequence[Sequence[int]]) -> Callable[[Any], np.ndarray]:
    """A policy for :func:`~rmrl_agents.common.evaluation.evaluate_policy` that takes ``actions[i]`` at
    its i-th call (e.g. each scene's reward-optimal action, in the order of :func:`pose_scenes`)."""
    it = iter(list(actions))

    def act(obs: Any) -> np.ndarray:
        try:
            return np.asarray(next(it), dtype=np.int64)
        except StopIteration:
            raise ValueError(f"the scripted policy has {len(actions)} actions and was asked for one more") from None

    return act


@dataclass(frozen=True)
class Trial:
    """The outcome of one action on one re-created scene (true figures from ``info["privileged"]``)."""

    action: Action
    reward: float
    seated: bool
    failure: str | None
    true_e_trans_mm: float
    true_e_rot_deg: float
    true_final_pose: tuple[float, ...]

    def rank(self) -> tuple[int, float, float]:
        """Smaller is better: a seated plate (the trial ran to its end and the plate lies seated,
        ``info["success"]``) before any failed or unseated one; then the smaller true e_trans, then
        the smaller true e_rot (NaN, i.e. not measured, counts as infinitely large)."""
        return (0 if self.seated else 1, _or_inf(self.true_e_trans_mm), _or_inf(self.true_e_rot_deg))


def _or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def run_trial(env: Any, scene: Scene, action: Sequence[int] | np.ndarray) -> Trial:
    """Re-create ``scene`` and take ``action`` (grid indices) in it."""
    scene.reset(env)
    idx = np.asarray(action, dtype=np.int64)
    _, reward, _, _, info = env.step(idx)
    truth = privileged(info)
    final = truth.get("true_final_pose")
    return Trial(
        action=tuple(int(i) for i in idx),
        reward=float(reward),
        seated=bool(info.get("success", False)),
        failure=failure_code(info),
        true_e_trans_mm=as_float(truth.get("true_e_trans_mm")),
        true_e_rot_deg=as_float(truth.get("true_e_rot_deg")),
        true_final_pose=() if final is None else tuple(float(v) for v in np.asarray(final)),
    )


@dataclass(frozen=True)
class Coverage:
    """How much a search evaluated: ``evaluated`` distinct grid actions, of ``grid_size`` in the grid
    and of ``box_size`` in the ±``radius``-step box around the start (clipped to the grid)."""

    evaluated: int
    grid_size: int
    box_size: int
    radius: int

    @property
    def share_of_grid(self) -> float:
        return self.evaluated / self.grid_size

    @property
    def share_of_box(self) -> float:
        return self.evaluated / self.box_size

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share_of_grid": self.share_of_grid, "share_of_box": self.share_of_box}


@dataclass(frozen=True)
class OracleSearch:
    """:func:`reward_optimal_oracle`'s answer for one scene: the best trial found, the geometric
    oracle's trial, the search's start, every trial evaluated (in order), the coverage, and the
    scene's plate type (the sim's ``privileged(info)["plate_type"]``)."""

    best: Trial
    geometric: Trial
    start: Action
    trials: list[Trial]
    coverage: Coverage
    converged: bool
    plate_type: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "best": asdict(self.best),
            "geometric": asdict(self.geometric),
            "start": list(self.start),
            "coverage": self.coverage.as_dict(),
            "converged": self.converged,
            "plate_type": self.plate_type,
        }


def reward_optimal_oracle(
    env: Any,
    scene: Scene,
    start_action: Sequence[int] | np.ndarray | None = None,
    *,
    radius: int = DEFAULT_RADIUS,
    max_trials: int = DEFAULT_MAX_TRIALS,
    neighbourhood: str = DEFAULT_NEIGHBOURHOOD,
) -> OracleSearch:
    """The grid action with the best TRUE outcome on one scene, by :func:`pattern_search`.

    The objective is :meth:`Trial.rank`: a seated plate beats any failure or unseated plate; among
    equals the smaller true e_trans (mm), then the smaller true e_rot, from ``info["privileged"]``.
    Every candidate re-creates the scene (reset with its seed and options, then one step), which is
    exact on the sim (``tests/agents/test_references.py``). The search starts at ``start_action``,
    by default the geometric oracle's grid action (:func:`~rmrl_env.sim.oracle.oracle_action`); the
    geometric oracle's action is always evaluated (one trial of ``max_trials``; the search from
    another start gets at least one), and the best trial of all is returned: never worse than the
    geometric oracle or the start on this scene.

    :param env: a sim cell-plate env with a candidate grid (analysis only: reads the ground truth).
    :param max_trials: cap on trials (distinct actions) for this scene.
    """
    from rmrl_env.sim.oracle import oracle_action

    obs, info = scene.reset(env)
    geometric = tuple(int(i) for i in oracle_action(env, obs, info)[0])
    start = geometric if start_action is None else tuple(int(i) for i in np.asarray(start_action))
    nvec = [int(n) for n in env.unwrapped.grid.nvec]
    extra = {geometric: run_trial(env, scene, geometric)} if geometric != start else {}
    budget = max(1, max_trials - len(extra))
    found = pattern_search(
        lambda a: extra[a] if a in extra else run_trial(env, scene, a),
        start,
        nvec,
        rank=Trial.rank,
        radius=radius,
        max_evals=budget,
        neighbourhood=neighbourhood,
    )
    trials = {**extra, **found.values}
    best = min(trials.values(), key=Trial.rank)
    return OracleSearch(
        best=best,
        geometric=trials[geometric],
        start=start,
        trials=list(trials.values()),
        coverage=Coverage(len(trials), int(np.prod(nvec)), box_size(start, nvec, radius), radius),
        converged=found.converged,
        plate_type=privileged(info).get("plate_type"),
    )


def box_optimum(env: Any, scene: Scene, centre: Sequence[int] | np.ndarray, radius: int) -> tuple[Trial, int]:
    """The best trial (:meth:`Trial.rank`) over EVERY grid action within ±``radius`` steps of
    ``centre``, and the number of trials: the exhaustive answer a capped search is measured against."""
    nvec = [int(n) for n in env.unwrapped.grid.nvec]
    axes = [range(max(0, int(c) - radius), min(n - 1, int(c) + radius) + 1) for c, n in zip(centre, nvec, strict=True)]
    trials = [run_trial(env, scene, a) for a in itertools.product(*axes)]
    return min(trials, key=Trial.rank), len(trials)


@dataclass(frozen=True)
class ConstantScore:
    """One constant action's trials on the fit scenes and their means."""

    action: Action
    trials: tuple[Trial, ...]

    @property
    def mean_reward(self) -> float:
        return float(np.mean([t.reward for t in self.trials]))

    @property
    def mean_true_e_trans_mm(self) -> float:
        return float(np.mean([t.true_e_trans_mm for t in self.trials]))

    def rank(self) -> tuple[float, float]:
        """Smaller is better: the higher mean reward, ties broken by the smaller mean true e_trans."""
        return (-self.mean_reward, _or_inf(self.mean_true_e_trans_mm))

    @property
    def seated(self) -> float:
        """Share of the scenes whose plate ended seated."""
        return float(np.mean([t.seated for t in self.trials]))

    def true_rank(self) -> tuple[float, float, float]:
        """Smaller is better, by ground truth as :meth:`Trial.rank`: the larger seated share, then the
        smaller mean true e_trans, then the higher mean reward."""
        return (-self.seated, _or_inf(self.mean_true_e_trans_mm), -self.mean_reward)

    def summary(self) -> dict[str, Any]:
        return {
            "action": list(self.action),
            "mean_reward": self.mean_reward,
            "mean_true_e_trans_mm": self.mean_true_e_trans_mm,
            "seated": self.seated,
        }


@dataclass(frozen=True)
class ConstantSearch:
    """:func:`reward_optimal_constant`'s answer: the best constant, the start's score, every candidate
    constant evaluated in order (each on every fit scene: ``trials`` trials in all)."""

    best: ConstantScore
    start: ConstantScore
    evaluated: list[ConstantScore]
    trials: int
    converged: bool
    objective: str = "reward"

    @property
    def candidates(self) -> int:
        return len(self.evaluated)

    def as_dict(self) -> dict[str, Any]:
        return {
            "best": self.best.summary(),
            "start": self.start.summary(),
            "candidates": self.candidates,
            "trials": self.trials,
            "converged": self.converged,
            "objective": self.objective,
        }


#: What :func:`reward_optimal_constant` optimises: the mean reward (what a reward-only learner can
#: reach), or the ground truth (seated share, then mean true e_trans: :meth:`ConstantScore.true_rank`).
CONSTANT_OBJECTIVES = {"reward": ConstantScore.rank, "true_e_trans": ConstantScore.true_rank}


def reward_optimal_constant(
    env: Any,
    scenes: Sequence[Scene],
    start_action: Sequence[int] | np.ndarray,
    *,
    radius: int = DEFAULT_RADIUS,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    neighbourhood: str = DEFAULT_NEIGHBOURHOOD,
    objective: str = "reward",
) -> ConstantSearch:
    """The grid constant with the highest MEAN REWARD over ``scenes`` (ties: the smaller mean true
    e_trans, ground truth), by :func:`pattern_search` from ``start_action`` (e.g. the mean-oracle
    constant snapped to the grid). Each candidate is taken once on every re-created scene; the
    best candidate evaluated is returned, so it is never worse than the start on these scenes.

    :param max_candidates: cap on candidate constants (each costs ``len(scenes)`` trials).
    :param objective: "reward" (the default, as above) or "true_e_trans" (the most seated plates, then
        the smallest mean true e_trans, then the mean reward: :data:`CONSTANT_OBJECTIVES`).
    """
    if not scenes:
        raise ValueError("give at least one fit scene")
    if objective not in CONSTANT_OBJECTIVES:
        raise ValueError(f"objective must be one of {sorted(CONSTANT_OBJECTIVES)}, got {objective!r}")
    start = tuple(int(i) for i in np.asarray(start_action))
    found = pattern_search(
        lambda a: ConstantScore(a, tuple(run_trial(env, s, a) for s in scenes)),
        start,
        [int(n) for n in env.unwrapped.grid.nvec],
        rank=CONSTANT_OBJECTIVES[objective],
        radius=radius,
        max_evals=max_candidates,
        neighbourhood=neighbourhood,
    )
    return ConstantSearch(
        best=found.values[found.best],
        start=found.values[start],
        evaluated=list(found.values.values()),
        trials=len(found.values) * len(scenes),
        converged=found.converged,
        objective=objective,
    )
