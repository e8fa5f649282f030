"""rmrl_agents: REINFORCE, RL + replay buffer and RM-RL as Stable-Baselines3 algorithms.

    from rmrl_agents import REINFORCE, ReplayREINFORCE, RMRL
    model = RMRL("MultiInputPolicy", "CellPlatePlace-sim-v0", seed=0, data_dir="runs/rmrl")
    model.learn(200, progress_bar=True)
    len(model.dataset)          # role-model labels so far (persisted under data_dir)

Importing the package registers the synthetic test env ``rmrl_agents/SyntheticPlate-v0``.
"""

from rmrl_agents.dataset import RoleModelDataset
from rmrl_agents.errors import DatasetError, IncompatibleEnvError
from rmrl_agents.policies import MultiInputPolicy, RoleModelPolicy
from rmrl_agents.reinforce import REINFORCE
from rmrl_agents.replay_reinforce import ReplayREINFORCE
from rmrl_agents.rmrl import RMRL, select_role_model
from rmrl_agents.storage import TrialLog
from rmrl_agents.testing import register as _register_synthetic_env

_register_synthetic_env()

__version__ = "0.1.0"

ALGORITHMS = {"reinforce": REINFORCE, "replay": ReplayREINFORCE, "rmrl": RMRL}

__all__ = [
    "ALGORITHMS",
    "REINFORCE",
    "RMRL",
    "DatasetError",
    "IncompatibleEnvError",
    "MultiInputPolicy",
    "ReplayREINFORCE",
    "RoleModelDataset",
    "RoleModelPolicy",
    "TrialLog",
    "select_role_model",
]
