"""Reading a benchmark's raw results: its (seed, cell) runs, their job keys and each row's result per run."""

from __future__ import annotations

from typing import Any

from rmrl_agents.bench.config import REFERENCES, Job


def pairs(raw: dict[str, Any]) -> list[tuple[int, int | None]]:
    """The (seed, cell) runs, in a fixed order."""
    cfg = raw["config"]
    return [(s, None if c is None else int(c)) for s in range(cfg["seeds"]) for c in cfg["cells"]]


def key(method: str, seed: int | None, cell: int | None) -> str:
    """The job key of ``method`` on (seed, cell) (:attr:`~rmrl_agents.bench.config.Job.key`)."""
    return Job(method, seed, cell).key


def cell_label(cell: int | None) -> str:
    """How the tables name a cell: ``default`` or ``cell_seed N``."""
    return "default" if cell is None else f"cell_seed {cell}"


def cells_of(raw: dict[str, Any]) -> list[str]:
    """Each run's cell, in :func:`pairs` order: the groups of the grouped bootstrap."""
    return [str(c) for _, c in pairs(raw)]


def run_result(raw: dict[str, Any], method: str, seed: int, cell: int | None) -> dict[str, Any]:
    if method in REFERENCES:
        return raw["jobs"][key("references", None, cell)][method]
    if method == "RMRL-transfer":
        return raw["jobs"][key("source", seed, None)]["transfer"][str(cell)]
    return raw["jobs"][key(method, seed, cell)]
