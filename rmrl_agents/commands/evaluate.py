"""``rmrl eval``: run a saved model on new scenes and print reward / e_trans / e_rot / success."""

from __future__ import annotations

import argparse
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from rmrl_agents.algorithms import algorithm_class
from rmrl_agents.commands._shared import json_dict, make_env, print_table
from rmrl_agents.common.evaluation import evaluate_policy
from rmrl_agents.storage import write_json_atomic


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="evaluate a saved model", description="Evaluate a saved rmrl model on new scenes.")
    p.add_argument("--model", required=True, help="model .zip (a run's model.zip or checkpoints/latest.zip)")
    p.add_argument("--episodes", type=int, default=10, help="trials, each from a new initial pose (default 10)")
    p.add_argument("--env", help="env id (default: the one the model was trained on)")
    p.add_argument("--env-kwargs", type=json_dict, default=None, help="JSON object passed to gym.make (default: the run's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the most likely")
    p.add_argument("--json", metavar="FILE", help="also write the per-trial results and summary as JSON")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def saved_attributes(path: Path) -> dict[str, Any]:
    """The plain JSON attributes SB3 stored in a model zip (algorithm name, env id, ...)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("data"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a saved rmrl/SB3 model ({err})") from err


def run(args: argparse.Namespace) -> int:
    path = Path(args.model)
    if not path.is_file():
        raise FileNotFoundError(f"no model file {path}")
    try:
        attrs = saved_attributes(path)
        cls = algorithm_class(str(attrs.get("algorithm_name")))
    except ValueError as err:
        print(f"rmrl eval: error: {path} was not saved by an rmrl agent: {err}")
        return 2
    run_file = next((p / "run.json" for p in (path.parent, path.parent.parent) if (p / "run.json").exists()), None)
    run_settings = json.loads(run_file.read_text()) if run_file else {}
    env_id = args.env or attrs.get("env_id") or run_settings.get("env")
    if not env_id:
        print("rmrl eval: error: the model does not record its env; pass --env")
        return 2
    env_kwargs = args.env_kwargs if args.env_kwargs is not None else run_settings.get("env_kwargs", {})
    env = make_env(env_id, env_kwargs)
    model = cls.load(path, env=env)
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
