"""Making the project's envs by id (like SB3's ``common.env_util``): the one ``make_env``.

``rmrl_env`` registers the cell-plate ids when imported; the synthetic test env is registered only
when its id is asked for. Nothing here imports gymnasium until an env is made.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gymnasium as gym


class UnknownEnvIdError(ValueError):
    """An env id that neither rmrl_env nor the synthetic env registers."""


def ensure_registered(env_id: str) -> None:
    """Register ``env_id`` if it is one of the project's.

    :raises UnknownEnvIdError: naming the registered cell-plate ids and how to get the others.
    """
    import gymnasium as gym

    from rmrl_agents.common.envs.synthetic import SYNTHETIC_ENV_ID, register_synthetic_env

    if env_id == SYNTHETIC_ENV_ID:
        register_synthetic_env()
    if env_id not in gym.registry:
        with contextlib.suppress(ImportError):
            import rmrl_env  # noqa: F401  (registers the cell-plate env ids)
    if env_id not in gym.registry:
        known = sorted(k for k in gym.registry if "Plate" in k)
        raise UnknownEnvIdError(
            f"unknown env id {env_id!r}; registered cell-plate envs: {known} "
            f"(install rmrl_env for CellPlate*-v0, or use {SYNTHETIC_ENV_ID})"
        )


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)``, registering the id first if it is one of the project's."""
    import gymnasium as gym

    ensure_registered(env_id)
    return gym.make(env_id, **dict(env_kwargs or {}))


__all__ = ["UnknownEnvIdError", "ensure_registered", "make_env"]
