"""Envs for tests and quick checks (like SB3's ``common.envs``); nothing is registered on import."""

from rmrl_agents.common.envs.synthetic import SYNTHETIC_ENV_ID, SyntheticPlateEnv, register_synthetic_env

__all__ = ["SYNTHETIC_ENV_ID", "SyntheticPlateEnv", "register_synthetic_env"]
