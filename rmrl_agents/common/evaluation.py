"""The one evaluation loop of the project (like SB3's ``evaluate_policy``), and fixed initial poses.

Used by ``rmrl eval``, the paper benchmark, ``benchmarks/sim_to_real.py`` and the tests::

    result = evaluate_policy(model, env, n_eval_episodes=10, seed=0)     # new scenes
    poses = fixed_poses(reset_region(env), n=12, seed=2026)
    result = evaluate_policy(None, env, poses=poses, seed=10_000)         # zero adjustment, fixed poses
    result.means()["e_trans_mm"], result.columns()["reward"]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from rmrl_agents.common.info import as_float, failure_code
from rmrl_env.cell import Region
from rmrl_env.info import privileged

Observation = dict[str, np.ndarray]


class Predictor(Protocol):
    """Anything with SB3's ``predict`` (the rmrl agents, SB3 algorithms)."""

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False) -> Any: ...


#: a model with ``predict``, a function observation → grid action, or None (the zero adjustment)
PolicyLike = Predictor | Callable[[Observation], np.ndarray] | None

METRICS = ("reward", "e_trans_mm", "e_rot_deg", "success", "true_e_trans_mm", "true_e_rot_deg")


@dataclass(frozen=True)
class Episode:
    """One evaluation trial.

    Attributes:
        reward: r in [0, 1].
        e_trans_mm, e_rot_deg: the placement error as the env measured it (NaN: not measured).
        success: the task succeeded (plate seated).
        failure: the routine's failure code, or None.
        action: the action taken (grid indices, or the continuous action in [-1, 1]).
        initial_pose: the fixed initial pose asked for, [x m, y m, yaw rad] (None: a new scene).
        true_e_trans_mm, true_e_rot_deg: the simulator's true error (NaN off the sim).
        plate_type: the plate's type where the env knows it (the sim: ``privileged``), else None.
    """

    reward: float
    e_trans_mm: float
    e_rot_deg: float
    success: bool
    failure: str | None
    action: list[int] | list[float]
    initial_pose: list[float] | None = None
    true_e_trans_mm: float = math.nan
    true_e_rot_deg: float = math.nan
    plate_type: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    """The episodes of one evaluation, in order."""

    episodes: list[Episode]

    def __len__(self) -> int:
        return len(self.episodes)

    def column(self, name: str) -> np.ndarray:
        """One metric over the episodes, float64 (N,); NaN where not measured."""
        return np.array([as_float(getattr(e, name)) for e in self.episodes], dtype=np.float64)

    def columns(self) -> dict[str, list[Any]]:
        """Every metric of :data:`METRICS` as a list over the episodes (success as 0.0 / 1.0), the
        actions taken, and ``plate_type`` where the env tells it."""
        out: dict[str, list[Any]] = {name: self.column(name).tolist() for name in METRICS}
        out["action"] = [list(e.action) for e in self.episodes]
        if any(e.plate_type is not None for e in self.episodes):
            out["plate_type"] = [e.plate_type for e in self.episodes]
        return out

    def means(self) -> dict[str, float]:
        """Mean of every metric over the episodes, ignoring NaN (NaN if none was measured)."""
        out = {}
        for name in METRICS:
            values = self.column(name)
            finite = values[np.isfinite(values)]
            out[name] = float(finite.mean()) if finite.size else math.nan
        return out

    def records(self) -> list[dict[str, Any]]:
        """The episodes as JSON-able dicts (NaN, i.e. not measured, as None)."""
        return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(e).items()} for e in self.episodes]


def _action_fn(policy: PolicyLike, env: gym.Env, deterministic: bool) -> Callable[[Observation], np.ndarray]:
    if policy is None:
        grid = getattr(env.unwrapped, "grid", None)
        if grid is None:
            raise ValueError(f"the zero-adjustment policy needs an env with a candidate grid; {env.unwrapped} has none")
        zero = np.asarray(grid.zero_action())
        return lambda obs: zero
    predict = getattr(policy, "predict", None)
    if predict is not None:
        return lambda obs: np.asarray(predict(obs, deterministic=deterministic)[0])
    if callable(policy):
        return lambda obs: np.asarray(policy(obs))
    raise TypeError(f"policy must have predict(), be a function of the observation, or be None; got {type(policy).__name__}")


def evaluate_policy(
    policy: PolicyLike,
    env: gym.Env,
    n_eval_episodes: int | None = None,
    *,
    poses: np.ndarray | Sequence[Sequence[float]] | None = None,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    deterministic: bool = True,
    progress_bar: bool = False,
) -> EvaluationResult:
    """Run ``policy`` for one-step episodes of a cell-plate env and collect what each measured.

    Either ``n_eval_episodes`` new scenes (the env is seeded once with ``seed``: the same seed
    gives the same scenes), or one episode per fixed initial pose of ``poses`` (N, 3) [x m, y m,
    yaw rad] (episode i resets with seed ``seed + i``, or ``seeds[i]`` when given, so every policy
    meets the same sensor noise and plate at each pose: :func:`balanced_scenes` gives both).

    :param policy: a model with ``predict``, a function observation → action, or None (the zero
        adjustment of the env's grid: the floor every method should beat).
    :param deterministic: passed to ``predict`` (the most likely action).
    :raises ValueError: neither or both of ``n_eval_episodes`` and ``poses``; a count < 1;
        ``seeds`` without ``poses`` or of another length.
    """
    if (n_eval_episodes is None) == (poses is None):
        raise ValueError("give either n_eval_episodes (new scenes) or poses (fixed initial poses), not both or neither")
    if seeds is not None and (poses is None or len(seeds) != len(poses)):
        raise ValueError(
            f"seeds gives one reset seed per fixed pose: {0 if seeds is None else len(seeds)} seeds for "
            f"{0 if poses is None else len(poses)} poses"
        )
    act = _action_fn(policy, env, deterministic)
    initial = None if poses is None else np.asarray(poses, dtype=np.float64).reshape(-1, 3)
    n = len(initial) if initial is not None else int(n_eval_episodes or 0)
    if n < 1:
        raise ValueError(f"evaluate at least one episode, got {n}")
    episodes = []
    obs: Observation | None = None
    for i in tqdm(range(n), desc="eval", unit="trial", disable=not progress_bar):
        if initial is not None:
            obs, _ = env.reset(seed=seed + i if seeds is None else int(seeds[i]), options={"initial_pose": initial[i].tolist()})
        elif obs is None:
            obs, _ = env.reset(seed=seed)
        assert obs is not None
        action = act(obs)
        _, reward, _, _, info = env.step(action)
        truth = privileged(info)
        episodes.append(
            Episode(
                reward=float(reward),
                e_trans_mm=as_float(info.get("e_trans_mm")),
                e_rot_deg=as_float(info.get("e_rot_deg")),
                success=bool(info.get("success", False)),
                failure=failure_code(info),
                action=np.asarray(action).reshape(-1).tolist(),
                initial_pose=None if initial is None else initial[i].tolist(),
                true_e_trans_mm=as_float(truth.get("true_e_trans_mm")),
                true_e_rot_deg=as_float(truth.get("true_e_rot_deg")),
                plate_type=truth.get("plate_type") if isinstance(truth.get("plate_type"), str) else None,
            )
        )
        if initial is None:
            obs, _ = env.reset()
    return EvaluationResult(episodes)


def fixed_poses(region: Region, n: int, seed: int) -> np.ndarray:
    """``n`` initial poses [x m, y m, yaw rad], shape (n, 3), drawn uniformly in ``region``, reproducibly."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(*region.x_m, n), rng.uniform(*region.y_m, n), rng.uniform(*region.yaw_rad, n)])


@dataclass(frozen=True)
class Scenes:
    """Fixed evaluation scenes: initial poses (n, 3) [x m, y m, yaw rad], each one's reset seed and
    the plate type the env staged there (None where the env does not tell)."""

    poses: np.ndarray
    seeds: list[int]
    plate_types: list[str | None]


def balanced_scenes(env: gym.Env, n: int, poses_seed: int, reset_seed: int, types: Sequence[str] | None = None) -> Scenes:
    """``n`` fixed evaluation scenes with each plate type equally often (the remainder to the first
    types, in sorted order).

    Candidate j is pose j of ``fixed_poses(region, 8 n, poses_seed)`` reset with seed
    ``reset_seed + j`` (the env draws the plate's type from the seed); candidates are taken in
    order while their type's quota is open, so the scenes are the same on every call. ``types``
    default to the env's plate mix (``backend.description["plate_mix"]``).

    :raises ValueError: an env that does not report the plate type (``info["privileged"]``), no
        known types, or 8 n candidates without filling every quota (a type the mix seldom stages).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if types is None:
        description = getattr(getattr(env.unwrapped, "backend", None), "description", None) or {}
        types = sorted(description.get("plate_mix") or ())
    if not types:
        raise ValueError(f"{env.unwrapped} names no plate types to balance over: give types=[...]")
    quota = {t: n // len(types) + (k < n % len(types)) for k, t in enumerate(sorted(types))}
    candidates = fixed_poses(reset_region(env), 8 * n, poses_seed)
    picked: list[int] = []
    found: list[str] = []
    for j, pose in enumerate(candidates):
        _, info = env.reset(seed=reset_seed + j, options={"initial_pose": pose.tolist()})
        kind = privileged(info).get("plate_type")
        if not isinstance(kind, str):
            raise ValueError(f"{env.unwrapped} does not report the plate type in info['privileged']: cannot balance over types")
        if quota.get(kind, 0) > 0:
            quota[kind] -= 1
            picked.append(j)
            found.append(kind)
            if not any(quota.values()):
                return Scenes(candidates[picked], [reset_seed + j for j in picked], list(found))
    raise ValueError(f"{8 * n} candidate scenes left these plate-type quotas unfilled: {quota}; the env's mix seldom stages them")


def reset_region(env: gym.Env) -> Region:
    """The region an env draws new initial poses from (its backend's layout, or its own attribute)."""
    inner = env.unwrapped
    backend = getattr(inner, "backend", None)
    region = backend.layout.reset_region if backend is not None else getattr(inner, "reset_region", None)
    if not isinstance(region, Region):
        raise ValueError(f"{inner} has no reset region (neither backend.layout.reset_region nor reset_region)")
    return region
