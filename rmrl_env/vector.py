"""Several cell envs at once: :func:`make_vec`, ``gym.make_vec`` with the settings a one-step env needs.

* Worker processes start with ``spawn``: a MuJoCo OpenGL context does not survive ``fork``. A
  spawned worker re-imports the calling script, so a script that makes vector envs must guard
  its top level with ``if __name__ == "__main__":`` (Python's multiprocessing rule).
* Episodes reset in the step that ends them (``AutoresetMode.SAME_STEP``). Every episode here is
  one step long; under Gymnasium's default (``NEXT_STEP``) every second ``step`` call only
  resets the finished envs, ignores the action and returns reward 0, so half the steps would
  carry no trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

#: what :func:`make_vec` passes as ``vector_kwargs`` unless told otherwise
VECTOR_DEFAULTS: dict[str, Any] = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
#: and, for worker processes (``vectorization_mode="async"``), their start method
ASYNC_DEFAULTS: dict[str, Any] = {"context": "spawn"}


def make_vec(
    env_id: str,
    num_envs: int = 2,
    vectorization_mode: str = "async",
    vector_kwargs: Mapping[str, Any] | None = None,
    **env_kwargs: Any,
) -> gym.vector.VectorEnv:
    """``gym.make_vec(env_id, num_envs, vectorization_mode, ...)`` with same-step autoreset and
    (async) spawned workers; ``vector_kwargs`` and ``env_kwargs`` as for ``gym.make_vec``.

    ``terminal observations`` are then in ``info["final_obs"]`` of the step that ended them, and
    ``reset(options=...)`` of the next scene is not needed: every step is a trial.
    """
    import rmrl_env  # noqa: F401  (registers the cell-plate ids)

    settings = {**VECTOR_DEFAULTS, **(ASYNC_DEFAULTS if vectorization_mode == "async" else {}), **dict(vector_kwargs or {})}
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=vectorization_mode, vector_kwargs=settings, **env_kwargs)
