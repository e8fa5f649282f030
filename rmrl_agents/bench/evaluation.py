"""How the benchmark evaluates a policy: fixed scenes per cell and task, balanced over plate types,
at the end of training and at checkpoints during it.

* :func:`evaluate_on_cell`: the place and shelf evaluations of one cell, on the same scenes for
  every method (pose, reset seed and plate type: :func:`~rmrl_agents.common.evaluation.balanced_scenes`);
* :class:`CheckpointEvaluation`: an SB3 callback that runs the place evaluation after given numbers
  of training trials, for learning curves of the true error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rmrl_agents.bench.config import EVAL_POSES_SEED, EVAL_RESET_SEED, PLACE_ID, SHELF_ID, SHELF_POSES_SEED, BenchConfig
from rmrl_agents.common.env_util import make_env
from rmrl_agents.common.evaluation import PolicyLike, Scenes, balanced_scenes, evaluate_policy

#: each task's env id, and the seed of its candidate poses
TASKS = {"place": (PLACE_ID, EVAL_POSES_SEED), "shelf": (SHELF_ID, SHELF_POSES_SEED)}
_SCENES: dict[tuple[str, int | None, int], Scenes] = {}


def cell_kwargs(cell: int | None, continuous: bool = False) -> dict[str, Any]:
    """The env keywords of ``cell`` (None: the default cell), with continuous actions if asked."""
    kwargs: dict[str, Any] = {"action_type": "continuous"} if continuous else {}
    if cell is not None:
        kwargs["cell_seed"] = cell
    return kwargs


def learner_env(cfg: BenchConfig, env_id: str, cell: int | None, continuous: bool = False) -> Any:
    """The env a learner trains and is evaluated on: the cell's, showing the crop as the image if
    ``cfg.observation`` asks for it (:class:`~rmrl_agents.common.wrappers.PlateCropAsImage`)."""
    if cfg.observation == "plate_crop":
        from rmrl_agents.common.wrappers import PlateCropAsImage

        return PlateCropAsImage(make_env(env_id, {**cell_kwargs(cell, continuous), "plate_crop": True}))
    return make_env(env_id, cell_kwargs(cell, continuous))


def eval_scenes(env: Any, task: str, cell: int | None, n: int) -> Scenes:
    """The ``n`` evaluation scenes of ``task`` on ``cell`` (found once per process: the plate types
    are read by resetting ``env``, which any env of that cell and task stages alike)."""
    key = (task, cell, n)
    if key not in _SCENES:
        _SCENES[key] = balanced_scenes(env, n, TASKS[task][1], EVAL_RESET_SEED)
    return _SCENES[key]


def evaluate_on_cell(
    cfg: BenchConfig,
    cell: int | None,
    policy: Callable[[Any], PolicyLike],
    wrap: Callable[[Any], Any] | None = None,
    continuous: bool = False,
    learner: bool = False,
    tasks: Sequence[str] = ("place", "shelf"),
) -> dict[str, Any]:
    """The evaluation columns of each task on the cell's fixed scenes; ``policy(env)`` gives the
    policy for an env (after ``wrap``, if given). The continuous envs have the same scenes."""
    out = {}
    for task in tasks:
        env_id = TASKS[task][0]
        n = cfg.eval_poses if task == "place" else cfg.shelf_trials
        env = learner_env(cfg, env_id, cell, continuous) if learner else make_env(env_id, cell_kwargs(cell, continuous))
        if wrap is not None:
            env = wrap(env)
        scenes = eval_scenes(env, task, cell, n)
        out[task] = evaluate_policy(policy(env), env, poses=scenes.poses, seeds=scenes.seeds).columns()
        env.close()
    return out


def checkpoint_evaluation(cfg: BenchConfig, cell: int | None, continuous: bool, trials: int) -> Any:
    """An SB3 callback that runs the place evaluation of its model after each of
    ``cfg.eval_checkpoints`` below ``trials`` training trials (the final one is the job's own).

    Its ``results`` map a trial count to the place columns. The policy's training mode is
    restored after each evaluation, so training goes on as it would have.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    due = sorted(c for c in set(cfg.eval_checkpoints) if 0 < c < trials)

    class CheckpointEvaluation(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.results: dict[int, dict[str, Any]] = {}

        def _on_step(self) -> bool:
            while due and self.num_timesteps >= due[0]:
                self._evaluate(due.pop(0))
            return True

        def _evaluate(self, at: int) -> None:
            policy = getattr(self.model, "policy", None)
            was_training = getattr(policy, "training", None)
            res = evaluate_on_cell(cfg, cell, lambda env: self.model, continuous=continuous, learner=True, tasks=("place",))
            if policy is not None and was_training is not None:
                policy.set_training_mode(was_training)
            self.results[at] = res["place"]

    return CheckpointEvaluation()
