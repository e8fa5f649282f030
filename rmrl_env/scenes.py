"""Reset options and scenes: what ``reset(options=...)`` may ask for, checked in one place.

RM-RL groups trials by similar initial states, so a reset either starts a **new** scene (a fresh
initial pose drawn from the reset region, or one given as ``initial_pose``) or repeats the
**same** one (the previous initial pose, re-placed with a small jitter as a hand or the robot
would). Every env of the project (the cell env and the agents' synthetic test env) parses its
options here, so they accept and refuse the same things with the same words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from rmrl_env.cell import Region
from rmrl_env.protocols import PlanarPose

Scene = Literal["new", "same"]
RESET_OPTION_KEYS = ("scene", "initial_pose")
SCENES: tuple[Scene, ...] = ("new", "same")


def parse_reset_options(options: Any, region: Region) -> tuple[Scene, PlanarPose | None]:
    """Check ``reset(options=...)``: the scene asked for, and the initial pose if one was given.

    Raises:
        ValueError: options that are not a dict, unknown keys, an unknown scene, ``initial_pose``
            together with ``scene="same"``, or an initial pose that is not 3 finite numbers or lies
            outside the reset region (position with a 10 mm margin, yaw with 1°).
    """
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(
            f"reset options must be a dict such as {{'scene': 'same'}} or {{'initial_pose': [x_m, y_m, yaw_rad]}}, "
            f"got {options!r} ({type(options).__name__})"
        )
    options = dict(options or {})
    unknown = sorted(set(options) - set(RESET_OPTION_KEYS))
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; valid keys are {list(RESET_OPTION_KEYS)}")
    scene = options.get("scene", "new")
    if scene not in SCENES:
        raise ValueError(f"options['scene'] must be 'new' or 'same', got {scene!r}")
    if "initial_pose" not in options:
        return scene, None
    if scene == "same":
        raise ValueError("give either options['initial_pose'] or options['scene']='same', not both")
    try:
        pose = PlanarPose.from_array(options["initial_pose"])
    except ValueError as err:
        raise ValueError(f"options['initial_pose'] must be [x_m, y_m, yaw_rad]: {err}") from None
    if not region.contains(pose, margin_m=0.01):
        raise ValueError(
            f"options['initial_pose'] {pose.as_array().round(4).tolist()} is outside the reset region x {region.x_m} m, y {region.y_m} m"
        )
    if not region.contains_yaw(pose.yaw_rad, margin_rad=math.radians(1.0)):
        low, high = (round(math.degrees(v), 2) for v in region.yaw_rad)
        raise ValueError(
            f"options['initial_pose'] yaw {math.degrees(pose.yaw_rad):.2f}° is outside the reset region's "
            f"yaw range [{low}°, {high}°] (radians in the pose; a plate's yaw counts modulo 180°)"
        )
    return "new", pose
