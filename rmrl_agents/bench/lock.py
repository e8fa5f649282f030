"""The lock of a benchmark's ``--out`` folder: one ``rmrl bench`` at a time per folder.

A bench reuses the finished jobs in its folder and clears what an unfinished attempt left, so a
second bench on a folder in use would delete the first's live run folders. The first takes an
exclusive ``flock`` on ``OUT/.bench.lock`` (its pid inside) before anything in the folder is
touched and holds it until it ends; the operating system drops the lock when the process dies,
so a killed bench leaves no stale lock behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from rmrl_agents.commands._shared import lock_out_folder

LOCK_NAME = ".bench.lock"


def lock_bench_folder(out: Path) -> TextIO:
    """Create ``out`` if needed and lock it for this process (closing the returned file unlocks).

    :raises UsageError: ``out`` is a file or not writable, or another bench holds it.
    """
    return lock_out_folder(
        out,
        LOCK_NAME,
        f"{out} is in use by another rmrl bench (process {{pid}}); wait for it to end or stop it, or use another --out",
    )
