"""The one map from algorithm name to class, used by the CLI, the benchmarks and ``rmrl eval``.

The classes are imported when first looked up, so that listing the names (``rmrl --help``)
does not load torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm

#: command-line name → (module, class); ``rl100`` needs a continuous env
#: (``--env-kwargs '{"action_type": "continuous"}'``); ``calibration`` learns one constant
#: adjustment from the rewards alone (a baseline a lab can run on day one).
_CLASSES = {
    "reinforce": ("rmrl_agents.reinforce", "REINFORCE"),
    "replay": ("rmrl_agents.replay_reinforce", "ReplayREINFORCE"),
    "rmrl": ("rmrl_agents.rmrl", "RMRL"),
    "rl100": ("rmrl_agents.rl100", "RL100"),
    "calibration": ("rmrl_agents.calibration", "OffsetCalibration"),
}


class _Algorithms(Mapping[str, "type[OneStepAlgorithm]"]):
    """``{"reinforce": REINFORCE, ...}``, importing a class on first access."""

    def __getitem__(self, name: str) -> type[OneStepAlgorithm]:
        module, cls = _CLASSES[name]
        return getattr(importlib.import_module(module), cls)

    def __iter__(self) -> Iterator[str]:
        return iter(_CLASSES)

    def __len__(self) -> int:
        return len(_CLASSES)


#: command-line name → class (``rmrl train --agent NAME``)
ALGORITHMS: Mapping[str, type[OneStepAlgorithm]] = _Algorithms()


def algorithm_class(name: str) -> type[OneStepAlgorithm]:
    """The class of an algorithm by its command-line name (``"rmrl"``) or class name (``"RMRL"``).

    :raises ValueError: no such algorithm (the message lists the known names).
    """
    if name in ALGORITHMS:
        return ALGORITHMS[name]
    by_class = {cls: key for key, (_, cls) in _CLASSES.items()}
    if name in by_class:
        return ALGORITHMS[by_class[name]]
    raise ValueError(f"unknown algorithm {name!r}; known: {sorted(ALGORITHMS)} (or their class names {sorted(by_class)})")
