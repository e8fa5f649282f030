"""A ``rmrl train`` output folder: its lock, its settings file and its appending logger.

The folder is locked (``OUT/.lock``, an exclusive non-blocking ``flock`` holding the owner's pid)
before any file in it is touched, so a second process on the same ``--out`` is refused without
emptying anyone's files. The CSV log is appended to on resume (SB3's own CSV writer truncates it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO

from stable_baselines3.common.logger import CSVOutputFormat, KVWriter, Logger, make_output_format

from rmrl_agents.commands._shared import UsageError, lock_out_folder
from rmrl_agents.stores.files import write_json_atomic

#: run.json keys that must match to resume a run (the step budget may change)
RESUME_KEYS = ("agent", "env", "env_kwargs", "agent_kwargs", "policy_kwargs", "seed")


def lock_run_folder(out: Path) -> TextIO:
    """Create ``out`` if needed and lock it for this process (closing the returned file unlocks).

    :raises UsageError: ``out`` is not a writable folder, or another process holds it.
    """
    return lock_out_folder(
        out,
        ".lock",
        f"{out} is in use by process {{pid}} (another rmrl train on this --out); wait for it to end or stop it, or use another --out",
    )


def check_run_file(out: Path, settings: dict[str, Any]) -> bool:
    """Whether ``out`` holds a run (True: resume); if so, check its settings match ``settings``.

    :raises UsageError: run.json is unreadable or holds other settings.
    """
    path = out / "run.json"
    if not path.exists():
        return False
    try:
        saved = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{path} is unreadable ({err}); restore it, or move it away to start the run's settings anew") from None
    differ = {k: (saved.get(k), settings[k]) for k in RESUME_KEYS if saved.get(k) != settings[k]}
    if differ:
        detail = "; ".join(f"{k}: run has {a!r}, command gives {b!r}" for k, (a, b) in differ.items())
        raise UsageError(f"{out} holds a different run ({detail}); use the same settings to resume, or another --out")
    return True


def write_run_file(out: Path, settings: dict[str, Any]) -> None:
    write_json_atomic(out / "run.json", {**settings, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


class AppendingCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV writer, appending to an existing file (its header is read back) instead of emptying it."""

    def __init__(self, filename: str) -> None:  # replaces the parent's "w+" open
        self.file = open(filename, "a+")  # noqa: SIM115 (closed by close())
        self.separator, self.quotechar = ",", '"'
        self.file.seek(0)
        header = self.file.readline().rstrip("\n")
        self.keys: list[str] = header.split(self.separator) if header else []
        content = self.file.read()
        if content and not content.endswith("\n"):  # a row cut by a kill: end it
            self.file.write("\n")

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        extra = [k for k in key_values if k not in self.keys and "csv" not in (key_excluded.get(k) or ())]
        if extra:  # a wider header: rewrite the file (append mode writes at the end, so empty it first)
            self.file.seek(0)
            rows = self.file.read().splitlines()[1:]
            self.file.seek(0)
            self.file.truncate()
            self.keys.extend(extra)
            self.file.write(self.separator.join(self.keys) + "\n")
            self.file.writelines(row + self.separator * len(extra) + "\n" for row in rows)
        super().write(key_values, key_excluded, step)


def make_logger(folder: Path, tensorboard: bool, stdout: bool) -> Logger:
    """SB3's logger writing ``folder/progress.csv`` (appended to) and optionally TensorBoard events / stdout.

    :raises UsageError: TensorBoard was asked for but is not installed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    formats: list[KVWriter] = [AppendingCSVOutputFormat(str(folder / "progress.csv"))]
    try:
        if tensorboard:
            formats.append(make_output_format("tensorboard", str(folder)))
    except (ImportError, AssertionError) as err:
        raise UsageError(f"--tensorboard needs the tensorboard package (pip install tensorboard): {err}") from None
    if stdout:
        formats.append(make_output_format("stdout", str(folder)))
    return Logger(str(folder), formats)
