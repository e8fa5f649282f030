"""rmrl_agents: REINFORCE, RL + replay buffer, RM-RL and RL100 as Stable-Baselines3 algorithms.

    from rmrl_agents import REINFORCE, ReplayREINFORCE, RMRL
    model = RMRL("MultiInputPolicy", "CellPlatePlace-sim-v0", seed=0, data_dir="runs/rmrl")
    model.learn(200, progress_bar=True)
    len(model.dataset)          # role-model labels so far (persisted under data_dir)

Importing the package registers no env. A fast synthetic env for tests and quick checks lives
in :mod:`rmrl_agents.common.envs`; ``register_synthetic_env()`` registers it as
``rmrl_agents/SyntheticPlate-v0``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rmrl_agents.algorithms import ALGORITHMS, algorithm_class
    from rmrl_agents.common.evaluation import evaluate_policy, fixed_poses
    from rmrl_agents.errors import DatasetError, IncompatibleEnvError
    from rmrl_agents.policies import MultiInputPolicy, RoleModelPolicy
    from rmrl_agents.reinforce import REINFORCE
    from rmrl_agents.replay_reinforce import ReplayREINFORCE
    from rmrl_agents.rl100 import RL100
    from rmrl_agents.rmrl import RMRL, select_role_model
    from rmrl_agents.stores.dataset import RoleModelDataset
    from rmrl_agents.stores.trial_log import TrialLog

#: public name → the module it comes from; imported on first use, so that ``rmrl --help`` and the
#: light modules (errors, stores) do not load torch and Stable-Baselines3
_LAZY = {
    "ALGORITHMS": "rmrl_agents.algorithms",
    "algorithm_class": "rmrl_agents.algorithms",
    "evaluate_policy": "rmrl_agents.common.evaluation",
    "fixed_poses": "rmrl_agents.common.evaluation",
    "RoleModelDataset": "rmrl_agents.stores.dataset",
    "DatasetError": "rmrl_agents.errors",
    "IncompatibleEnvError": "rmrl_agents.errors",
    "MultiInputPolicy": "rmrl_agents.policies",
    "RoleModelPolicy": "rmrl_agents.policies",
    "REINFORCE": "rmrl_agents.reinforce",
    "ReplayREINFORCE": "rmrl_agents.replay_reinforce",
    "RL100": "rmrl_agents.rl100",
    "RMRL": "rmrl_agents.rmrl",
    "select_role_model": "rmrl_agents.rmrl",
    "TrialLog": "rmrl_agents.stores.trial_log",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'rmrl_agents' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "REINFORCE",
    "RL100",
    "RMRL",
    "DatasetError",
    "IncompatibleEnvError",
    "MultiInputPolicy",
    "ReplayREINFORCE",
    "RoleModelDataset",
    "RoleModelPolicy",
    "TrialLog",
    "algorithm_class",
    "evaluate_policy",
    "fixed_poses",
    "select_role_model",
]
