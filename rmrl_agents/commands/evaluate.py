"""``rmrl eval``: run a saved model on new scenes and print reward / e_trans / e_rot / success."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from rmrl_agents.commands._shared import UsageError, check_output_file, json_dict, make_env_for_command, positive_int, print_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="evaluate a saved model", description="Evaluate a saved rmrl model on new scenes.")
    p.add_argument("--model", required=True, help="model .zip (a run's model.zip or checkpoints/latest.zip)")
    p.add_argument("--episodes", type=positive_int, default=10, help="trials, each from a new initial pose (default 10)")
    p.add_argument("--env", help="env id (default: the one the model was trained on)")
    p.add_argument(
        "--env-kwargs", type=json_dict, default=None, help="JSON object passed to gym.make (default: those the model records)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the most likely")
    p.add_argument("--json", metavar="FILE", help="also write the per-trial results and summary as JSON")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def _env_of(args: argparse.Namespace, path: Path, attrs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The env id and kwargs to evaluate on: the options, else what the model file records (its
    env signature), else the run's run.json beside it."""
    found = attrs.get("env_signature")
    saved: dict[str, Any] = found if isinstance(found, dict) else {}
    run_file = next((p / "run.json" for p in (path.parent, path.parent.parent) if (p / "run.json").is_file()), None)
    try:
        run_settings = json.loads(run_file.read_text()) if run_file else {}
    except (OSError, json.JSONDecodeError):
        run_settings = {}
    env_id = args.env or saved.get("env_id") or attrs.get("env_id") or run_settings.get("env")
    if not env_id:
        raise UsageError(f"{path} does not record its env; pass --env (and --env-kwargs)")
    if args.env_kwargs is not None:
        return env_id, args.env_kwargs
    same_env = env_id == saved.get("env_id")
    kwargs = saved.get("env_kwargs") if same_env and saved.get("env_kwargs") is not None else run_settings.get("env_kwargs")
    return env_id, dict(kwargs or {})


def run(args: argparse.Namespace) -> int:
    # torch and SB3 load here, not when the parser is built (rmrl --help)
    import numpy as np
    from rich.console import Console

    from rmrl_agents.algorithms import algorithm_class
    from rmrl_agents.common.env_signature import model_zip, saved_attributes
    from rmrl_agents.common.evaluation import evaluate_policy
    from rmrl_agents.errors import DatasetError, IncompatibleEnvError
    from rmrl_agents.stores.files import write_json_atomic

    path = model_zip(args.model)  # "run/model" finds run/model.zip, as SB3's load does
    if not path.is_file():
        raise UsageError(f"--model {path}: no such file; give a run's model.zip or checkpoints/latest.zip")
    if args.json:
        check_output_file(Path(args.json), "--json")
    try:
        attrs = saved_attributes(path)
        cls = algorithm_class(str(attrs.get("algorithm_name")))
    except ValueError as err:
        raise UsageError(f"{path} is not a readable rmrl model ({err}); give another model file or checkpoint") from None
    env_id, env_kwargs = _env_of(args, path, attrs)
    env = make_env_for_command(env_id, env_kwargs)
    try:
        model = cls.load(path, env=env)
    except (IncompatibleEnvError, DatasetError):
        env.close()
        raise
    except Exception as err:  # a damaged file
        env.close()
        raise UsageError(
            f"{path} cannot be loaded ({type(err).__name__}: {err}); it is damaged: use another checkpoint"
        ) from None
    result = evaluate_policy(
        model, env, args.episodes, seed=args.seed, deterministic=not args.stochastic, progress_bar=not args.no_progress
    )
    env.close()
    means = result.means()
    summary = {
        "model": str(path),
        "env": env_id,
        "episodes": len(result),
        "mean reward": means["reward"],
        "std reward": float(np.std(result.column("reward"))),
        "e_trans mean (mm)": _or_none(means["e_trans_mm"]),
        "e_rot mean (°)": _or_none(means["e_rot_deg"]),
        "success rate": means["success"],
        "failures": sum(e.failure is not None for e in result.episodes),
    }
    print_table(f"rmrl eval — {cls.__name__}", summary, Console())
    if args.json:
        write_json_atomic(Path(args.json), {"summary": summary, "trials": result.records()})
    return 0


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else value
