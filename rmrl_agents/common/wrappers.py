"""Observation wrappers for the agents.

:class:`PlateCropAsImage` gives the agents the env's plate-centred crop (``gym.make(id,
plate_crop=True)``: a fixed metric window around P^e at the camera's own resolution) as their
``"image"``. In the full 120×160 image the two plate types differ in no pixel by more than 20
grey levels and a linear probe on the benchmark encoder's features is at chance; in the 75×100
crop it separates them 97–100 % (``benchmarks/plate_types_separable.py``). Every agent, trial
log and role-model dataset then works on the crop unchanged: to them it is the image.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium import spaces

from rmrl_agents.policies import IMAGE_KEY

#: the env's observation key of the plate-centred crop
CROP_KEY = "plate_crop"


class PlateCropAsImage(gym.ObservationWrapper[dict[str, Any], Any, dict[str, Any]]):
    """``obs["image"] = obs["plate_crop"]`` (the crop key is dropped); the env must be made with
    ``plate_crop`` on, else ``ValueError`` naming the keyword."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or CROP_KEY not in space.spaces:
            raise ValueError(
                f"PlateCropAsImage needs an env with a {CROP_KEY!r} observation: make it with "
                f"gym.make(id, {CROP_KEY}=True); got observation keys "
                f"{sorted(space.spaces) if isinstance(space, spaces.Dict) else space}"
            )
        keys = {k: v for k, v in space.spaces.items() if k not in (IMAGE_KEY, CROP_KEY)}
        self.observation_space = spaces.Dict({IMAGE_KEY: space[CROP_KEY], **keys})

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in observation.items() if k not in (IMAGE_KEY, CROP_KEY)}
        return {IMAGE_KEY: observation[CROP_KEY], **out}


__all__ = ["CROP_KEY", "PlateCropAsImage"]
