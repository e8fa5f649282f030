"""Exporting a run's trial log to the robot-learning ecosystem's dataset formats (``rmrl export``).

One small module per format, each an optional extra (``pip install 'rmrl[minari]'``); see
:data:`FORMATS`. :mod:`rmrl_agents.export.fields` says how a trial-log record becomes the
fields every format writes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class Format:
    """An export format: the module that writes it, the package it needs and the extra that installs it."""

    module: str
    requires: str
    extra: str


FORMATS: dict[str, Format] = {
    "minari": Format("rmrl_agents.export.minari_format", "minari", "minari"),
}

#: formats asked for that cannot be offered, and why (named in the error)
UNAVAILABLE: dict[str, str] = {
    "lerobot": "LeRobot cannot be installed beside torch 2.13 (every lerobot release caps torch below 2.11, and "
    "its loader imports torchvision, whose PyPI build for torch 2.13 needs CUDA torch)",
}


def exporter(name: str) -> ModuleType:
    """The module of format ``name``, with its ``export(log, out)``, once the package it needs imports.

    :raises KeyError: no such format. :raises ImportError: its extra is not installed.
    """
    importlib.import_module(FORMATS[name].requires)
    return importlib.import_module(FORMATS[name].module)


def is_empty_or_missing(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


__all__ = ["FORMATS", "UNAVAILABLE", "Format", "exporter", "is_empty_or_missing"]
