"""The body of ``rmrl train`` (:mod:`rmrl_agents.commands.train` holds its options): check
every input, lock the folder, build or resume the model, train, write the summary."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from rmrl_agents.algorithms import ALGORITHMS
from rmrl_agents.callbacks import CheckpointCallback
from rmrl_agents.commands._shared import (
    UsageError,
    make_env_for_command,
    print_table,
    user_errors,
)
from rmrl_agents.commands.agent_kwargs import check_agent_kwargs
from rmrl_agents.commands.run_folder import check_run_file, lock_run_folder, make_logger, write_run_file
from rmrl_agents.common.exploration import exploration_summary
from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm
from rmrl_agents.errors import DatasetError, IncompatibleEnvError
from rmrl_agents.metrics import summarize_trials
from rmrl_agents.rmrl import RMRL
from rmrl_agents.stores.files import write_json_atomic


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "agent": args.agent,
        "env": args.env,
        "env_kwargs": args.env_kwargs,
        "agent_kwargs": args.agent_kwargs,
        "policy_kwargs": args.policy_kwargs,
        "seed": args.seed,
    }


def _new_model(args: argparse.Namespace, env: Any, data_dir: str, console: Console) -> OneStepAlgorithm:
    """A model as the run's first start builds it (pretrained if asked)."""
    cls = ALGORITHMS[args.agent]
    with (
        _env_hint(args.agent),
        user_errors(f"cannot build the {args.agent} agent", "check --agent-kwargs and --policy-kwargs (names, types, ranges)"),
    ):
        model = cls(
            "MultiInputPolicy",
            env,
            seed=args.seed,
            data_dir=data_dir,
            policy_kwargs=args.policy_kwargs or None,
            verbose=args.verbose,
            **args.agent_kwargs,
        )
    if args.pretrain and isinstance(model, RMRL):
        pre = model.pretrain(args.pretrain, n_epochs=args.pretrain_epochs)
        console.print(f"pretrained on {int(pre['n_labels'])} labels from {args.pretrain}: label accuracy {pre['accuracy']:.2f}")
    return model


@contextlib.contextmanager
def _env_hint(agent: str) -> Iterator[None]:
    """An env that does not fit the agent is fixed with --env-kwargs (RL100: continuous actions)."""
    try:
        yield
    except IncompatibleEnvError as err:
        if agent != "rl100":
            raise
        raise UsageError(f'{err}; on the command line: --env-kwargs \'{{"action_type": "continuous"}}\'') from None


def _resumed_model(args: argparse.Namespace, env: Any, out: Path, console: Console) -> tuple[OneStepAlgorithm, bool]:
    """The model of a run and whether it must be rebuilt from the trial log: from its checkpoint,
    or (True) a new model if the checkpoint is missing, unreadable or ahead of the log while the
    log holds trials."""
    ckpt, data_dir = out / "checkpoints" / "latest.zip", str(out / "data")
    problem = "is missing"
    if ckpt.exists():
        try:
            model = ALGORITHMS[args.agent].load(ckpt, env=env, data_dir=data_dir)
        except IncompatibleEnvError:
            raise
        except Exception as err:  # any damage to the file: rebuild from the log below
            problem = f"is unreadable ({type(err).__name__}: {err})"
        else:
            seen, logged = model._log_position or 0, len(model.trial_log)
            if seen <= logged:
                return model, False
            model.close_storage()
            problem = f"has seen {seen} trials but the log holds {logged} (repaired or truncated)"
    model = _new_model(args, env, data_dir, console)
    logged = len(model.trial_log)
    if logged:
        console.print(
            f"rmrl train: warning: the checkpoint {ckpt} {problem}; rebuilding the model from the {logged} logged trials"
        )
    return model, bool(logged)


def _apply_recipe(args: argparse.Namespace, cls: type) -> None:
    """``--recipe paper``: the paper's keywords under the user's own (which win)."""
    if getattr(args, "recipe", "default") != "paper":
        return
    from rmrl_agents.recipes import PAPER_AGENTS, paper_kwargs

    if cls.__name__ not in PAPER_AGENTS:
        raise UsageError(f"--recipe paper: the paper has no recipe for {args.agent}; it has one for reinforce, replay and rmrl")
    kwargs = paper_kwargs(cls.__name__, args.policy_kwargs)
    args.policy_kwargs = kwargs.pop("policy_kwargs")
    args.agent_kwargs = {**kwargs, **args.agent_kwargs}


def train(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    cls = ALGORITHMS[args.agent]
    _apply_recipe(args, cls)
    check_agent_kwargs(cls, args.agent_kwargs)
    if args.pretrain and args.agent == "rl100":
        raise UsageError(
            f"--pretrain is RM-RL's; rl100 starts from role-model labels through its prior_data: "
            f'--agent-kwargs \'{{"prior_data": "{args.pretrain}"}}\' (a role-model dataset or an earlier rmrl run\'s --out)'
        )
    if args.pretrain and not issubclass(cls, RMRL):
        raise UsageError(f"--pretrain trains on role-model labels: it needs --agent rmrl, not {args.agent}")
    if args.pretrain and not Path(args.pretrain).exists():
        raise UsageError(f"--pretrain {args.pretrain} does not exist; give a role-model dataset or an earlier run's --out")
    out = Path(args.out)
    settings = _settings(args)
    if out.is_dir() and (out / "run.json").exists():
        check_run_file(out, settings)  # fail before locking / building anything
    lock = lock_run_folder(out)
    try:
        return _train(args, out, settings, console)
    finally:
        lock.close()


def _train(args: argparse.Namespace, out: Path, settings: dict[str, Any], console: Console) -> int:
    resuming = check_run_file(out, settings)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    env = make_env_for_command(args.env, args.env_kwargs)
    try:
        model, rebuild = (
            _resumed_model(args, env, out, console) if resuming else (_new_model(args, env, str(out / "data"), console), False)
        )
        model.set_logger(make_logger(out / "logs", args.tensorboard, bool(args.verbose)))
        # opens (and checks) the stores: the last check before anything is written
        caught_up = model.restart_from_log() if rebuild else model.sync_with_log()
    except (DatasetError, IncompatibleEnvError):
        env.close()
        raise
    if not resuming:
        write_run_file(out, settings)
    else:
        console.print(
            f"resuming {out}: {model.num_timesteps} trials done"
            + (f" ({caught_up} replayed from the trial log)" if caught_up else "")
        )
    ckpt = out / "checkpoints" / "latest.zip"
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
    model.save_for_inference(out / "model.zip")  # the checkpoint keeps the optimizer state for resuming
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
    explore = exploration_summary(model.trial_log.records[model.log_start :])
    if explore:
        summary[f"commonest action share, last {explore['trials']} trials"] = explore["commonest_share"]
        if "entropy_dx_nats" in explore:
            summary["policy entropy, last trials (nats: Δx, Δy, Δψ)"] = ", ".join(
                f"{explore[f'entropy_{a}_nats']:.2f}" for a in ("dx", "dy", "dpsi")
            )
    if isinstance(model, RMRL):
        summary["role-model labels"] = len(model.dataset)
    summary["output"] = str(out)
    write_json_atomic(out / "summary.json", summary)
    print_table(f"rmrl train — {args.agent} on {args.env}", summary, Console())
    model.close_storage()
    env.close()
    return 0
