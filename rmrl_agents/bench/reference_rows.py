"""The benchmark's reference rows of one cell, each named for what it is.

* ``zero``: no adjustment; ``random``: a uniformly random grid action.
* ``mean-oracle constant``: the mean geometric-oracle adjustment over the cell's fit scenes
  (ground truth), snapped to the grid.
* ``reward-optimal constant``: the grid constant with the highest mean reward over the fit scenes
  (:func:`~rmrl_agents.bench.references.reward_optimal_constant`, from the mean-oracle constant):
  the best a reward-only constant could reach there.
* ``error-optimal constant``: the same search ranked by the ground truth (most seated plates, then
  the smallest mean true e_trans): the reward is measured by the camera, so the two can differ.
* ``geometric oracle``: per scene, the adjustment that puts the true grasp centre on the plate's
  true pose (:func:`~rmrl_env.sim.oracle.oracle_action`).
* ``reward-optimal oracle``: per evaluation scene, the best grid action by true outcome, found by a
  local search from the geometric oracle with the scene re-created for every candidate
  (:func:`~rmrl_agents.bench.references.reward_optimal_oracle`); its coverage is reported.

The constants are fitted on scenes no evaluation uses; the oracles read each evaluation scene's
ground truth, which no policy sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rmrl_agents.bench.config import FIT_RESET_SEED, PLACE_ID, REFERENCES, BenchConfig
from rmrl_agents.bench.evaluation import TASKS, cell_kwargs, eval_scenes, evaluate_on_cell
from rmrl_agents.bench.references import Scene, reward_optimal_constant, reward_optimal_oracle, scripted_policy
from rmrl_agents.common.env_util import make_env
from rmrl_agents.common.evaluation import PolicyLike, evaluate_policy

#: what each constant search ranks by (:data:`~rmrl_agents.bench.references.CONSTANT_OBJECTIVES`)
CONSTANT_SEARCHES = {"reward-optimal constant": "reward", "error-optimal constant": "true_e_trans"}


def fit_scene_oracles(env: Any, n_fit: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """On the cell's first ``n_fit`` fit scenes: P^e [x m, y m, yaw rad] (n, 3), the plate types, and
    the geometric-oracle adjustments [Δx m, Δy m, Δψ rad] (n, 3) (ground truth)."""
    from rmrl_env.info import privileged
    from rmrl_env.protocols import PlanarPose
    from rmrl_env.sim.oracle import oracle_adjustment

    poses, types, adjs = [], [], []
    for k in range(n_fit):
        obs, info = env.reset(seed=FIT_RESET_SEED + k)
        est = np.asarray(obs["pose"], dtype=np.float64)
        truth = privileged(info)
        poses.append(est)
        types.append(str(truth.get("plate_type")))
        adjs.append(oracle_adjustment(env, PlanarPose.from_array(est), PlanarPose.from_array(np.asarray(truth["true_pose"]))))
    return np.array(poses), types, np.array(adjs)


def mean_oracle_constant(env: Any, n_fit: int) -> np.ndarray:
    """The mean geometric-oracle adjustment [Δx m, Δy m, Δψ rad] over ``n_fit`` fit scenes of the env's cell."""
    return np.mean(fit_scene_oracles(env, n_fit)[2], axis=0)


class LastReset(gym.Wrapper):
    """Keeps the info of the last reset, for the geometric oracle (analysis only)."""

    last_info: dict[str, Any] = {}

    def reset(self, **kwargs: Any) -> Any:
        obs, self.last_info = self.env.reset(**kwargs)
        return obs, self.last_info


def _oracle_searches(cfg: BenchConfig, cell: int | None) -> tuple[dict[str, list[list[int]]], dict[str, Any]]:
    """Per task, the reward-optimal oracle's action on each evaluation scene, and the searches' coverage."""
    actions: dict[str, list[list[int]]] = {}
    coverage: dict[str, Any] = {}
    for task, (env_id, _) in TASKS.items():
        env = make_env(env_id, cell_kwargs(cell))
        n = cfg.eval_poses if task == "place" else cfg.shelf_trials
        scenes = eval_scenes(env, task, cell, n)
        found = [
            reward_optimal_oracle(env, Scene(seed, {"initial_pose": pose.tolist()}), max_trials=cfg.oracle_max_trials)
            for seed, pose in zip(scenes.seeds, scenes.poses, strict=True)
        ]
        env.close()
        actions[task] = [list(f.best.action) for f in found]
        coverage[task] = {
            "trials_per_scene": float(np.mean([f.coverage.evaluated for f in found])),
            "share_of_grid": float(np.mean([f.coverage.share_of_grid for f in found])),
            "share_of_box": float(np.mean([f.coverage.share_of_box for f in found])),
            "box_radius_steps": found[0].coverage.radius,
            "converged_share": float(np.mean([f.converged for f in found])),
        }
    return actions, coverage


def _scripted(actions: list[list[int]]) -> Callable[[Any], PolicyLike]:
    return lambda env: scripted_policy(actions)


def run_references(cfg: BenchConfig, cell: int | None) -> dict[str, Any]:
    """Every reference row of :data:`REFERENCES` on the cell's evaluation scenes, the constants'
    searches and the oracle search's coverage."""
    fit_env: Any = make_env(PLACE_ID, cell_kwargs(cell))
    grid = fit_env.unwrapped.grid
    mean_oracle = mean_oracle_constant(fit_env, cfg.fit_scenes)
    start = grid.to_action(*mean_oracle, clip=True)
    fit = [Scene(FIT_RESET_SEED + k) for k in range(cfg.fit_scenes)]
    constants: dict[str, Any] = {"mean-oracle constant": np.asarray(start)}
    searches: dict[str, Any] = {}
    for name, objective in CONSTANT_SEARCHES.items():
        found = reward_optimal_constant(fit_env, fit, start, objective=objective, max_candidates=cfg.constant_max_candidates)
        constants[name] = np.asarray(found.best.action)
        searches[name] = found.as_dict()
    rng = np.random.default_rng(0 if cell is None else cell + 1)
    nvec = grid.nvec
    chance = evaluate_policy(lambda obs: rng.integers(0, nvec), fit_env, cfg.random_trials, seed=FIT_RESET_SEED + cfg.fit_scenes)
    fit_env.close()
    oracle_actions, coverage = _oracle_searches(cfg, cell)

    def policy(name: str) -> Callable[[Any], PolicyLike]:
        def make(env: Any) -> PolicyLike:
            if name == "zero":
                return None
            if name == "random":
                r = np.random.default_rng(1)
                return lambda obs: r.integers(0, nvec)
            if name in constants:
                action: np.ndarray = constants[name]
                return lambda obs: action
            from rmrl_env.sim.oracle import oracle_action

            return lambda obs: oracle_action(env, obs, env.last_info)[0]

        return make

    res: dict[str, Any] = {}
    for name in REFERENCES:
        if name == "reward-optimal oracle":  # each scene's searched action, in the scenes' order
            res[name] = {}
            for task, searched in oracle_actions.items():
                res[name][task] = evaluate_on_cell(cfg, cell, _scripted(searched), tasks=(task,))[task]
        else:
            res[name] = evaluate_on_cell(cfg, cell, policy(name), wrap=LastReset if name == "geometric oracle" else None)
    res["random_p_above_tau"] = float(np.mean(np.array(chance.columns()["reward"]) > cfg.tau))
    res["constant_adjustment"] = mean_oracle.tolist()
    res["constants"] = {name: [int(i) for i in a] for name, a in constants.items()}
    res["searches"] = {**searches, "reward-optimal oracle": coverage}
    res["budget"] = {"online_trials": 0, "gradient_steps": 0, "fit_scenes": cfg.fit_scenes}
    return res
