"""Image layouts: the env gives (H, W, 3), SB3 may hand the policy (3, H, W); logs keep the env's."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rmrl_agents.errors import DatasetError
from rmrl_agents.policies import IMAGE_KEY


def image_shape(observation_space: spaces.Space) -> tuple[int, ...]:
    """The shape of the ``"image"`` entry of a Dict observation space."""
    if not isinstance(observation_space, spaces.Dict) or IMAGE_KEY not in observation_space.spaces:
        raise ValueError(f"expected a Dict observation space with an 'image' entry, got {observation_space!r}")
    return tuple(observation_space[IMAGE_KEY].shape or ())


def to_policy_layout(images: np.ndarray, policy_shape: tuple[int, ...]) -> np.ndarray:
    """A batch of stored images (B, *shape) in the layout the policy takes, (B, *policy_shape).

    Accepts channel-last or channel-first images and transposes them as needed.

    :raises DatasetError: the images have another size.
    """
    got = tuple(images.shape[1:])
    want = tuple(policy_shape)
    if got == want:
        return images
    if got == (want[1], want[2], want[0]):
        return np.transpose(images, (0, 3, 1, 2))
    if got == (want[2], want[0], want[1]):
        return np.transpose(images, (0, 2, 3, 1))
    raise DatasetError(f"stored images have shape {got}, the policy takes {want}")


def to_env_layout(image: np.ndarray, env_shape: tuple[int, ...]) -> np.ndarray:
    """One observation image in the env's own layout ``env_shape`` (H, W, 3).

    :raises ValueError: the image is neither that shape nor its channel-first transpose.
    """
    if image.shape == env_shape:
        return image
    if image.shape == (env_shape[2], env_shape[0], env_shape[1]):
        return np.transpose(image, (1, 2, 0))
    raise ValueError(f"cannot map an image of shape {image.shape} to the env's {env_shape}")
