"""The ``rmrl`` command line: ``rmrl train ...``, ``rmrl eval ...`` and more.

Subcommands are modules with ``add_parser(subparsers)`` that registers an argparse
sub-parser and sets ``func`` (called with the parsed args, returns an exit code). Built-in
ones are listed in :data:`COMMAND_MODULES`; other packages add theirs (e.g. ``bench``,
``calibrate``) either by appending to that list or, without touching this file, through
the entry-point group ``rmrl.commands`` (``name = package.module``) in their setup.cfg.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from types import ModuleType
from typing import NoReturn

from rmrl_agents.commands._shared import UsageError
from rmrl_agents.errors import DatasetError, IncompatibleEnvError

COMMAND_MODULES: list[str] = [
    "rmrl_agents.commands.train",
    "rmrl_agents.commands.evaluate",
    "rmrl_agents.commands.bench",
    "rmrl_agents.commands.repair",
    "rmrl_agents.commands.export",
]
ENTRY_POINT_GROUP = "rmrl.commands"


def _command_modules() -> list[ModuleType]:
    """The built-in subcommand modules, then those of the ``rmrl.commands`` entry points.

    An entry point whose module cannot be imported (a stale or broken install of another
    package) is skipped with a warning on stderr, so that it cannot take the other commands down.
    """
    modules = [importlib.import_module(name) for name in COMMAND_MODULES]
    seen = {m.__name__ for m in modules}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = importlib.import_module(ep.value.split(":")[0])
        except ImportError as err:
            print(f"rmrl: warning: skipping the command {ep.name!r} ({ep.value}): {err}", file=sys.stderr)
            continue
        if module.__name__ not in seen:
            modules.append(module)
            seen.add(module.__name__)
    return modules


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one line (the problem and where to find the fix), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from rmrl_agents import __version__

    parser = OneLineErrorParser(prog="rmrl", description="Role-Model RL for precise robot manipulation.")
    parser.add_argument("--version", action="version", version=f"rmrl_agents {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules():
        module.add_parser(sub)
    return parser


#: what a full disk (or quota) raises: the user frees space, then reruns the command to resume
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def user_error_text(err: BaseException, out: str | None = None) -> str | None:
    """The one line a user's mistake (or their machine's state) is reported with, or None for an
    internal error (shown with its traceback). ``out``: the command's --out, named when a full
    disk's error does not say which file it was writing."""
    if isinstance(err, OSError) and err.errno in _DISK_FULL:
        where = err.filename or out or "the output folder"
        return (
            f"no space left on the disk holding {where} ({err.strerror or os.strerror(err.errno)}); "
            "free some space (or choose another --out), then rerun the same command: finished work is kept"
        )
    if isinstance(err, (UsageError, IncompatibleEnvError, DatasetError, FileNotFoundError, PermissionError, ConnectionError)):
        return " ".join(str(err).split())
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rmrl`` console script; returns the exit code.

    A user's mistake (bad option, unknown env id or kwarg, unreadable or damaged file, a folder in
    use) is one line on stderr naming the problem and the fix, exit code 2; an unexpected internal
    error still shows its traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, IncompatibleEnvError, DatasetError, OSError) as err:
        text = user_error_text(err, getattr(args, "out", None))
        if text is None:
            raise
        print(f"rmrl {args.command}: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"rmrl {args.command}: interrupted; every finished trial is on disk — rerun the same command to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
