"""What the paper benchmark runs: its budgets, its methods and its (method, seed, cell) jobs.

Every method runs on the same (seed, cell) pairs: seeds ``0..seeds-1`` crossed with ``cells``
(``None`` = the default cell, an int = ``cell_seed``). Pretrained RM-RL pretrains on the labels
of one RM-RL *source run per seed* made on a cell outside ``cells`` (``SOURCE_CELL0 + seed``), so it
has to transfer rather than memorise the evaluated cell's constant; RL100 imitates the same labels
(mapped to continuous actions). RL100 and SAC act on the continuous envs (``action_type="continuous"``).

Resume is per job: :func:`job_fingerprint` hashes only what changes that job's result, so adding
methods (or seeds, cells) reuses every finished job of the others.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: Learning methods in the order of the paper's tables (PPO and the equal-budget variant added),
#: then the reward-only offset calibration (:mod:`rmrl_agents.calibration`, no network).
METHODS = (
    "REINFORCE",
    "ReplayREINFORCE",
    "RMRL",
    "RMRL-pretrained",
    "RMRL-pretrained-equal",
    "PPO",
    "RL100",
    "SAC",
    "calibration",
)
#: Methods on the continuous envs (``gym.make(id, action_type="continuous")``).
CONTINUOUS = ("RL100", "SAC")
#: Methods that start from the role-model labels of their seed's source run (counted in their budget).
USES_SOURCE = ("RMRL-pretrained", "RMRL-pretrained-equal", "RL100", "RMRL-pretrained-paper")
#: Reference rows, each named for what it is (:mod:`rmrl_agents.bench.reference_rows`; the
#: constants and oracles read the sim's ground truth: analysis only).
REFERENCES = (
    "zero",
    "random",
    "mean-oracle constant",
    "reward-optimal constant",
    "error-optimal constant",
    "geometric oracle",
    "reward-optimal oracle",
)
#: How the references job is made, hashed into it (v2: the reward-optimal rows and the renamed ones).
REFERENCES_VERSION = "references-v2"
#: Ablations (``--ablations``): RM-RL without the online policy gradient, without data replay,
#: eq. 6 literally (no reward baseline) for RM-RL and REINFORCE, and the source run's policy
#: evaluated on the held-out evaluated cell (trained on another cell only: generalisation).
ABLATIONS = ("RMRL-no-online", "RMRL-no-replay", "RMRL-eq6", "REINFORCE-eq6", "RMRL-transfer")
#: Agent keyword arguments of each ablation.
ABLATION_KWARGS: dict[str, dict[str, Any]] = {
    "RMRL-no-online": {"online_updates": False},
    "RMRL-no-replay": {"replay_freq": 0},
    "RMRL-eq6": {"reward_baseline": "none"},
    "REINFORCE-eq6": {"reward_baseline": "none"},
}
#: The paper's recipe of each grid agent beside its improved defaults (:mod:`rmrl_agents.recipes`):
#: runnable with ``--methods``, e.g. ``--methods RMRL,RMRL-paper``. ``RMRL-pretrained-paper`` is the
#: paper's recipe pretrained on the same source run as ``RMRL-pretrained``.
PAPER_RECIPES = ("REINFORCE-paper", "ReplayREINFORCE-paper", "RMRL-paper", "RMRL-pretrained-paper")
#: What a run without ``--methods`` trains: every method, and the paper's own two methods (RM-RL and
#: pretrained RM-RL) in the paper's recipe beside their improved defaults (the other recipes on request).
DEFAULT_METHODS = (*METHODS, "RMRL-paper", "RMRL-pretrained-paper")
#: The grid agents' learning core, hashed into every learner job's settings: a job finished
#: under an older core is run again, never reused (v2: the core of ``common/grid_algorithm.py``;
#: v3: RM-RL's one cross-entropy step per scene).
LEARNER_CORE = "grid-core-v3"
#: Methods whose training actions the benchmark records through its callback (the grid agents' come
#: from their trial logs, with the policy's entropy): their end-of-training collapse diagnostic.
RECORDED_BY_CALLBACK = ("PPO", "SAC", "RL100", "calibration")
#: Hashed into those methods' jobs: v1, the training actions recorded (jobs from before are run again).
TRAINING_ACTIONS_VERSION = "training-actions-v1"
#: Hashed into RL100's jobs when RL100 itself changes what it learns (jobs from before run again):
#: v2, re-imitation never imitates a failure; v3, the first trials explore when D is too small for
#: an offline iteration (a seed without labels).
RL100_VERSION = "rl100-v3"
#: What the learners can see as their image (BenchConfig.observation).
OBSERVATIONS = ("image", "plate_crop")
PLACE_ID = "CellPlatePlace-sim-v0"
SHELF_ID = "CellPlateShelf-sim-v0"
#: cell_seed of seed s's source run: far from any evaluated cell.
SOURCE_CELL0 = 1000
EVAL_POSES_SEED = 2026
SHELF_POSES_SEED = 2027
#: Reset seed of the first fixed evaluation pose (pose i uses EVAL_RESET_SEED + i).
EVAL_RESET_SEED = 10_000
#: Reset seeds of the training scenes the best constant is fitted on (none is an evaluation scene).
FIT_RESET_SEED = 200_000
#: How evaluation scenes are chosen, hashed into every job (v2: fixed poses balanced over plate
#: types, each with its own reset seed; v1 was the first n poses, whatever their plate).
EVAL_SCENES = "balanced-v2"
#: Trials per RM-RL scene (RMRL's default ``scene_size``).
SCENE_SIZE = 5


#: RL100 in the benchmark: 200 imitation steps on the source run's labels (its default, 1000,
#: takes 2.5 min per job with this network and would double the run; 200 steps already pass the
#: 50 labels 200 times), 4 offline iterations of 25 trials each (the paper gives iterative offline
#: RL most of the budget), then online PPO on the rest in batches of 16 trials (RL100's default,
#: 32, gave 3 online updates; 16 places 0.26 ± 0.22 mm better on held-out cells 1 and 2, paired
#: over 10 seeds each: ``benchmarks/rl100_cell_ablation.py``); its other settings are RL100's defaults.
RL100_KWARGS: dict[str, Any] = {
    "imitation_steps": 200,
    "offline_iterations": 4,
    "trials_per_iteration": 25,
    "online_batch_size": 16,
}
#: SAC in the benchmark: learning starts after 10 (uniformly random) trials, one update of 64
#: replayed trials per trial (SB3's default learning_starts, 100, would be the whole budget).
SAC_KWARGS: dict[str, Any] = {"learning_starts": 10, "batch_size": 64, "train_freq": 1, "gradient_steps": 1}


@dataclass(frozen=True)
class BenchConfig:
    """Budgets and settings of one benchmark run.

    Attributes:
        train_trials: online training trials per method and (seed, cell).
        seeds: benchmark seeds (0..seeds-1).
        cells: evaluated cells, ``None`` = the default cell, an int = ``cell_seed``.
        eval_poses: fixed scenes of the place evaluation (Table 2), per cell, half of each plate
            type (:func:`~rmrl_agents.common.evaluation.balanced_scenes`).
        shelf_trials: fixed scenes of the shelf evaluation (Table 3), per cell, balanced alike.
        eval_checkpoints: training trials after which the place evaluation also runs (the learning
            curves of the true error); those at or above a method's budget are skipped (its final
            evaluation is the curve's last point).
        pretrain_trials: trials of each seed's RM-RL source run (on a cell outside ``cells``).
            RMRL-pretrained then trains ``train_trials`` more; RMRL-pretrained-equal trains
            ``train_trials - pretrain_trials`` more (the same total as every other method).
        fit_scenes: training scenes the constants of each cell are fitted and searched on.
        oracle_max_trials: the reward-optimal oracle's search cap per evaluation scene (trials).
        constant_max_candidates: each constant search's cap (candidates, each tried on every fit scene).
        random_trials: trials of the random policy per cell for its chance of exceeding τ.
        tau_e_trans_mm: τ of T^10_τ is the reward of this error.
        methods: learning methods to run (a subset of METHODS, and of ABLATIONS with ablations).
        ablations: also run the ablations.
        policy_kwargs: the network, shared by every method (RL100 and SAC take its trunk; see
            :func:`~rmrl_agents.bench.models.make_model` for their heads).
        learning_rate: Adam learning rate of every method but RL100 (which keeps its own defaults);
            None (default): each method's own (the grid agents' ablated default, SB3's 3e-4 for
            PPO and SAC; the paper's recipes set theirs).
        rl100_kwargs: RL100's keyword arguments in the benchmark (its defaults for the rest).
        sac_kwargs: SB3 SAC's keyword arguments in the benchmark (gamma = 0, the buffer and the
            network are set by the benchmark).
        workers: local worker processes.
        observation: what the learners see as their image: "image" (the env's full camera image,
            default) or "plate_crop" (the env's plate-centred crop, fed at its own 75×100 size:
            the network's ``encoder_input_size`` is dropped; the same for every method).
    """

    train_trials: int = 200
    seeds: int = 10
    cells: tuple[int | None, ...] = (None, 0)
    eval_poses: int = 50
    shelf_trials: int = 50
    eval_checkpoints: tuple[int, ...] = (25, 50, 100)
    pretrain_trials: int = 50
    fit_scenes: int = 20
    oracle_max_trials: int = 40
    constant_max_candidates: int = 60
    random_trials: int = 40
    tau_e_trans_mm: float = 2.0
    ema_alpha: float = 0.1
    methods: tuple[str, ...] = DEFAULT_METHODS
    ablations: bool = False
    policy_kwargs: dict[str, Any] = field(
        default_factory=lambda: {"resnet_depth": 10, "resnet_width": 32, "encoder_input_size": (60, 80), "head_hidden": (128,)}
    )
    learning_rate: float | None = None
    rl100_kwargs: dict[str, Any] = field(default_factory=lambda: dict(RL100_KWARGS))
    sac_kwargs: dict[str, Any] = field(default_factory=lambda: dict(SAC_KWARGS))
    workers: int = 2
    observation: str = "image"
    quick: bool = False

    def __post_init__(self) -> None:
        for name in (
            "train_trials",
            "seeds",
            "eval_poses",
            "shelf_trials",
            "workers",
            "fit_scenes",
            "random_trials",
            "oracle_max_trials",
            "constant_max_candidates",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(c < 1 for c in self.eval_checkpoints):
            raise ValueError(f"eval_checkpoints are numbers of training trials >= 1, got {list(self.eval_checkpoints)}")
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {list(OBSERVATIONS)}, got {self.observation!r}")
        if not self.cells:
            raise ValueError("cells must name at least one cell (None = the default cell, an int = a cell_seed)")
        if any(c is not None and (c < 0 or c >= SOURCE_CELL0) for c in self.cells):
            raise ValueError(f"evaluated cell_seeds must lie in 0..{SOURCE_CELL0 - 1} (source runs use the cells above)")
        unknown = set(self.methods) - set(METHODS) - set(ABLATIONS) - set(PAPER_RECIPES)
        if unknown:
            raise ValueError(
                f"unknown methods {sorted(unknown)}; known: {list(METHODS)}, the paper's recipes {list(PAPER_RECIPES)} "
                f"and ablations {list(ABLATIONS)}"
            )
        if self.pretrain_trials < SCENE_SIZE:
            raise ValueError(
                f"pretrain_trials must be >= {SCENE_SIZE} (one RM-RL scene) for the source run to produce any label, "
                f"got {self.pretrain_trials}"
            )
        if "RMRL-pretrained-equal" in self.methods and self.pretrain_trials >= self.train_trials:
            raise ValueError(
                f"RMRL-pretrained-equal trains train_trials minus the source run's {self.pretrain_trials} trials online, so "
                f"train_trials ({self.train_trials}) must be above {self.pretrain_trials}; give more train_trials, or leave "
                "RMRL-pretrained-equal out of methods"
            )

    @property
    def learner_policy_kwargs(self) -> dict[str, Any]:
        """The network every learner gets: ``policy_kwargs``, without the encoder's resize on the crop."""
        if self.observation == "plate_crop":
            return {k: v for k, v in self.policy_kwargs.items() if k != "encoder_input_size"}
        return dict(self.policy_kwargs)

    @property
    def tau(self) -> float:
        from rmrl_env.reward import reward_for_error_mm

        return reward_for_error_mm(self.tau_e_trans_mm)

    @property
    def all_methods(self) -> tuple[str, ...]:
        """The learning methods run, ablations included when asked for."""
        extra = tuple(a for a in ABLATIONS if a not in self.methods) if self.ablations else ()
        return (*self.methods, *extra)

    def online_trials(self, method: str) -> int:
        """Online training trials of ``method`` on the evaluated cell."""
        if method == "RMRL-pretrained-equal":
            return self.train_trials - self.pretrain_trials
        if method == "RMRL-transfer":
            return 0
        return self.train_trials


#: The full run (benchmark v2): 10 seeds × 2 cells × 200 trials, 50 scenes per task, checkpoint
#: evaluations, the searched reference rows; a ResNet-10 (width 32) at 60×80 for every method. Its 232
#: jobs took 112 min on 2 otherwise idle cores (the README's "Results").
FULL = BenchConfig()
#: ``--quick``: 3 seeds × 2 cells × 40 trials, 6 scenes per task, small search caps: a few minutes on 2 cores.
QUICK = BenchConfig(
    train_trials=40,
    seeds=3,
    cells=(None, 0),
    eval_poses=6,
    shelf_trials=6,
    eval_checkpoints=(10, 20),
    pretrain_trials=20,
    fit_scenes=10,
    oracle_max_trials=15,
    constant_max_candidates=15,
    # RL100's 1000 distillation steps per stage made its 6 jobs the quick run's last 2 minutes
    rl100_kwargs={**RL100_KWARGS, "imitation_steps": 100, "trials_per_iteration": 8, "distill_steps": 300},
    quick=True,
)


@dataclass(frozen=True)
class Job:
    """One unit of work: ``method`` on (``seed``, ``cell``); ``source`` jobs have no cell, ``references`` no seed."""

    method: str
    seed: int | None
    cell: int | None

    @property
    def key(self) -> str:
        """File-name-safe identity, e.g. ``RMRL__s3__cdefault``."""
        seed = "-" if self.seed is None else str(self.seed)
        cell = "default" if self.cell is None else str(self.cell)
        return f"{self.method}__s{seed}__c{cell}"

    def cost(self, cfg: BenchConfig) -> float:
        """Rough cost in env steps (for the progress bar's ETA): trials plus evaluation episodes."""
        evals = cfg.eval_poses + cfg.shelf_trials
        if self.method == "source":
            return cfg.pretrain_trials + (evals * len(cfg.cells) if cfg.ablations else 0)
        if self.method == "references":  # two constant searches, an oracle search per scene, 7 rows evaluated
            searches = 2 * cfg.constant_max_candidates * cfg.fit_scenes + cfg.oracle_max_trials * evals
            return cfg.fit_scenes + cfg.random_trials + searches + len(REFERENCES) * evals
        trials = cfg.online_trials(self.method)
        evals += cfg.eval_poses * sum(1 for c in set(cfg.eval_checkpoints) if c < trials)
        if self.method == "RL100":  # an imitation step on the trunk ≈ 1.7 env steps
            return 2.5 * trials + evals + 1.7 * cfg.rl100_kwargs.get("imitation_steps", 1000)
        if self.method == "SAC":  # an update (actor, critic and target trunks) ≈ 4 env steps
            return 5.0 * trials + evals
        return 2.5 * trials + evals  # a trial with learning ≈ 2.5 env steps


def jobs(cfg: BenchConfig) -> list[Job]:
    """Every job of the benchmark: one source run per seed, references per cell, methods per (seed, cell)."""
    needs_source = any(m in USES_SOURCE for m in cfg.all_methods) or "RMRL-transfer" in cfg.all_methods
    out = [Job("source", s, None) for s in range(cfg.seeds)] if needs_source else []
    out += [Job("references", None, c) for c in cfg.cells]
    out += [Job(m, s, c) for s in range(cfg.seeds) for c in cfg.cells for m in cfg.all_methods if m != "RMRL-transfer"]
    return out


def source_cell(seed: int) -> int:
    """The cell_seed of seed ``seed``'s source run (never an evaluated cell)."""
    return SOURCE_CELL0 + seed


#: policy keywords renamed since benchmark results were first saved (new → old name)
_HASHED_NAMES = {"encoder_input_size": "image_size"}


def job_settings(cfg: BenchConfig, job: Job) -> dict[str, Any]:
    """Everything in ``cfg`` that changes ``job``'s result (its key names method, seed and cell).

    Not in it: ``workers``, ``seeds``, the other methods, ``quick`` and the report's settings, so a
    run with more methods, seeds or cells reuses the finished jobs of the others. A job that starts
    from a source run includes the source run's settings.
    """
    evaluation: dict[str, Any] = {"eval_poses": cfg.eval_poses, "shelf_trials": cfg.shelf_trials, "scenes": EVAL_SCENES}
    # hashed under the keyword names the finished jobs were saved with, so that they stay reused
    hashed_kwargs = {_HASHED_NAMES.get(k, k): v for k, v in cfg.learner_policy_kwargs.items()}
    learner = {"policy_kwargs": hashed_kwargs, "learning_rate": cfg.learning_rate, "core": LEARNER_CORE}
    if cfg.observation != "image":  # hashed only when set, so that finished full-image jobs stay reused
        learner["observation"] = cfg.observation
    if job.method == "references":
        return {
            "job": job.key,
            "version": REFERENCES_VERSION,
            "fit_scenes": cfg.fit_scenes,
            "oracle_max_trials": cfg.oracle_max_trials,
            "constant_max_candidates": cfg.constant_max_candidates,
            "random_trials": cfg.random_trials,
            "tau_e_trans_mm": cfg.tau_e_trans_mm,
            **evaluation,
        }
    source = {"pretrain_trials": cfg.pretrain_trials, **learner}
    if job.method == "source":
        transfer = "RMRL-transfer" in cfg.all_methods  # then it also evaluates on every cell
        return {"job": job.key, **source, "transfer": {"cells": cfg.cells, **evaluation} if transfer else None}
    out = {"job": job.key, **learner, **evaluation, "online_trials": cfg.online_trials(job.method)}
    out["checkpoints"] = sorted(c for c in set(cfg.eval_checkpoints) if c < cfg.online_trials(job.method))
    out["kwargs"] = method_kwargs(job.method, cfg.learner_policy_kwargs)
    if job.method in RECORDED_BY_CALLBACK:  # a job finished before it recorded its training actions runs again
        out["training_actions"] = TRAINING_ACTIONS_VERSION
    if job.method in USES_SOURCE:
        out["source"] = source
    if job.method == "RL100":
        out["rl100_kwargs"] = cfg.rl100_kwargs
        out["rl100_version"] = RL100_VERSION
    if job.method == "SAC":
        out["sac_kwargs"] = cfg.sac_kwargs
    return out


def base_agent(method: str) -> str:
    """The rmrl agent a grid method runs: RMRL-pretrained, RMRL-eq6, RMRL-paper ... -> RMRL."""
    return method.split("-")[0]


def method_kwargs(method: str, policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments that make a grid agent ``method`` (beyond the shared network and
    learning rate): an ablation's, or the paper's recipe with ``policy_kwargs`` merged in."""
    if method in PAPER_RECIPES:
        from rmrl_agents.recipes import paper_kwargs

        return paper_kwargs(base_agent(method), policy_kwargs)  # RMRL-pretrained-paper: RM-RL's recipe
    return dict(ABLATION_KWARGS.get(method, {}))


def job_fingerprint(cfg: BenchConfig, job: Job) -> str:
    """Hash of :func:`job_settings`: resume reuses a finished job only if it matches."""
    text = json.dumps(job_settings(cfg, job), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
