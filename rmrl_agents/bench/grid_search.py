"""Pattern search over a MultiDiscrete grid: the search of the reference rows that are bounds
(:mod:`rmrl_agents.bench.references`), on any objective a function of the grid action gives."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Action = tuple[int, ...]

_CUBE = tuple(o for o in itertools.product((-1, 0, 1), repeat=3) if any(o))
_AXIAL = tuple(o for o in _CUBE if sum(map(abs, o)) == 1)
_DIAGONAL = tuple(o for o in _CUBE if o not in _AXIAL)
_FAR = tuple(tuple(k * v for v in o) for k in (2, 3) for o in _AXIAL)
#: Offsets polled around the incumbent, in tiers: a tier is polled only once every earlier tier
#: failed to improve (a move goes back to the first). "axial": the 6 one-axis steps; "cube": the 26
#: of the 3x3x3 cube at once; "axial-cube": the 6, then the cube's 20 others; "wide": those, then
#: jumps of 2 and 3 steps along one axis (across the plateaus where the jaws centre the plate).
NEIGHBOURHOODS: dict[str, tuple[tuple[Action, ...], ...]] = {
    "axial": (_AXIAL,),
    "cube": (_CUBE,),
    "axial-cube": (_AXIAL, _DIAGONAL),
    "wide": (_AXIAL, _DIAGONAL, _FAR),
}
#: Default search settings: the "wide" tiers, within ±4 steps of the start on every axis (±4 mm, ±2°
#: on the default grid); ``benchmarks/reference_search.py`` measures what they cost and leave.
DEFAULT_NEIGHBOURHOOD = "wide"
DEFAULT_RADIUS = 4


@dataclass(frozen=True)
class SearchResult:
    """A pattern search's evaluated points (in order) and its best; ``converged``: it stopped at a point
    no neighbour in the box improves on, rather than at its evaluation cap."""

    values: dict[Action, Any]
    best: Action
    converged: bool


def pattern_search(
    value: Callable[[Action], Any],
    start: Sequence[int],
    nvec: Sequence[int],
    *,
    rank: Callable[[Any], Any],
    max_evals: int,
    radius: int = DEFAULT_RADIUS,
    neighbourhood: str = DEFAULT_NEIGHBOURHOOD,
) -> SearchResult:
    """Minimise ``rank(value(a))`` over grid actions ``a`` by opportunistic pattern search.

    From ``start``, poll the neighbours of the incumbent (:data:`NEIGHBOURHOODS`, tier by tier) that
    lie on the grid (``0 <= a < nvec``) and within ±``radius`` steps of ``start``, the direction of
    the last move first; move to the first that is strictly better and poll again from the first
    tier. Stop when every tier's poll improves nothing (``converged``) or ``max_evals`` distinct
    actions were evaluated (each once). The incumbent is always the best point evaluated so far, so
    the result is never worse than ``start``.
    """
    if max_evals < 1 or radius < 0:
        raise ValueError(f"need max_evals >= 1 and radius >= 0, got {max_evals} and {radius}")
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f"neighbourhood must be one of {sorted(NEIGHBOURHOODS)}, got {neighbourhood!r}")
    origin = tuple(int(i) for i in start)
    lo = [max(0, s - radius) for s in origin]
    hi = [min(int(n) - 1, s + radius) for s, n in zip(origin, nvec, strict=True)]
    values: dict[Action, Any] = {origin: value(origin)}
    best: Action = origin
    last: Action | None = None
    tier = 0
    tiers = NEIGHBOURHOODS[neighbourhood]
    while tier < len(tiers):
        moved = False
        for off in sorted(tiers[tier], key=lambda o: o != last):
            cand = tuple(b + o for b, o in zip(best, off, strict=True))
            if cand in values or any(c < a or c > b for c, a, b in zip(cand, lo, hi, strict=True)):
                continue
            if len(values) >= max_evals:
                return SearchResult(values, best, converged=False)
            values[cand] = value(cand)
            if rank(values[cand]) < rank(values[best]):
                best, last, moved = cand, off, True
                break
        tier = 0 if moved else tier + 1
    return SearchResult(values, best, converged=True)


def box_size(start: Sequence[int], nvec: Sequence[int], radius: int) -> int:
    """Grid actions within ±``radius`` steps of ``start`` on every axis."""
    return int(np.prod([min(int(n) - 1, s + radius) - max(0, s - radius) + 1 for s, n in zip(start, nvec, strict=True)]))
