"""What the rmrl agents share: the one-step trial loop, its VecEnv, losses, the trial log, evaluation.

Laid out like Stable-Baselines3's ``common`` package:

* :mod:`~rmrl_agents.common.one_step_algorithm`: :class:`OneStepAlgorithm`, the base class, generic
  over its policy; :mod:`~rmrl_agents.common.grid_algorithm`: :class:`GridAlgorithm`, the grid agents' base;
* :mod:`~rmrl_agents.common.trial_storage`: opening a run's trial log (the stores themselves are in
  :mod:`rmrl_agents.stores`);
* :mod:`~rmrl_agents.common.vec_env`: :class:`SceneVecEnv`;
* :mod:`~rmrl_agents.common.losses`: policy-gradient and cross-entropy losses, reward baseline;
* :mod:`~rmrl_agents.common.trial_sync`: trial-log records and catching up after a crash;
* :mod:`~rmrl_agents.common.evaluation`: :func:`evaluate_policy`, :func:`fixed_poses`;
* :mod:`~rmrl_agents.common.info`: reading env ``info`` dicts (failure codes, metrics);
  :func:`privileged` is the env's one accessor of ground truth, :func:`rmrl_env.info.privileged`;
* :mod:`~rmrl_agents.common.envs`: a synthetic env for tests and quick checks (not registered
  until :func:`~rmrl_agents.common.envs.register_synthetic_env` is called).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm, SceneOption
    from rmrl_agents.common.trial_sync import Trial
    from rmrl_agents.common.vec_env import SceneVecEnv
    from rmrl_env.info import privileged

#: imported on first use (the submodules load torch and Stable-Baselines3)
_LAZY = {
    "privileged": "rmrl_env.info",
    "OneStepAlgorithm": "rmrl_agents.common.one_step_algorithm",
    "SceneOption": "rmrl_agents.common.one_step_algorithm",
    "Trial": "rmrl_agents.common.trial_sync",
    "SceneVecEnv": "rmrl_agents.common.vec_env",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'rmrl_agents.common' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = ["OneStepAlgorithm", "SceneOption", "SceneVecEnv", "Trial", "privileged"]
