"""The paper's experiments (Tables 1-3, Fig. 5) on the simulated cell: paired (seed, cell) runs.

Methods (:data:`~rmrl_agents.bench.config.METHODS`), all on the same (seed, cell) pairs with the
same network and evaluation poses:

* ``REINFORCE``, ``ReplayREINFORCE``, ``RMRL``: the rmrl agents with the ResNet policy;
* ``RMRL-pretrained``: RMRL after cross-entropy pretraining on the role-model labels of the
  seed's source run, an RM-RL run on *another* cell; then the full online budget;
* ``RMRL-pretrained-equal``: the same, with online trials cut so source + online trials equal
  every other method's budget;
* ``PPO``: Stable-Baselines3's PPO with the same ResNet + pose-MLP trunk;
* ``RL100``: the diffusion policy on the continuous envs, its prior data the role-model labels of
  the seed's source run (mapped to continuous actions); evaluated with its default sampler (DDIM);
* ``SAC``: Stable-Baselines3's SAC on the continuous envs with the same trunk;
* ``calibration``: the reward-only offset calibration (no network);
* ``RMRL-paper``, ``RMRL-pretrained-paper``: the paper's two methods in the paper's recipe
  (:mod:`rmrl_agents.recipes`), beside their improved defaults;

and the reference rows per cell (:mod:`rmrl_agents.bench.reference_rows`: zero, random, the
constants and the oracles, each named for what it is). Jobs run in a local process pool (spawn) or as Ray tasks, both on
:func:`~rmrl_agents.bench.jobs.execute`; a re-run with the same ``out`` skips finished jobs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rmrl_agents.bench.config import (
    EVAL_POSES_SEED,
    EVAL_RESET_SEED,
    FULL,
    METHODS,
    PLACE_ID,
    QUICK,
    REFERENCES,
    SHELF_ID,
    SHELF_POSES_SEED,
    USES_SOURCE,
    BenchConfig,
    Job,
    job_fingerprint,
    jobs,
)
from rmrl_agents.bench.jobs import execute, load_done

__all__ = [
    "EVAL_POSES_SEED",
    "EVAL_RESET_SEED",
    "FULL",
    "METHODS",
    "PLACE_ID",
    "QUICK",
    "REFERENCES",
    "SHELF_ID",
    "SHELF_POSES_SEED",
    "BenchConfig",
    "config_for",
    "run",
]

Submit = Callable[[BenchConfig, Job, Path], "Future[dict[str, Any]]"]


class LocalPool:
    """A process pool of spawned workers (a MuJoCo GL context does not survive fork)."""

    def __init__(self, workers: int) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        os.environ.setdefault("MUJOCO_GL", "egl")
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))

    def submit(self, cfg: BenchConfig, job: Job, out: Path) -> Future[dict[str, Any]]:
        return self.pool.submit(execute, cfg, job, out)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayPool:
    """The same job function as Ray tasks (one CPU each) on a cluster at ``address`` ("auto", "local" or host:port).

    Uses an already initialised Ray if there is one. Every node needs this package installed and a
    shared filesystem at ``out`` (each task writes its result there).
    """

    def __init__(self, address: str) -> None:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("--ray needs Ray: pip install 'rmrl[cluster]'") from exc
        self.ray = ray
        self.owned = not ray.is_initialized()
        if self.owned:
            try:
                ray.init(address=address, runtime_env={"env_vars": {"MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}})
            except ConnectionError as err:  # the CLI shows it as one line
                raise ConnectionError(f"--ray {address}: {err}; check the address (the head node prints it)") from None
        self.task = ray.remote(num_cpus=1)(execute)

    def submit(self, cfg: BenchConfig, job: Job, out: Path) -> Future[dict[str, Any]]:
        return self.task.remote(cfg, job, out).future()

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()


def run(cfg: BenchConfig, out: Path, show_progress: bool = True, ray_address: str | None = None) -> dict[str, Any]:
    """Run every job not already finished in ``out`` (resume) and return the raw results.

    Source runs go first; each seed's pretrained jobs start when its source run has finished.
    Results: ``{"config", "jobs": {key: result}, "wall_s", "reused_jobs", "machine"}`` (``wall_s``: this
    call only; ``reused_jobs``: jobs found finished in ``out``).
    """
    from tqdm.auto import tqdm

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    todo = jobs(cfg)
    results: dict[str, dict[str, Any]] = {}
    for job in todo:
        done = load_done(out, job, job_fingerprint(cfg, job))
        if done is not None:
            results[job.key] = done
    pending = [j for j in todo if j.key not in results]
    n_pending = len(pending)
    bar = tqdm(
        total=round(sum(j.cost(cfg) for j in todo)),
        initial=round(sum(j.cost(cfg) for j in todo if j.key in results)),
        desc=f"{len(todo)} jobs ({len(results)} done before)",
        unit="step",
        disable=not show_progress,
        smoothing=0.05,
    )
    pool: LocalPool | RayPool = RayPool(ray_address) if ray_address else LocalPool(cfg.workers)
    t0 = time.perf_counter()
    running: dict[Future[dict[str, Any]], Job] = {}

    def ready(job: Job) -> bool:
        """A job that starts from its seed's source run (pretrained RM-RL, RL100) waits for it."""
        return job.method not in USES_SOURCE or Job("source", job.seed, None).key in results

    try:
        while pending or running:
            for job in [j for j in pending if ready(j)]:
                running[pool.submit(cfg, job, out)] = job
                pending.remove(job)
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                job = running.pop(fut)
                results[job.key] = fut.result()
                bar.update(round(job.cost(cfg)))
    finally:
        bar.close()
        pool.close()
    return {
        "config": {**asdict(cfg), "tau": cfg.tau, "all_methods": list(cfg.all_methods), "references": list(REFERENCES)},
        "jobs": results,
        "wall_s": time.perf_counter() - t0,
        "reused_jobs": len(todo) - n_pending,
        "machine": {"cpus": os.cpu_count(), "backend": f"ray {ray_address}" if ray_address else f"{cfg.workers} processes"},
    }


def config_for(
    quick: bool,
    seeds: int | None = None,
    trials: int | None = None,
    workers: int | None = None,
    cells: tuple[int | None, ...] | None = None,
    ablations: bool = False,
    methods: tuple[str, ...] | None = None,
    observation: str | None = None,
) -> BenchConfig:
    """The preset (quick or full) with command-line overrides."""
    cfg = QUICK if quick else FULL
    changes: dict[str, Any] = {"ablations": ablations}
    overrides = (
        ("seeds", seeds),
        ("train_trials", trials),
        ("workers", workers),
        ("cells", cells),
        ("methods", methods),
        ("observation", observation),
    )
    for name, value in overrides:
        if value is not None:
            changes[name] = value
    return replace(cfg, **changes)
