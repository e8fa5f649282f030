"""The one-env VecEnv of the rmrl agents: its automatic reset after a trial honours reset options."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn


class SceneVecEnv(DummyVecEnv):
    """A ``DummyVecEnv`` whose automatic reset after a trial uses the reset options.

    SB3's ``DummyVecEnv`` resets a finished episode without options; here the options given
    with :meth:`set_options` before ``step`` reach that reset (then are cleared), so an agent
    can ask for ``{"scene": "same"}`` for the next trial without paying an extra reset — on the
    real robot a reset moves the plate.

    ``episode_end_hook(i, reward, info)``, if set, is called when env ``i``'s episode ends and
    before its automatic reset (the step most likely to fail on a real cell: staging, plate not
    found), so that the finished trial can be recorded first.
    """

    episode_end_hook: Callable[[int, float, dict[str, Any]], None] | None = None

    def step_wait(self) -> VecEnvStepReturn:
        for i, env in enumerate(self.envs):
            obs, reward, terminated, truncated, info = env.step(self.actions[i])
            self.buf_rews[i] = float(reward)
            self.buf_infos[i] = info
            self.buf_dones[i] = terminated or truncated
            self.buf_infos[i]["TimeLimit.truncated"] = truncated and not terminated
            if self.buf_dones[i]:
                self.buf_infos[i]["terminal_observation"] = obs
                if self.episode_end_hook is not None:
                    self.episode_end_hook(i, float(reward), self.buf_infos[i])
                options = self._options[i]
                obs, self.reset_infos[i] = env.reset(options=options) if options else env.reset()
            self._save_obs(i, obs)
        self._reset_options()
        return self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones), [dict(x) for x in self.buf_infos]


@contextlib.contextmanager
def before_auto_reset(venv: VecEnv, hook: Callable[[int, float, dict[str, Any]], None]) -> Iterator[None]:
    """Within the block, a :class:`SceneVecEnv` calls ``hook(i, reward, info)`` when an episode
    ends, before its automatic reset (another VecEnv: nothing is called)."""
    scene_venv = venv.unwrapped if isinstance(venv.unwrapped, SceneVecEnv) else None
    if scene_venv is not None:
        scene_venv.episode_end_hook = hook
    try:
        yield
    finally:
        if scene_venv is not None:
            scene_venv.episode_end_hook = None


def request_scene(venv: VecEnv, scene: str, warn: bool = True) -> bool:
    """Ask for ``{"scene": scene}`` at the automatic reset after the next step.

    Only a :class:`SceneVecEnv` honours it; for another VecEnv this warns (if ``warn``) and
    returns True (a warning was given), so callers can warn once.
    """
    venv.set_options({"scene": scene})
    if isinstance(venv.unwrapped, SceneVecEnv) or not warn:
        return False
    warnings.warn(
        f"the agent asks for reset options {{'scene': ...}} but the VecEnv is a {type(venv.unwrapped).__name__}, "
        "whose automatic reset ignores them; pass the gym env itself",
        stacklevel=3,
    )
    return True


def registered_id(venv: VecEnv | None) -> str | None:
    """The Gymnasium id the (first) env of a one-env VecEnv was made with, if any."""
    envs = getattr(venv.unwrapped, "envs", None) if venv is not None else None  # a DummyVecEnv's envs
    spec = envs[0].unwrapped.spec if envs else None
    return spec.id if spec is not None else None
