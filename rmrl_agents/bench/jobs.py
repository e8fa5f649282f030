"""The one job function of the paper benchmark: train and evaluate one method on one (seed, cell).

:func:`execute` runs in a spawned worker process or as a Ray task alike; it writes its result to
``out/jobs/<key>.json`` atomically (a temporary file renamed into place) when it ends, so a killed
benchmark re-run with the same ``out`` skips it. Results are JSON-able dicts:

* a method: ``train_rewards`` (T,), ``place`` / ``shelf`` evaluation columns (see
  :meth:`~rmrl_agents.common.evaluation.EvaluationResult.columns`), ``budget`` (and RL100's OPE
  decisions, ``ope``);
* ``source``: the source run's labels and budget (and, with ablations, its policy evaluated on
  every evaluated cell: ``transfer``);
* ``references``: per reference policy the ``place`` / ``shelf`` columns, plus the random
  policy's chance of exceeding τ and the fitted constant (m, m, rad).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.bench.config import (
    ABLATION_KWARGS,
    CONTINUOUS,
    EVAL_POSES_SEED,
    EVAL_RESET_SEED,
    FIT_RESET_SEED,
    PLACE_ID,
    SHELF_ID,
    SHELF_POSES_SEED,
    USES_SOURCE,
    BenchConfig,
    Job,
    job_fingerprint,
    source_cell,
)
from rmrl_agents.common.env_util import make_env
from rmrl_agents.common.evaluation import PolicyLike, evaluate_policy, fixed_poses, reset_region
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


def cell_kwargs(cell: int | None, continuous: bool = False) -> dict[str, Any]:
    """The env keywords of ``cell`` (None: the default cell), with continuous actions if asked."""
    kwargs: dict[str, Any] = {"action_type": "continuous"} if continuous else {}
    if cell is not None:
        kwargs["cell_seed"] = cell
    return kwargs


def _recorder(limit: int) -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class RewardRecorder(BaseCallback):
        """Records every trial's reward and stops after ``limit`` trials (PPO would finish its rollout)."""

        def __init__(self) -> None:
            super().__init__()
            self.rewards: list[float] = []

        def _on_step(self) -> bool:
            self.rewards.extend(float(r) for r in self.locals["rewards"])
            return len(self.rewards) < limit

    return RewardRecorder()


def _sb3_policy_kwargs(trunk: dict[str, Any], heads: list[int], critic: str) -> dict[str, Any]:
    """SB3 policy keywords: our ResNet + pose trunk, the heads' hidden sizes for the actor and the
    critic (``"vf"`` for PPO's value net, ``"qf"`` for SAC's Q nets)."""
    from rmrl_agents.policies import PlateFeaturesExtractor

    return {
        "features_extractor_class": PlateFeaturesExtractor,
        "features_extractor_kwargs": trunk,
        "net_arch": {"pi": heads, critic: heads},
    }


def _sb3_model(method: str, env: Any, seed: int, cfg: BenchConfig, trunk: dict[str, Any], heads: list[int]) -> Any:
    """SB3's SAC or PPO with its heads (``heads`` sizes) on the shared trunk."""
    from stable_baselines3 import PPO, SAC

    if method == "SAC":
        return SAC(
            "MultiInputPolicy",
            env,
            gamma=0.0,  # one-step episodes: the target is the reward
            buffer_size=max(cfg.train_trials, 1),
            policy_kwargs=_sb3_policy_kwargs(trunk, heads, critic="qf"),
            seed=seed,
            learning_rate=cfg.learning_rate,
            device="cpu",
            **cfg.sac_kwargs,
        )
    return PPO(
        "MultiInputPolicy",
        env,
        n_steps=8,
        batch_size=8,
        n_epochs=4,
        gamma=0.0,  # one-step episodes: the return is the reward
        gae_lambda=1.0,
        policy_kwargs=_sb3_policy_kwargs(trunk, heads, critic="vf"),
        seed=seed,
        learning_rate=cfg.learning_rate,
        device="cpu",
    )


def make_model(method: str, env: Any, seed: int, cfg: BenchConfig, data_dir: Path, source: Path | None = None) -> Any:
    """The untrained model of a learning method (or an ablation) with the shared network.

    The rmrl agents take ``cfg.policy_kwargs`` as they are. PPO and SAC put SB3's heads
    (``head_hidden`` sizes) on the same trunk (:class:`~rmrl_agents.policies.PlateFeaturesExtractor`);
    SAC's critic has its own trunk (SB3's default). RL100 gets the trunk and keeps its own heads
    (denoiser, consistency head and critics) and learning rates; ``source`` is its prior data.
    """
    from rmrl_agents.algorithms import algorithm_class

    trunk = {k: v for k, v in cfg.policy_kwargs.items() if k != "head_hidden"}
    heads = list(cfg.policy_kwargs.get("head_hidden", (256,)))
    if method == "RL100":
        from rmrl_agents.rl100 import RL100

        prior = None if source is None else str(source)
        return RL100(
            "MultiInputPolicy",
            env,
            prior_data=prior,
            policy_kwargs=trunk,
            data_dir=str(data_dir),
            seed=seed,
            device="cpu",
            **cfg.rl100_kwargs,
        )
    if method in ("SAC", "PPO"):
        return _sb3_model(method, env, seed, cfg, trunk, heads)
    base = method.split("-")[0]  # RMRL-pretrained, RMRL-eq6 ... -> RMRL
    return algorithm_class(base)(
        "MultiInputPolicy",
        env,
        policy_kwargs=dict(cfg.policy_kwargs),
        data_dir=str(data_dir),
        seed=seed,
        learning_rate=cfg.learning_rate,
        device="cpu",
        **ABLATION_KWARGS.get(method, {}),
    )


def samples_per_step(method: str, model: Any) -> str:
    """What one gradient step of ``method`` averages over (from the model's settings)."""
    if method == "PPO":
        return f"{model.batch_size} trials ({model.n_epochs} epochs per {model.n_steps} trials)"
    if method == "SAC":
        return (
            f"≤{model.batch_size} replayed trials ({model.gradient_steps} update per {model.train_freq.frequency} trial "
            f"after {model.learning_starts}; actor, critic and entropy steps)"
        )
    if method == "RL100":
        return (
            f"≤{model.batch_size} transitions (imitation, critics, distillation, offline PPO); "
            f"online PPO on {model.online_batch_size}-trial batches"
        )
    if method.startswith("ReplayREINFORCE"):
        return f"≤{model.batch_size} replayed trials, every {model.train_freq} trial(s)"
    if method.startswith("REINFORCE"):
        return "1 trial"
    parts = ["1 trial (online)"] if model.online_updates else []
    parts.append(f"{model.scene_size} labels (scene CE)")
    if model.replay_freq:
        parts.append(f"≤{model.replay_batch_size} labels (replay every {model.replay_freq})")
    return ", ".join(parts)


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


def _evaluate(
    cfg: BenchConfig,
    cell: int | None,
    policy: Callable[[Any], PolicyLike],
    wrap: Callable[[Any], Any] | None = None,
    continuous: bool = False,
) -> dict[str, Any]:
    """Place and shelf evaluations on the cell's fixed poses; ``policy(env)`` gives the policy for an
    env (after ``wrap``, if given). The continuous envs have the same poses, scenes and metrics."""
    out = {}
    for name, env_id, n, poses_seed in (
        ("place", PLACE_ID, cfg.eval_poses, EVAL_POSES_SEED),
        ("shelf", SHELF_ID, cfg.shelf_trials, SHELF_POSES_SEED),
    ):
        env = make_env(env_id, cell_kwargs(cell, continuous))
        if wrap is not None:
            env = wrap(env)
        poses = fixed_poses(reset_region(env), n, poses_seed)
        out[name] = evaluate_policy(policy(env), env, poses=poses, seed=EVAL_RESET_SEED).columns()
        env.close()
    return out


def _train(cfg: BenchConfig, method: str, seed: int, cell: int | None, trials: int, run_dir: Path, source: Path | None) -> dict:
    """Train ``method`` for ``trials`` trials on ``cell`` (after pretraining on ``source``, or with it
    as RL100's prior data), then evaluate it."""
    env = make_env(PLACE_ID, cell_kwargs(cell, method in CONTINUOUS))
    result: dict[str, Any] = {"train_rewards": []}
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
            recorder = _recorder(trials)
            model.learn(trials, callback=recorder)
            result["train_rewards"] = recorder.rewards
    result["budget"] = {
        "online_trials": trials,
        "gradient_steps": steps.steps,
        "samples_per_step": samples_per_step(method, model),
    }
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
            res["transfer"] = {str(c): _evaluate(cfg, c, lambda env: model) for c in cfg.cells}
        return res
    source = None
    if job.method in USES_SOURCE:
        source = out / "runs" / f"source__s{job.seed}__cdefault"
        if not (source / "DONE").exists():
            raise RuntimeError(f"{job.key} needs the source run of seed {job.seed}, which has not finished ({source})")
    res = _train(cfg, job.method, job.seed, job.cell, cfg.online_trials(job.method), run_dir, source)
    model = res.pop("model")
    res.update(_evaluate(cfg, job.cell, lambda env: model, continuous=job.method in CONTINUOUS))
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


# -- reference policies ------------------------------------------------------------------------------


def best_constant(env: Any, n_fit: int) -> np.ndarray:
    """The mean oracle adjustment [Δx m, Δy m, Δψ rad] over ``n_fit`` training scenes of the env's cell."""
    from rmrl_env.info import privileged
    from rmrl_env.protocols import PlanarPose
    from rmrl_env.sim.oracle import oracle_adjustment

    adjs = []
    for k in range(n_fit):
        obs, info = env.reset(seed=FIT_RESET_SEED + k)
        est = PlanarPose.from_array(np.asarray(obs["pose"], dtype=np.float64))
        adjs.append(oracle_adjustment(env, est, PlanarPose.from_array(np.asarray(privileged(info)["true_pose"]))))
    return np.mean(adjs, axis=0)


def run_references(cfg: BenchConfig, cell: int | None) -> dict[str, Any]:
    """Zero, random, best constant (fitted on the cell's training scenes) and oracle on the cell."""
    import gymnasium as gym

    from rmrl_env.sim.oracle import oracle_action

    fit_env: Any = make_env(PLACE_ID, cell_kwargs(cell))
    constant = best_constant(fit_env, cfg.fit_scenes)
    rng = np.random.default_rng(0 if cell is None else cell + 1)
    nvec = fit_env.unwrapped.action_space.nvec
    chance = evaluate_policy(lambda obs: rng.integers(0, nvec), fit_env, cfg.random_trials, seed=FIT_RESET_SEED + cfg.fit_scenes)
    fit_env.close()

    class LastReset(gym.Wrapper):
        """Keeps the info of the last reset, for the oracle (analysis only)."""

        last_info: dict[str, Any] = {}

        def reset(self, **kwargs: Any) -> Any:
            obs, self.last_info = self.env.reset(**kwargs)
            return obs, self.last_info

    def policy(name: str) -> Callable[[Any], PolicyLike]:
        def make(env: Any) -> PolicyLike:
            if name == "zero":
                return None
            if name == "random":
                r = np.random.default_rng(1)
                return lambda obs: r.integers(0, nvec)
            if name == "constant":
                return lambda obs: env.unwrapped.grid.to_action(*constant, clip=True)
            return lambda obs: oracle_action(env, obs, env.last_info)[0]

        return make

    res: dict[str, Any] = {}
    for name in ("zero", "random", "constant", "oracle"):
        res[name] = _evaluate(cfg, cell, policy(name), wrap=LastReset if name == "oracle" else None)
    res["random_p_above_tau"] = float(np.mean(np.array(chance.columns()["reward"]) > cfg.tau))
    res["constant_adjustment"] = constant.tolist()
    res["budget"] = {"online_trials": 0, "gradient_steps": 0, "fit_scenes": cfg.fit_scenes}
    return res
