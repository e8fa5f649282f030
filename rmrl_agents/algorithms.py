"""The one map from algorithm name to class, used by the CLI, the benchmarks and ``rmrl eval``."""

from __future__ import annotations

from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm
from rmrl_agents.reinforce import REINFORCE
from rmrl_agents.replay_reinforce import ReplayREINFORCE
from rmrl_agents.rl100 import RL100
from rmrl_agents.rmrl import RMRL

#: command-line name → class (``rmrl train --agent NAME``); ``rl100`` needs a continuous env
#: (``--env-kwargs '{"action_type": "continuous"}'``).
ALGORITHMS: dict[str, type[OneStepAlgorithm]] = {"reinforce": REINFORCE, "replay": ReplayREINFORCE, "rmrl": RMRL, "rl100": RL100}


def algorithm_class(name: str) -> type[OneStepAlgorithm]:
    """The class of an algorithm by its command-line name (``"rmrl"``) or class name (``"RMRL"``).

    :raises ValueError: no such algorithm (the message lists the known names).
    """
    if name in ALGORITHMS:
        return ALGORITHMS[name]
    by_class = {cls.__name__: cls for cls in ALGORITHMS.values()}
    if name in by_class:
        return by_class[name]
    raise ValueError(f"unknown algorithm {name!r}; known: {sorted(ALGORITHMS)} (or their class names {sorted(by_class)})")
