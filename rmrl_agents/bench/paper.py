"""The paper's experiments (Tables 1-3, Fig. 5) on the simulated cell, over several seeds.

Five methods get the same budget of trials, the same seeds and, where the algorithm allows,
the same network:

* ``REINFORCE``, ``ReplayREINFORCE``, ``RMRL``: the rmrl agents with the ResNet policy;
* ``RMRL-pretrained``: RMRL after cross-entropy pretraining on the role-model labels of an
  earlier RM-RL run with a different seed (the source run, made once per benchmark);
* ``PPO``: Stable-Baselines3's own PPO with the same ResNet + pose-MLP trunk
  (:class:`~rmrl_agents.policies.PlateFeaturesExtractor`) and SB3's policy and value heads;
* ``zero``: no adjustment at all, the floor every method should beat.

For each method and seed: Table 1, T^10_τ and the mean training reward; Table 2, the
deterministic policy on a fixed set of initial poses (the same for every method and seed);
Table 3, the deterministic policy trained on the place task placing onto the shelf from a
fixed set of initial poses.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rmrl_agents.common.evaluation import evaluate_policy, fixed_poses, reset_region

#: Methods in the order of the paper's tables (PPO and the zero floor added).
METHODS = ("REINFORCE", "ReplayREINFORCE", "RMRL", "RMRL-pretrained", "PPO")
FLOOR = "zero"
PLACE_ID = "CellPlatePlace-sim-v0"
SHELF_ID = "CellPlateShelf-sim-v0"
#: Seed of the source run whose role-model labels pretrain RMRL-pretrained (no benchmark seed uses it).
SOURCE_SEED = 10_000
EVAL_POSES_SEED = 2026
#: Trials per RM-RL scene (RMRL's default ``scene_size``).
SCENE_SIZE = 5
SHELF_POSES_SEED = 2027
#: Reset seed of the first fixed evaluation pose (pose i uses EVAL_RESET_SEED + i).
EVAL_RESET_SEED = 10_000


@dataclass(frozen=True)
class BenchConfig:
    """Budgets and settings of one benchmark run.

    Attributes:
        train_trials: trials of online training per method and seed (the paper's real runs had
            on the order of 150).
        seeds: benchmark seeds (0..seeds-1).
        eval_poses: fixed initial poses of the place evaluation (Table 2).
        shelf_trials: fixed initial poses of the shelf evaluation (Table 3).
        pretrain_trials: length of the RM-RL source run whose labels pretrain RMRL-pretrained
            (K = 5 trials per scene, so about as many labels).
        tau_e_trans_mm: τ of T^10_τ is the reward of this error (3 mm → 0.970).
        ema_alpha: smoothing of the reward curves.
        policy_kwargs: the network, shared by every method.
        workers: processes running seeds in parallel.
    """

    train_trials: int = 150
    seeds: int = 5
    eval_poses: int = 12
    shelf_trials: int = 20
    pretrain_trials: int = 200
    tau_e_trans_mm: float = 3.0
    ema_alpha: float = 0.1
    policy_kwargs: dict[str, Any] = field(default_factory=lambda: {"resnet_depth": 18})
    learning_rate: float = 3e-4
    workers: int = 2
    quick: bool = False

    def __post_init__(self) -> None:
        for name in ("train_trials", "seeds", "eval_poses", "shelf_trials", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.pretrain_trials < SCENE_SIZE:
            raise ValueError(
                f"pretrain_trials must be >= {SCENE_SIZE} (one RM-RL scene) for the source run to produce any label, "
                f"got {self.pretrain_trials}"
            )

    @property
    def tau(self) -> float:
        from rmrl_env.reward import reward_for_error_mm

        return reward_for_error_mm(self.tau_e_trans_mm)


FULL = BenchConfig()
#: ``--quick``: fits in 10 minutes on 2 cores (a smaller ResNet for every method, fewer trials).
QUICK = BenchConfig(
    train_trials=60,
    seeds=3,
    eval_poses=10,
    shelf_trials=20,
    pretrain_trials=60,
    policy_kwargs={"resnet_depth": 10, "resnet_width": 32, "image_size": (60, 80), "head_hidden": (128,)},
    quick=True,
)


# -- one method ------------------------------------------------------------------------------------


def _reward_recorder():
    from stable_baselines3.common.callbacks import BaseCallback

    class RewardRecorder(BaseCallback):
        """Records every trial's reward and errors, and stops training after ``limit`` trials.

        Works for the rmrl agents and for SB3's PPO alike, so every method gets exactly the
        same number of trials (PPO would otherwise finish its last rollout).
        """

        def __init__(self, limit: int, on_trial: Callable[[], None] | None = None) -> None:
            super().__init__()
            self.limit = limit
            self.parent_pid = os.getppid()
            self.rewards: list[float] = []
            self.e_trans_mm: list[float] = []
            self.on_trial = on_trial

        def _on_step(self) -> bool:
            for r, info in zip(self.locals["rewards"], self.locals["infos"], strict=False):
                self.rewards.append(float(r))
                self.e_trans_mm.append(float(info.get("e_trans_mm", math.nan)))
                if self.on_trial is not None:
                    self.on_trial()
            if os.getppid() != self.parent_pid:  # the benchmark was killed: do not run on as an orphan
                raise SystemExit("the benchmark's main process is gone; this worker stops")
            return len(self.rewards) < self.limit

    return RewardRecorder


def make_model(method: str, env: Any, seed: int, cfg: BenchConfig, data_dir: Path) -> Any:
    """The model of one method, untrained (RMRL-pretrained is pretrained by the caller)."""
    from stable_baselines3 import PPO

    from rmrl_agents.algorithms import algorithm_class
    from rmrl_agents.policies import PlateFeaturesExtractor

    if method == "PPO":
        trunk = {k: v for k, v in cfg.policy_kwargs.items() if k != "head_hidden"}
        heads = list(cfg.policy_kwargs.get("head_hidden", (256,)))
        return PPO(
            "MultiInputPolicy",
            env,
            n_steps=8,
            batch_size=8,
            n_epochs=4,
            gamma=0.0,  # one-step episodes: the return is the reward
            gae_lambda=1.0,
            policy_kwargs={
                "features_extractor_class": PlateFeaturesExtractor,
                "features_extractor_kwargs": trunk,
                "net_arch": {"pi": heads, "vf": heads},
            },
            seed=seed,
            learning_rate=cfg.learning_rate,
            device="cpu",
        )
    cls = algorithm_class(method.removesuffix("-pretrained"))
    return cls(
        "MultiInputPolicy",
        env,
        policy_kwargs=dict(cfg.policy_kwargs),
        data_dir=str(data_dir),
        seed=seed,
        learning_rate=cfg.learning_rate,
        device="cpu",
    )


def evaluate(env: Any, poses: np.ndarray, policy: Any) -> dict[str, list[float]]:
    """Place from each fixed pose with a deterministic policy (``None``: zero adjustment).

    Pose i uses ``EVAL_RESET_SEED + i`` as the reset seed, so sensor noise is the same for every method.
    """
    return evaluate_policy(policy, env, poses=poses, seed=EVAL_RESET_SEED).columns()


def _wait_for(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the RM-RL source run did not finish within {timeout_s:.0f} s ({path} missing)")
        time.sleep(0.5)


def run_source(cfg: BenchConfig, out: Path, progress: Any = None) -> dict[str, Any]:
    """The earlier RM-RL run whose role-model labels pretrain RMRL-pretrained."""
    import gymnasium as gym
    import torch

    import rmrl_env  # noqa: F401

    torch.set_num_threads(1)
    src = out / "runs" / "pretrain_source"
    env = gym.make(PLACE_ID)
    model = make_model("RMRL", env, SOURCE_SEED, cfg, src)
    recorder = _reward_recorder()(
        cfg.pretrain_trials, on_trial=(lambda: progress.put(("source", 1))) if progress is not None else None
    )
    model.learn(cfg.pretrain_trials, callback=recorder)
    n_labels = len(model.dataset)
    model.close_storage()
    env.close()
    (src / "DONE").write_text(str(n_labels))
    return {"seed": SOURCE_SEED, "trials": cfg.pretrain_trials, "labels": n_labels}


def run_seed(cfg: BenchConfig, seed: int, out: Path, progress: Any = None) -> dict[str, Any]:
    """Train and evaluate every method for one seed (runs in its own process)."""
    import gymnasium as gym
    import torch

    import rmrl_env  # noqa: F401

    torch.set_num_threads(1)
    place_env, shelf_env = gym.make(PLACE_ID), gym.make(SHELF_ID)
    place_poses = fixed_poses(reset_region(place_env), cfg.eval_poses, EVAL_POSES_SEED)
    shelf_poses = fixed_poses(reset_region(shelf_env), cfg.shelf_trials, SHELF_POSES_SEED)
    result: dict[str, Any] = {"seed": seed, "methods": {}}

    def tick(method: str) -> Callable[[], None] | None:
        return (lambda: progress.put((f"seed {seed}", 1))) if progress is not None else None

    for method in METHODS:
        t0 = time.perf_counter()
        train_env = gym.make(PLACE_ID)
        model = make_model(method, train_env, seed, cfg, out / "runs" / f"seed{seed}" / method)
        extra: dict[str, Any] = {}
        if method == "RMRL-pretrained":
            _wait_for(out / "runs" / "pretrain_source" / "DONE", timeout_s=6 * 3600)
            extra["pretrain"] = model.pretrain(out / "runs" / "pretrain_source")
        recorder = _reward_recorder()(cfg.train_trials, on_trial=tick(method))
        model.learn(cfg.train_trials, callback=recorder)
        if hasattr(model, "close_storage"):
            model.close_storage()
        result["methods"][method] = {
            "train_rewards": recorder.rewards,
            "train_e_trans_mm": recorder.e_trans_mm,
            "place": evaluate(place_env, place_poses, model),
            "shelf": evaluate(shelf_env, shelf_poses, model),
            "wall_s": time.perf_counter() - t0,
            **extra,
        }
        train_env.close()
    result["methods"][FLOOR] = {
        "train_rewards": [],
        "train_e_trans_mm": [],
        "place": evaluate(place_env, place_poses, None),
        "shelf": evaluate(shelf_env, shelf_poses, None),
        "wall_s": 0.0,
    }
    place_env.close()
    shelf_env.close()
    return result


# -- the whole benchmark ---------------------------------------------------------------------------


def run(cfg: BenchConfig, out: Path, show_progress: bool = True) -> dict[str, Any]:
    """Run the source run and every seed in ``cfg.workers`` processes; return the raw results.

    Trial logs and role-model datasets of every run go to ``out/runs/`` (large: images).
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "runs", ignore_errors=True)  # scratch of an earlier benchmark in the same place
    os.environ.setdefault("MUJOCO_GL", "egl")
    ctx = mp.get_context("spawn")  # a fresh process per worker: no inherited GL or torch state
    manager = ctx.Manager()
    progress = manager.Queue()
    totals = {"source": cfg.pretrain_trials, **{f"seed {s}": cfg.train_trials * len(METHODS) for s in range(cfg.seeds)}}
    bars = {
        name: tqdm(total=n, desc=name, position=i, leave=True, disable=not show_progress, unit="trial")
        for i, (name, n) in enumerate(totals.items())
    }
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=ctx) as pool:
        source = pool.submit(run_source, cfg, out, progress)
        seeds = [pool.submit(run_seed, cfg, s, out, progress) for s in range(cfg.seeds)]
        pending = [source, *seeds]
        while any(not f.done() for f in pending):
            _drain(progress, bars)
            time.sleep(0.2)
        _drain(progress, bars)
        source_info = source.result()
        per_seed = [f.result() for f in seeds]
    for bar in bars.values():
        bar.close()
    manager.shutdown()
    return {
        "config": {**asdict(cfg), "tau": cfg.tau, "methods": list(METHODS)},
        "source_run": source_info,
        "per_seed": per_seed,
        "wall_s": time.perf_counter() - t0,
        "machine": {"cpus": os.cpu_count()},
    }


def _drain(queue: Any, bars: dict[str, Any]) -> None:
    while True:
        try:
            name, n = queue.get_nowait()
        except Exception:
            return
        bars[name].update(n)


def config_for(quick: bool, seeds: int | None = None, trials: int | None = None, workers: int | None = None) -> BenchConfig:
    """The preset (quick or full) with command-line overrides."""
    cfg = QUICK if quick else FULL
    changes: dict[str, Any] = {}
    if seeds is not None:
        changes["seeds"] = seeds
    if trials is not None:
        changes["train_trials"] = trials
    if workers is not None:
        changes["workers"] = workers
    return replace(cfg, **changes) if changes else cfg
