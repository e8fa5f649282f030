"""``rmrl eval``: run a saved model on new scenes and print reward / e_trans / e_rot / success."""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from tqdm.auto import tqdm

from rmrl_agents.commands._shared import json_dict, make_env, print_table
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
    from rmrl_agents import ALGORITHMS

    path = Path(args.model)
    if not path.is_file():
        raise FileNotFoundError(f"no model file {path}")
    try:
        attrs = saved_attributes(path)
    except ValueError as err:
        print(f"rmrl eval: error: {err}")
        return 2
    name = attrs.get("algorithm_name")
    classes = {cls.__name__: cls for cls in ALGORITHMS.values()}
    if name not in classes:
        print(f"rmrl eval: error: {path} was not saved by an rmrl agent (algorithm {name!r}; known {sorted(classes)})")
        return 2
    run_file = next((p / "run.json" for p in (path.parent, path.parent.parent) if (p / "run.json").exists()), None)
    run_settings = json.loads(run_file.read_text()) if run_file else {}
    env_id = args.env or attrs.get("env_id") or run_settings.get("env")
    if not env_id:
        print("rmrl eval: error: the model does not record its env; pass --env")
        return 2
    env_kwargs = args.env_kwargs if args.env_kwargs is not None else run_settings.get("env_kwargs", {})
    env = make_env(env_id, env_kwargs)
    model = classes[name].load(path, env=env)
    results = []
    obs, _ = env.reset(seed=args.seed)
    for _ in tqdm(range(args.episodes), desc="eval", unit="trial", disable=args.no_progress):
        action, _ = model.predict(obs, deterministic=not args.stochastic)
        _, reward, _, _, info = env.step(action)
        results.append(
            {
                "reward": float(reward),
                "e_trans_mm": info.get("e_trans_mm"),
                "e_rot_deg": info.get("e_rot_deg"),
                "success": bool(info.get("success", False)),
                "failure": info.get("failure"),
                "action": np.asarray(action).tolist(),
            }
        )
        obs, _ = env.reset()
    env.close()

    def col(key: str) -> np.ndarray:
        return np.asarray([np.nan if r[key] is None else float(r[key]) for r in results], dtype=np.float64)

    summary = {
        "model": str(path),
        "env": env_id,
        "episodes": len(results),
        "mean reward": float(np.mean(col("reward"))),
        "std reward": float(np.std(col("reward"))),
        "e_trans mean (mm)": float(np.nanmean(col("e_trans_mm"))) if np.isfinite(col("e_trans_mm")).any() else None,
        "e_rot mean (°)": float(np.nanmean(col("e_rot_deg"))) if np.isfinite(col("e_rot_deg")).any() else None,
        "success rate": float(np.mean(col("success"))),
        "failures": sum(r["failure"] is not None for r in results),
    }
    print_table(f"rmrl eval — {name}", summary, Console())
    if args.json:
        write_json_atomic(Path(args.json), {"summary": summary, "trials": results})
    return 0
