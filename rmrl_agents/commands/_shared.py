"""Helpers shared by CLI subcommands: env creation, JSON options, tables."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from rich.console import Console
from rich.table import Table

from rmrl_agents.common.envs.synthetic import SYNTHETIC_ENV_ID, register_synthetic_env


def json_dict(text: str) -> dict[str, Any]:
    """argparse type: a JSON object, e.g. '{"image_size": [64, 64]}'."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object like '{{\"key\": 1}}', got {text!r}")
    return value


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)``, registering the id first if it is one of the project's.

    ``rmrl_env`` registers the cell-plate ids when imported; the synthetic test env is
    registered only when its id is asked for.
    """
    if env_id == SYNTHETIC_ENV_ID:
        register_synthetic_env()
    if env_id not in gym.registry:
        with contextlib.suppress(ImportError):
            import rmrl_env  # noqa: F401  (registers the cell-plate env ids)
    if env_id not in gym.registry:
        known = sorted(k for k in gym.registry if "Plate" in k)
        raise gym.error.UnregisteredEnv(
            f"unknown env id {env_id!r}; registered cell-plate envs: {known} "
            f"(install rmrl_env for CellPlate*-v0, or use {SYNTHETIC_ENV_ID})"
        )
    return gym.make(env_id, **dict(env_kwargs or {}))


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "—" if value != value else f"{value:.{digits}f}"
    return str(value)


def print_table(title: str, rows: Mapping[str, Any], console: Console | None = None) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in rows.items():
        table.add_row(key, fmt(value))
    (console or Console()).print(table)
