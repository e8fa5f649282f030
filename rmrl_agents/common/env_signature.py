"""What an env's actions and observations *mean*, compared by value (not only by space size).

Two envs with the same ``MultiDiscrete([21, 21, 21])`` space can have different grids (±10 mm
in 1 mm steps or ±20 mm in 2 mm steps): a model, a trial log or a role-model dataset made on one
means other adjustments on the other. The signature of an env, stored in logs, datasets and
saved models and checked when they are reused::

    {"env_id": str | None, "env_kwargs": {...} | None, "config_hash": str | None,
     "grid": {"max_xy_mm", "step_xy_mm", "max_yaw_deg", "step_yaw_deg"} | None,
     "action_nvec": [nx, ny, nψ], "image_shape": [H, W, 3]}

``config_hash`` is the env's hash of everything that defines the MDP and the cell (the cell-plate
envs have one); a different hash with the same grid and image size is a different cell or
setting: fine for evaluating or pretraining (a warning), not for continuing a log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.vec_env import VecEnv

from rmrl_agents.common.preprocessing import image_shape
from rmrl_agents.errors import IncompatibleEnvError
from rmrl_agents.stores.files import to_jsonable


def _base_env(env: gym.Env | VecEnv) -> Any:
    """The innermost env of a gym env or a one-env VecEnv (None if not reachable)."""
    if isinstance(env, VecEnv):
        envs = getattr(env.unwrapped, "envs", None)
        return envs[0].unwrapped if envs else None
    return env.unwrapped


def _jsonable_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    out = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v for k, v in kwargs.items()}
    try:
        json.dumps(to_jsonable(out), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return to_jsonable(out)


def _outer_env(env: gym.Env | VecEnv) -> Any:
    """The gym env an agent sees, wrappers included (inside a VecEnv: its first env), or None."""
    if isinstance(env, VecEnv):
        envs = getattr(env.unwrapped, "envs", None)
        return envs[0] if envs else None
    return env


def env_signature(env: gym.Env | VecEnv) -> dict[str, Any]:
    """The signature (see the module docstring) of a gym env or a one-env VecEnv; the image shape is
    the one the agent sees (after observation wrappers such as
    :class:`~rmrl_agents.common.wrappers.PlateCropAsImage`)."""
    base, outer = _base_env(env), _outer_env(env)
    spec = getattr(base, "spec", None)
    grid = getattr(base, "grid", None)
    obs_space = outer.observation_space if outer is not None else env.observation_space
    try:
        shape: list[int] | None = list(image_shape(obs_space))
    except (KeyError, TypeError, ValueError):
        shape = None
    return {
        "env_id": spec.id if spec is not None else None,
        "env_kwargs": _jsonable_kwargs(spec.kwargs) if spec is not None else None,
        "config_hash": getattr(base, "config_hash", None),
        "grid": dataclasses.asdict(grid) if dataclasses.is_dataclass(grid) and not isinstance(grid, type) else None,
        "action_nvec": [int(n) for n in getattr(env.action_space, "nvec", [])],
        "image_shape": shape,
    }


def describe_grid(sig: Mapping[str, Any]) -> str:
    g = sig.get("grid")
    if not g:
        return f"MultiDiscrete({sig.get('action_nvec')})"
    return f"±{g['max_xy_mm']:g} mm/{g['step_xy_mm']:g} mm, ±{g['max_yaw_deg']:g}°/{g['step_yaw_deg']:g}°"


def signature_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(what makes them incompatible, what only differs in config), each as sentences.

    Incompatible: another grid (by value where both record one), another action space, another
    image size. Config only: another ``config_hash``.
    """
    errors = []
    if saved.get("grid") and current.get("grid") and saved["grid"] != current["grid"]:
        errors.append(f"grid {describe_grid(saved)}, this env has {describe_grid(current)}")
    elif saved.get("action_nvec") and current.get("action_nvec") and saved["action_nvec"] != current["action_nvec"]:
        errors.append(f"action space MultiDiscrete({saved['action_nvec']}), this env has MultiDiscrete({current['action_nvec']})")
    if saved.get("image_shape") and current.get("image_shape") and saved["image_shape"] != current["image_shape"]:
        errors.append(f"images of {saved['image_shape']}, this env gives {current['image_shape']}")
    config = []
    if saved.get("config_hash") and current.get("config_hash") and saved["config_hash"] != current["config_hash"]:
        config.append(f"env config hash {saved['config_hash']}, this env has {current['config_hash']}")
    return errors, config


def check_signature(
    saved: Mapping[str, Any] | None, current: Mapping[str, Any], what: str, fix: str, config_must_match: bool = False
) -> None:
    """Raise :class:`IncompatibleEnvError` (``"<what> was made on grid ..., this env has ...; <fix>"``) on a mismatch.

    :param saved: the stored signature (None: made before signatures were stored; not checked).
    :param config_must_match: a different ``config_hash`` is an error too (else a warning).
    """
    if not saved:
        return
    errors, config = signature_differences(saved, current)
    if config_must_match:
        errors += config
    elif config:
        warnings.warn(f"{what} was made on another env config ({'; '.join(config)})", stacklevel=3)
    if errors:
        raise IncompatibleEnvError(f"{what} was made on {'; '.join(errors)}; {fix}")


def model_zip(path: str | os.PathLike[str]) -> Path:
    """The file SB3's ``load(path)`` opens: ``path`` itself if it exists, else ``path`` + ".zip"
    (``save("m")`` writes m.zip, and ``load("m")`` and ``load("m.zip")`` both find it)."""
    given = Path(path)
    with_suffix = Path(f"{given}.zip")
    return with_suffix if not given.exists() and with_suffix.exists() else given


def saved_attributes(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The plain JSON attributes SB3 stored in a model zip (algorithm name, env signature, ...);
    ``path`` with or without its ".zip", as SB3's ``load`` takes it.

    :raises ValueError: not a model zip.
    """
    path = model_zip(path)
    try:
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.read("data"))
    except (OSError, zipfile.BadZipFile, KeyError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a saved rmrl/SB3 model ({err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a saved rmrl/SB3 model (its data is not an object)")
    return data


def check_model_env(path: str | os.PathLike[str], env: gym.Env | VecEnv) -> None:
    """Raise :class:`IncompatibleEnvError` if the model saved at ``path`` was trained on another grid
    or image size than ``env`` has (a different config hash only warns)."""
    check_signature(
        saved_attributes(path).get("env_signature"),
        env_signature(env),
        f"the model {model_zip(path)}",
        "pass an env made with the same settings (or none: rmrl eval rebuilds it from the model file)",
    )


def explain_space_mismatch(err: ValueError, path: object) -> ValueError:
    """SB3's "Observation spaces do not match: A != B" as "the model was trained on A, this env gives B";
    any other error unchanged."""
    found = re.match(r"(\w+) spaces do not match: (.*) != (.*)", str(err), re.S)
    if not found:
        return err
    kind, trained, given = found.groups()
    return IncompatibleEnvError(
        f"the model {path} was trained on the {kind.lower()} space {trained}, this env gives {given}; "
        "pass an env made with the same settings"
    )
