"""The limits of CellPlateEnv's scalar settings, written once: ``gym.make`` and the real cell's
config file (``python -m rmrl_env.real.config check``) both check them here.

Each checker returns the value as a float or raises :class:`~rmrl_env.errors.ConfigError`
naming ``name`` (``"reward_length_m"`` for a keyword, ``"env.reward_length_m"`` in a file).
"""

from __future__ import annotations

import math
from typing import Any

from rmrl_env.errors import ConfigError

#: largest half-width of a repeated scene's jitter: position, metres, and yaw, radians
MAX_SCENE_JITTER_M = 0.02
MAX_SCENE_JITTER_RAD = math.radians(10.0)


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_image_size(image_size: Any, max_hw: tuple[int, int]) -> tuple[int, int]:
    """The observation image's (height, width), pixels: at least 8 x 8, at most the camera's frame ``max_hw``."""
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise ConfigError(f"image_size must be (height, width) in pixels, got {image_size!r}") from None
    if not (8 <= h <= max_hw[0] and 8 <= w <= max_hw[1]):
        raise ConfigError(f"image_size {(h, w)} must lie between (8, 8) and the camera's {max_hw} (height, width)")
    return h, w


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


#: The plate crop's default window on the table, metres: (along the plate's long axis, across it).
#: A 127.8 x 85.5 mm SLAS plate plus about 16 mm of table on every side, so the whole plate stays in
#: the window for localisation errors up to about a centimetre and its outline and the bench around
#: it both show; the crop is turned to the plate's estimated yaw, so one small window fits every yaw.
PLATE_CROP_WINDOW_M = (0.16, 0.12)
#: The plate crop's sampling, metres per crop pixel: the D435 colour stream at 640 x 480 (fx = 615 px)
#: about 1 m above the table, the sim's camera and the real cell's nominal one. The crop keeps the
#: camera's own detail (the observation image at 120 x 160 has 6.5 mm pixels) and has the same
#: shape on every backend.
PLATE_CROP_M_PER_PX = 0.0016
#: Smallest and largest side of a plate crop window, metres.
PLATE_CROP_SIDE_LIMITS_M = (0.02, 0.5)


def check_plate_crop(value: object, name: str = "plate_crop") -> tuple[float, float] | None:
    """The plate crop's window ``(along_m, across_m)``: ``False``/``None`` for none (the default),
    ``True`` for :data:`PLATE_CROP_WINDOW_M`, or two lengths in metres."""
    if value is None or value is False:
        return None
    if value is True:
        return PLATE_CROP_WINDOW_M
    if isinstance(value, str) or not isinstance(value, tuple | list) or len(value) != 2:
        raise ConfigError(f"{name} must be true, false or a window [along_m, across_m] in metres, got {value!r}")
    low, high = PLATE_CROP_SIDE_LIMITS_M
    sides = tuple(_number(v, name) for v in value)
    if not all(low <= s <= high for s in sides):
        raise ConfigError(f"{name} window sides must be in [{low:g}, {high:g}] m, got {value!r}")
    return sides[0], sides[1]
