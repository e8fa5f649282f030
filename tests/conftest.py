"""Fixtures and constants shared by every test folder (each folder adds its own conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: the checkout under test
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_python():
    """Run a snippet of Python in a fresh interpreter on the checkout; returns its stdout.

    For checks that need an import from scratch (what a module does when first imported).
    """

    def _run(code: str, timeout_s: float = 120.0) -> str:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s, env=env, cwd=REPO)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return _run
