"""Reading the env's ``info`` dicts in the agents: failure codes and metrics as plain values.

Sim-only ground truth is read through the env's one accessor, :func:`rmrl_env.info.privileged`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["as_float", "failure_code"]


def failure_code(info: Mapping[str, Any]) -> str | None:
    """The trial's failure code as a plain string (``None``: no failure)."""
    failure = info.get("failure")
    return None if failure is None else str(failure)


def as_float(value: Any) -> float:
    """A metric of an info dict as a float (``None`` or missing → NaN)."""
    return math.nan if value is None else float(value)
