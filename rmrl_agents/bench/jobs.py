"""The one job function of the paper benchmark: train and evaluate one method on one (seed, cell).

:func:`execute` runs in a spawned worker process or as a Ray task alike; it writes its result to
``out/jobs/<key>.json`` atomically (a temporary file renamed into place) when it ends, so a killed
benchmark re-run with the same ``out`` skips it. Results are JSON-able dicts:

* a method: ``train_rewards`` (T,), ``place`` / ``shelf`` evaluation columns (see
  :meth:`~rmrl_agents.common.evaluation.EvaluationResult.columns`), ``budget`` (and RL100's OPE
  decisions, ``ope``);
* ``source``: the source run's labels and budget (and, with ablations, its policy evaluated on
  every evaluated cell: ``transfer``);
* ``references``: per reference row the ``place`` / ``shelf`` columns, plus the random policy's
  chance of exceeding τ, the constants and the searches (:mod:`rmrl_agents.bench.reference_rows`).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.bench.config import (
    CONTINUOUS,
    PLACE_ID,
    USES_SOURCE,
    BenchConfig,
    Job,
    job_fingerprint,
    source_cell,
)
from rmrl_agents.bench.evaluation import checkpoint_evaluation, evaluate_on_cell, learner_env
from rmrl_agents.bench.models import make_model, samples_per_step
from rmrl_agents.bench.reference_rows import run_references
from rmrl_agents.stores.dataset import as_dataset
from rmrl_agents.stores.files import write_json_atomic


def result_path(out: Path, job: Job) -> Path:
    return out / "jobs" / f"{job.key}.json"


def load_done(out: Path, job: Job, fingerprint: str) -> dict[str, Any] | None:
    """The stored result of ``job`` if it finished with the same settings (``fingerprint``, see
    :func:`~rmrl_agents.bench.config.job_fingerprint`), else None."""
    path = result_path(out, job)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data if data.get("fingerprint") == fingerprint else None


def _recorder(limit: int) -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class RewardRecorder(BaseCallback):
        """Records every trial's reward and action and stops after ``limit`` trials (PPO would
        finish its rollout)."""

        def __init__(self) -> None:
            super().__init__()
            self.rewards: list[float] = []
            self.actions: list[list[float]] = []

        def _on_step(self) -> bool:
            rewards = [float(r) for r in self.locals["rewards"]]
            self.rewards.extend(rewards)
            # as the env took them: grid indices stay integers, continuous actions floats (as_grid_actions tells them apart by type)
            self.actions.extend(np.asarray(self.locals["actions"]).reshape(len(rewards), -1).tolist())
            return len(self.rewards) < limit

    return RewardRecorder()


class _StepCounter:
    """Counts optimizer steps of every torch optimizer while active (the gradient steps of a job)."""

    def __enter__(self) -> _StepCounter:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self.steps = 0

        def hook(*_: Any) -> None:
            self.steps += 1

        self._handle = register_optimizer_step_post_hook(hook)
        return self

    def __exit__(self, *_: Any) -> None:
        self._handle.remove()


def _train(cfg: BenchConfig, method: str, seed: int, cell: int | None, trials: int, run_dir: Path, source: Path | None) -> dict:
    """Train ``method`` for ``trials`` trials on ``cell`` (after pretraining on ``source``, or with it
    as RL100's prior data), then evaluate it."""
    env = learner_env(cfg, PLACE_ID, cell, method in CONTINUOUS)
    result: dict[str, Any] = {"train_rewards": []}
    train_actions: list[list[float]] = []
    if source is not None and len(as_dataset(source)) == 0:
        # Every source scene failed (reward 0): nothing to imitate; the method starts from scratch.
        result["pretrain"] = {"n_labels": 0, "skipped": "the source run labelled no scene: every scene's best reward was 0"}
        source = None
    model = make_model(method, env, seed, cfg, run_dir, source if method == "RL100" else None)
    with _StepCounter() as steps:
        if source is not None and method != "RL100":
            with warnings.catch_warnings():  # the source run is on another cell by design (transfer)
                warnings.filterwarnings("ignore", message=".*made on another env config")
                result["pretrain"] = model.pretrain(source)
        if trials > 0:
            from stable_baselines3.common.callbacks import CallbackList

            recorder = _recorder(trials)
            checkpoints = checkpoint_evaluation(cfg, cell, method in CONTINUOUS, trials)
            model.learn(trials, callback=CallbackList([recorder, checkpoints]))
            result["train_rewards"] = recorder.rewards
            train_actions = recorder.actions[:trials]
            result["checkpoints"] = {str(k): v for k, v in sorted(checkpoints.results.items())}
    result["budget"] = {
        "online_trials": trials,
        "gradient_steps": steps.steps,
        "samples_per_step": samples_per_step(method, model),
    }
    from rmrl_agents.common.exploration import as_grid_actions, exploration_windows, record_entropies
    from rmrl_agents.common.grid_algorithm import GridAlgorithm

    if isinstance(model, GridAlgorithm):  # with the policy's entropy per head
        records = model.trial_log.records[model.log_start :]
        actions = model.trial_log.actions()[model.log_start :]
        result["exploration"] = exploration_windows(actions, record_entropies(records))
    elif train_actions:  # the training actions the callback saw (continuous: their nearest grid action)
        result["exploration"] = exploration_windows(as_grid_actions(train_actions))
    if hasattr(model, "close_storage"):
        result["labels"] = len(model.dataset) if method.startswith("RMRL") else None
        model.close_storage()
    if method == "RL100":  # evaluated by ``predict``'s default sampler
        result["ope"] = list(model.ope_decisions)
        result["sampler"] = f"{model.n_denoising_steps}-step DDIM"
    env.close()
    result["model"] = model
    return result


def run_job(cfg: BenchConfig, job: Job, out: Path) -> dict[str, Any]:
    """Run one job and return its result (not yet written)."""
    import torch

    torch.set_num_threads(1)
    run_dir = out / "runs" / job.key
    shutil.rmtree(run_dir, ignore_errors=True)  # what a killed attempt of this job left
    if job.method == "references":
        return run_references(cfg, job.cell)
    assert job.seed is not None
    if job.method == "source":
        res = _train(cfg, "RMRL", 10_000 + job.seed, source_cell(job.seed), cfg.pretrain_trials, run_dir, None)
        model = res.pop("model")
        res["cell"] = source_cell(job.seed)
        if "RMRL-transfer" in cfg.all_methods:
            res["transfer"] = {str(c): evaluate_on_cell(cfg, c, lambda env: model, learner=True) for c in cfg.cells}
        return res
    source = None
    if job.method in USES_SOURCE:
        source = out / "runs" / f"source__s{job.seed}__cdefault"
        if not (source / "DONE").exists():
            raise RuntimeError(f"{job.key} needs the source run of seed {job.seed}, which has not finished ({source})")
    res = _train(cfg, job.method, job.seed, job.cell, cfg.online_trials(job.method), run_dir, source)
    model = res.pop("model")
    if job.method == "RL100":  # also its imitation-only checkpoint on the same poses, and the head's gap
        from rmrl_agents.rl100.evaluation import HeadGap, action_scale

        gaps: list[HeadGap] = []

        def with_gap(env: Any) -> HeadGap:
            gaps.append(HeadGap(model, action_scale(env)))
            return gaps[-1]

        res.update(evaluate_on_cell(cfg, job.cell, with_gap, continuous=True, learner=True))
        res["consistency_gap"] = gaps[0].summary()  # on the place poses
        if model.imitation_policy is not None:
            res["imitation"] = evaluate_on_cell(cfg, job.cell, lambda env: model.imitation_policy, continuous=True, learner=True)
    else:
        res.update(evaluate_on_cell(cfg, job.cell, lambda env: model, continuous=job.method in CONTINUOUS, learner=True))
    if source is not None:
        res["budget"]["source_trials"] = cfg.pretrain_trials
    shutil.rmtree(run_dir, ignore_errors=True)  # trial logs with images: large, and not needed after
    return res


_WATCHED: list[int] = []


def _exit_with_parent() -> None:
    """Once per worker process: end it when its parent (the benchmark) is gone, not run on as an orphan."""
    if _WATCHED:
        return
    parent = os.getppid()
    _WATCHED.append(parent)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def execute(cfg: BenchConfig, job: Job, out: Path) -> dict[str, Any]:
    """The job function of the pool and of Ray: run ``job`` and store its result atomically."""
    _exit_with_parent()
    os.environ.setdefault("MUJOCO_GL", "egl")
    res = run_job(cfg, job, out)
    if job.method == "source":
        (out / "runs" / job.key / "DONE").write_text(str(res.get("labels")))
    data = {
        "job": job.key,
        "method": job.method,
        "seed": job.seed,
        "cell": job.cell,
        "fingerprint": job_fingerprint(cfg, job),
        **res,
    }
    write_json_atomic(result_path(out, job), data)
    return data
