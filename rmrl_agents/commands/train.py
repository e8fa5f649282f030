"""``rmrl train``: train an agent into an output directory; rerun the same command to resume.

Layout of ``--out DIR``::

    run.json                 the settings of the run (checked when resuming)
    data/trials/             the trial log: every trial, appended as it happens
    data/role_model/         the role-model dataset D (rmrl)
    checkpoints/latest.zip   the last checkpoint (atomic; every --checkpoint-every trials)
    logs/progress.csv        SB3 logger output (+ TensorBoard events with --tensorboard)
    model.zip                the final model
    summary.json             the summary table, as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from stable_baselines3.common.logger import configure

from rmrl_agents.algorithms import ALGORITHMS
from rmrl_agents.callbacks import CheckpointCallback
from rmrl_agents.commands._shared import json_dict, make_env, print_table
from rmrl_agents.metrics import summarize_trials
from rmrl_agents.rmrl import RMRL
from rmrl_agents.storage import write_json_atomic

#: run.json keys that must match to resume a run (the step budget may change)
_RESUME_KEYS = ("agent", "env", "env_kwargs", "agent_kwargs", "policy_kwargs", "seed")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an agent (resumable: rerun the same command on the same --out)",
        description="Train REINFORCE, RL + replay buffer or RM-RL on a cell-plate env. Every trial is "
        "logged to --out as it happens; rerunning the same command continues from the last checkpoint.",
    )
    p.add_argument("--agent", required=True, choices=sorted(ALGORITHMS), help="reinforce | replay (RL + replay buffer) | rmrl")
    p.add_argument("--env", default="CellPlatePlace-sim-v0", help="Gymnasium env id (default: %(default)s)")
    p.add_argument("--steps", type=int, required=True, help="total trials of the run (a resumed run counts those done)")
    p.add_argument("--out", required=True, help="output directory (created; reused to resume)")
    p.add_argument("--pretrain", metavar="PATH", help="role-model dataset (or earlier run's --out) to pretrain on first")
    p.add_argument("--pretrain-epochs", type=int, default=10, help="pretraining passes over the dataset (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env-kwargs", type=json_dict, default={}, help="JSON object passed to gym.make")
    p.add_argument(
        "--agent-kwargs", type=json_dict, default={}, help="JSON object of agent parameters, e.g. '{\"scene_size\": 5}'"
    )
    p.add_argument(
        "--policy-kwargs",
        type=json_dict,
        default={},
        help="JSON object of policy parameters, e.g. '{\"resnet_depth\": 10}'",
    )
    p.add_argument("--checkpoint-every", type=int, default=10, help="trials between checkpoints (default 10)")
    p.add_argument("--log-interval", type=int, default=10, help="trials between logger dumps (default 10)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events to OUT/logs")
    p.add_argument("--tau", type=float, default=0.95, help="reward threshold of T^10_τ in the summary (default 0.95)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", type=int, default=0, help="SB3 verbosity (1: print the logger table)")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "agent": args.agent,
        "env": args.env,
        "env_kwargs": args.env_kwargs,
        "agent_kwargs": args.agent_kwargs,
        "policy_kwargs": args.policy_kwargs,
        "seed": args.seed,
    }


def _check_or_write_run_file(out: Path, settings: dict[str, Any]) -> bool:
    """Write run.json for a new run; for an existing one check it matches. Returns True if resuming."""
    path = out / "run.json"
    if not path.exists():
        write_json_atomic(path, {**settings, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        return False
    saved = json.loads(path.read_text())
    differ = {k: (saved.get(k), settings[k]) for k in _RESUME_KEYS if saved.get(k) != settings[k]}
    if differ:
        detail = "; ".join(f"{k}: run has {a!r}, command gives {b!r}" for k, (a, b) in differ.items())
        raise ValueError(f"{out} holds a different run ({detail}); use the same settings to resume, or another --out")
    return True


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    cls = ALGORITHMS[args.agent]
    if args.pretrain and not issubclass(cls, RMRL):
        print(
            f"rmrl train: error: --pretrain trains on role-model labels: it needs --agent rmrl, not {args.agent}", file=sys.stderr
        )
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = _settings(args)
    try:
        resuming = _check_or_write_run_file(out, settings)
    except ValueError as err:
        print(f"rmrl train: error: {err}", file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    env = make_env(args.env, args.env_kwargs)
    ckpt = out / "checkpoints" / "latest.zip"
    data_dir = str(out / "data")
    formats = ["csv"] + (["tensorboard"] if args.tensorboard else []) + (["stdout"] if args.verbose else [])
    try:
        logger = configure(str(out / "logs"), formats)
    except (ImportError, AssertionError) as err:
        print(
            f"rmrl train: error: TensorBoard logging needs the tensorboard package (pip install tensorboard): {err}",
            file=sys.stderr,
        )
        return 2
    if ckpt.exists():
        model = cls.load(ckpt, env=env, data_dir=data_dir)
        model.set_logger(logger)
    else:
        model = cls(
            "MultiInputPolicy",
            env,
            seed=args.seed,
            data_dir=data_dir,
            policy_kwargs=args.policy_kwargs or None,
            verbose=args.verbose,
            **args.agent_kwargs,
        )
        model.set_logger(logger)
        if args.pretrain and isinstance(model, RMRL):
            pre = model.pretrain(args.pretrain, n_epochs=args.pretrain_epochs)
            console.print(
                f"pretrained on {int(pre['n_labels'])} labels from {args.pretrain}: label accuracy {pre['accuracy']:.2f}"
            )
    caught_up = model.sync_with_log()
    if resuming:
        console.print(
            f"resuming {out}: {model.num_timesteps} trials done"
            + (f" ({caught_up} replayed from the trial log)" if caught_up else "")
        )
    remaining = args.steps - model.num_timesteps
    t0 = time.time()
    if remaining > 0:
        model.learn(
            remaining,
            callback=CheckpointCallback(ckpt, save_freq=args.checkpoint_every),
            log_interval=args.log_interval,
            reset_num_timesteps=False,
            progress_bar=not args.no_progress,
        )
    model.save(out / "model.zip")
    stats = summarize_trials(model.trial_log.records[model.log_start :], tau=args.tau)
    summary: dict[str, Any] = {
        "agent": args.agent,
        "env": args.env,
        "trials": model.num_timesteps,
        "mean reward": stats["mean_reward"],
        "std reward": stats["std_reward"],
        "mean reward, last 20%": stats["mean_reward_last"],
        f"T^10 (τ={args.tau})": stats["t10"],
        "e_trans mean (mm)": stats["e_trans_mm"],
        "e_rot mean (°)": stats["e_rot_deg"],
        "success rate": stats["success_rate"],
        "wall time this call (s)": round(time.time() - t0, 1),
    }
    if isinstance(model, RMRL):
        summary["role-model labels"] = len(model.dataset)
    summary["output"] = str(out)
    write_json_atomic(out / "summary.json", summary)
    print_table(f"rmrl train — {args.agent} on {args.env}", summary, Console())
    model.close_storage()
    env.close()
    return 0
