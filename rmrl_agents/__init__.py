"""rmrl_agents: REINFORCE, RL + replay buffer, RM-RL and RL100 as Stable-Baselines3 algorithms.

    from rmrl_agents import REINFORCE, ReplayREINFORCE, RMRL
    model = RMRL("MultiInputPolicy", "CellPlatePlace-sim-v0", seed=0, data_dir="runs/rmrl")
    model.learn(200, progress_bar=True)
    len(model.dataset)          # role-model labels so far (persisted under data_dir)

Importing the package registers no env. A fast synthetic env for tests and quick checks lives
in :mod:`rmrl_agents.common.envs`; ``register_synthetic_env()`` registers it as
``rmrl_agents/SyntheticPlate-v0``.
"""

from rmrl_agents.algorithms import ALGORITHMS, algorithm_class
from rmrl_agents.common.evaluation import evaluate_policy, fixed_poses
from rmrl_agents.dataset import RoleModelDataset
from rmrl_agents.errors import DatasetError, IncompatibleEnvError
from rmrl_agents.policies import MultiInputPolicy, RoleModelPolicy
from rmrl_agents.reinforce import REINFORCE
from rmrl_agents.replay_reinforce import ReplayREINFORCE
from rmrl_agents.rl100 import RL100
from rmrl_agents.rmrl import RMRL, select_role_model
from rmrl_agents.storage import TrialLog

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
