"""The limits of CellPlateEnv's scalar settings, written once: ``gym.make`` and the real cell's
config file (``python -m rmrl_env.real.config check``) both check them here.

Each checker returns the value as a float or raises :class:`~rmrl_env.errors.ConfigError`
naming ``name`` (``"reward_length_m"`` for a keyword, ``"env.reward_length_m"`` in a file).
"""

from __future__ import annotations

import math

from rmrl_env.errors import ConfigError

#: largest half-width of a repeated scene's jitter: position, metres, and yaw, radians
MAX_SCENE_JITTER_M = 0.02
MAX_SCENE_JITTER_RAD = math.radians(10.0)


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_reward_length_m(value: object, name: str = "reward_length_m") -> float:
    """L of the reward ``exp(−(e_trans / L + e_rot))``: a positive length in metres."""
    length = _number(value, name)
    if length <= 0:
        raise ConfigError(f"{name} must be a positive length in metres, got {value!r}")
    return length


def check_scene_jitter_m(value: object, name: str = "scene_jitter_m") -> float:
    jitter = _number(value, name)
    if not 0 <= jitter <= MAX_SCENE_JITTER_M:
        raise ConfigError(f"{name} must be in [0, {MAX_SCENE_JITTER_M:g}] m, got {value!r}")
    return jitter


def check_scene_jitter_rad(value: object, name: str = "scene_jitter_rad") -> float:
    jitter = _number(value, name)
    if not 0 <= jitter <= MAX_SCENE_JITTER_RAD:
        raise ConfigError(f"{name} must be in [0, {math.degrees(MAX_SCENE_JITTER_RAD):g}°] (radians), got {value!r}")
    return jitter
