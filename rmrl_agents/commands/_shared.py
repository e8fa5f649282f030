"""Helpers shared by CLI subcommands: user errors, env creation, JSON and number options, tables."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rmrl_agents.errors import DatasetError, IncompatibleEnvError

if TYPE_CHECKING:  # gymnasium and rich load when a command runs, not for rmrl --help
    import gymnasium as gym
    from rich.console import Console


class UsageError(Exception):
    """A mistake in how a command was called: ``rmrl`` prints its message as one line and exits with 2."""


@contextlib.contextmanager
def user_errors(what: str, fix: str) -> Iterator[None]:
    """Turn what bad arguments raise inside the block (unknown or mistyped kwargs, unknown env ids,
    unreadable paths) into a :class:`UsageError` ``"<what>: <error>; <fix>"``. An env that does not
    fit (:class:`IncompatibleEnvError`) passes unchanged: its message names its own fix."""
    import gymnasium as gym

    try:
        yield
    except IncompatibleEnvError:
        raise
    except (TypeError, ValueError, gym.error.Error, OSError) as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"{what}: {text}; {fix}") from err


def lock_out_folder(out: Path, lock_name: str, busy: str) -> TextIO:
    """Create the folder ``out`` if needed and lock it for this process with an exclusive
    ``flock`` on ``out/lock_name`` holding the pid (closing the returned file unlocks).

    :param busy: the message when another process holds the lock; ``{pid}`` names it.
    :raises UsageError: ``out`` is a file or not writable, or another process holds it.
    """
    from rmrl_agents.stores.files import acquire_lock

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        return acquire_lock(out / lock_name, busy)
    except PermissionError as err:
        raise UsageError(
            f"cannot create or write --out {out} ({err.strerror}); fix its permissions or choose another --out"
        ) from None
    except DatasetError as err:
        raise UsageError(str(err)) from None


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    return value


def reward_threshold(text: str) -> float:
    """argparse type: a reward level in (0, 1], the range of the reward exp(−(e_trans / L + e_rot))."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value:g} can never be reached: rewards lie in (0, 1]; give a threshold in (0, 1]")
    return value


def check_output_file(path: Path, option: str) -> None:
    """Before any work: ``path`` can be written (its folder exists and is writable, it is not a folder).

    :raises UsageError: naming the problem and ``option``.
    """
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory; give a file name")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: the folder {parent} does not exist; create it or choose another path")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path} is not writable; choose another path or fix the permissions")


def json_dict(text: str) -> dict[str, Any]:
    """argparse type: a JSON object, e.g. '{"image_size": [64, 64]}'."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object like '{{\"key\": 1}}', got {text!r}")
    return value


def make_env_for_command(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env:
    """:func:`~rmrl_agents.common.env_util.make_env` for a command: an unknown env id, or kwargs the
    env refuses, are a :class:`UsageError` naming what to fix."""
    from rmrl_agents.common.env_util import UnknownEnvIdError, ensure_registered, make_env

    try:
        ensure_registered(env_id)
    except UnknownEnvIdError as err:
        raise UsageError(str(err)) from None
    with user_errors(
        f"cannot make the env {env_id!r} with {dict(env_kwargs or {})}", "check --env-kwargs (names, types, ranges)"
    ):
        return make_env(env_id, env_kwargs)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "—" if value != value else f"{value:.{digits}f}"
    return str(value)


def print_table(title: str, rows: Mapping[str, Any], console: Console | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in rows.items():
        table.add_row(key, fmt(value))
    (console or Console()).print(table)
