"""Clear errors for envs the agents cannot drive."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from rmrl_agents import REINFORCE, RMRL, IncompatibleEnvError
from rmrl_agents.common.envs import SyntheticPlateEnv


class SpacesEnv(SyntheticPlateEnv):
    def __init__(self, observation_space=None, action_space=None) -> None:
        super().__init__()
        if observation_space is not None:
            self.observation_space = observation_space
        if action_space is not None:
            self.action_space = action_space


IMAGE = spaces.Box(0, 255, (32, 32, 3), np.uint8)
POSE = spaces.Box(-np.inf, np.inf, (3,), np.float32)


@pytest.mark.parametrize(
    "env, message",
    [
        (SpacesEnv(action_space=spaces.Box(-1, 1, (3,))), "MultiDiscrete"),
        (SpacesEnv(action_space=spaces.Discrete(9261)), "MultiDiscrete"),
        (SpacesEnv(observation_space=spaces.Dict({"image": IMAGE})), r"lacks \['pose'\]"),
        (SpacesEnv(observation_space=spaces.Dict({"rgb": IMAGE, "pose": POSE})), r"lacks \['image'\]"),
        (SpacesEnv(observation_space=IMAGE), "not a Dict"),
        (SpacesEnv(observation_space=spaces.Dict({"image": spaces.Box(0, 1, (32, 32, 3)), "pose": POSE})), "uint8"),
        (SpacesEnv(observation_space=spaces.Dict({"image": IMAGE, "pose": spaces.Box(-1, 1, (6,))})), r"shape \(3,\)"),
    ],
)
@pytest.mark.parametrize("algo", [REINFORCE, RMRL])
def test_incompatible_env_is_a_clear_error(algo, env, message) -> None:
    with pytest.raises(IncompatibleEnvError, match=message) as info:
        algo("MultiInputPolicy", env)
    assert "'image': Box(0, 255, (H, W, 3), uint8)" in str(info.value)  # says what is expected


def test_several_envs_are_refused() -> None:
    venv = DummyVecEnv([SyntheticPlateEnv, SyntheticPlateEnv])
    with pytest.raises(ValueError, match="one env"):
        REINFORCE("MultiInputPolicy", venv)


def test_unknown_policy_and_options() -> None:
    with pytest.raises(ValueError, match="unknown"):
        REINFORCE("MlpPolicy", SyntheticPlateEnv())
    with pytest.raises(ValueError, match="reward_baseline"):
        REINFORCE("MultiInputPolicy", SyntheticPlateEnv(), reward_baseline="median")
    with pytest.raises(ValueError, match="scene_size"):
        RMRL("MultiInputPolicy", SyntheticPlateEnv(), scene_size=0)


def test_env_id_string_is_accepted(tiny_policy) -> None:
    model = REINFORCE("MultiInputPolicy", "rmrl_agents/SyntheticPlate-v0", policy_kwargs=tiny_policy)
    assert model.env_id == "rmrl_agents/SyntheticPlate-v0"
    assert isinstance(gym.spec("rmrl_agents/SyntheticPlate-v0"), gym.envs.registration.EnvSpec)
