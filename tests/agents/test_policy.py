"""The shared policy network (paper Fig. 3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space_channels_first

from rmrl_agents import REINFORCE, RMRL, MultiInputPolicy, ReplayREINFORCE, RoleModelPolicy
from rmrl_agents.resnet import ResNetEncoder

OBS = spaces.Dict({"image": spaces.Box(0, 255, (120, 160, 3), np.uint8), "pose": spaces.Box(-np.inf, np.inf, (3,), np.float32)})
ACT = spaces.MultiDiscrete([21, 21, 21])


def _policy(**kwargs) -> RoleModelPolicy:
    return RoleModelPolicy(OBS, ACT, lambda _: 1e-3, **kwargs)


def _batch(n: int, seed: int = 0) -> dict[str, th.Tensor]:
    rng = np.random.default_rng(seed)
    image = th.as_tensor(rng.integers(0, 256, (n, 120, 160, 3), dtype=np.uint8))
    pose = th.as_tensor(rng.normal([0.4, 0, 0], [0.05, 0.05, 0.2], (n, 3)).astype(np.float32))
    return {"image": image, "pose": pose}


def test_alias_is_shared_by_all_agents() -> None:
    assert MultiInputPolicy is RoleModelPolicy
    for algo in (REINFORCE, ReplayREINFORCE, RMRL):
        assert algo.policy_aliases["MultiInputPolicy"] is RoleModelPolicy


def test_three_softmax_heads_over_the_grid() -> None:
    policy = _policy(resnet_depth=10, resnet_width=8)
    obs = _batch(4)
    probs = policy.probabilities(obs)
    assert [p.shape for p in probs] == [(4, 21)] * 3
    for p in probs:
        assert th.allclose(p.sum(1), th.ones(4), atol=1e-5)
        assert th.all(p > 0)
    actions = policy(obs, deterministic=True)
    assert actions.shape == (4, 3)
    # deterministic action = argmax of each head; log π(a|s) = Σ log of the three heads
    assert th.equal(actions, th.stack([p.argmax(1) for p in probs], 1))
    logp = policy.log_prob(obs, actions)
    expect = sum(th.log(p.gather(1, actions[:, i : i + 1]).squeeze(1)) for i, p in enumerate(probs))
    assert th.allclose(logp, expect, atol=1e-5)


def test_predict_on_single_env_observation() -> None:
    policy = _policy(resnet_depth=10, resnet_width=8)
    rng = np.random.default_rng(1)
    obs = {"image": rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), "pose": np.array([0.4, 0.0, 0.1], np.float32)}
    action, _ = policy.predict(obs, deterministic=True)
    assert action.shape == (3,) and ACT.contains(action.astype(np.int64))


def test_configurable_depth_width_heads_and_encoder_input_size() -> None:
    small = _policy(resnet_depth=10, resnet_width=8, head_hidden=(32,), encoder_input_size=(60, 80))
    big = _policy(resnet_depth=18, resnet_width=8, head_hidden=(32, 32))
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(big) > n(small)
    assert len(small.heads) == 3 and len(small.heads[0]) == 3 and len(big.heads[0]) == 5
    assert small(_batch(2)).shape == (2, 3)
    with pytest.raises(ValueError, match="depth"):
        _policy(resnet_depth=12)


def test_channel_first_space_as_sb3_hands_it() -> None:
    chw = spaces.Dict({"image": spaces.Box(0, 255, (3, 120, 160), np.uint8), "pose": OBS["pose"]})
    assert is_image_space_channels_first(chw["image"])
    p_hwc, p_chw = (
        _policy(resnet_depth=10, resnet_width=8),
        RoleModelPolicy(chw, ACT, lambda _: 1e-3, resnet_depth=10, resnet_width=8),
    )
    p_chw.load_state_dict(p_hwc.state_dict())
    obs = _batch(2)
    obs_chw = {"image": obs["image"].permute(0, 3, 1, 2), "pose": obs["pose"]}
    assert th.allclose(p_hwc.logits(obs), p_chw.logits(obs_chw), atol=1e-5)


def test_outputs_do_not_depend_on_batch_composition() -> None:
    """With the default frozen batch norm, an online update on one trial sees the same
    network as a replay batch does."""
    policy = _policy(resnet_depth=10, resnet_width=8)
    policy.set_training_mode(True)
    obs = _batch(3)
    together = policy.logits(obs)
    alone = th.cat([policy.logits({k: v[i : i + 1] for k, v in obs.items()}) for i in range(3)])
    assert th.allclose(together, alone, atol=1e-5)


def test_pretrained_encoder_from_local_state_dict(tmp_path) -> None:
    source = ResNetEncoder(depth=10, base_width=8)
    with th.no_grad():
        for p in source.parameters():
            p.normal_()
    state = {f"encoder.{k}": v for k, v in source.state_dict().items()}
    state["fc.weight"] = th.zeros(10, 64)  # a classifier head is ignored
    path = tmp_path / "enc.pt"
    th.save(state, path)
    policy = _policy(resnet_depth=10, resnet_width=8, pretrained_encoder=path)
    for k, v in source.state_dict().items():
        assert th.equal(policy.image_encoder.state_dict()[k], v), k
    with pytest.raises(ValueError, match="do not fit a ResNet-18"):
        _policy(resnet_depth=18, resnet_width=8, pretrained_encoder=path)
    with pytest.raises(FileNotFoundError, match="pretrained encoder weights not found"):
        _policy(resnet_depth=10, resnet_width=8, pretrained_encoder=tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot read"):
        _policy(resnet_depth=10, resnet_width=8, pretrained_encoder=tmp_path / "bad.pt")


def test_sb3_ppo_trains_with_the_same_trunk(tmp_path) -> None:
    """SB3's own PPO gets the rmrl trunk (ResNet + pose MLP) through PlateFeaturesExtractor."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from rmrl_agents.policies import PlateFeaturesExtractor

    env = gym.make("rmrl_agents/SyntheticPlate-v0")
    trunk = {"resnet_depth": 10, "resnet_width": 8, "pose_hidden": (64, 64)}
    ppo = PPO(
        "MultiInputPolicy",
        env,
        n_steps=8,
        batch_size=8,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs={"features_extractor_class": PlateFeaturesExtractor, "features_extractor_kwargs": trunk},
    )
    before = {k: v.clone() for k, v in ppo.policy.features_extractor.state_dict().items()}
    ppo.learn(16)
    after = ppo.policy.features_extractor.state_dict()
    assert any(not th.equal(before[k], after[k]) for k in before)  # the trunk is trained
    ours = _policy(resnet_depth=10, resnet_width=8, pose_hidden=(64, 64))
    assert set(ours.encoder.state_dict()) == {k.removeprefix("encoder.") for k in after}
    # the ResNet trained inside PPO loads into an rmrl policy (prefixes of the SB3 policy stripped)
    prefix = "features_extractor.encoder.image_encoder."
    th.save({k: v for k, v in ppo.policy.state_dict().items() if k.startswith(prefix)}, tmp_path / "ppo_encoder.pt")
    loaded = _policy(resnet_depth=10, resnet_width=8, pretrained_encoder=str(tmp_path / "ppo_encoder.pt"))
    key = "conv1.weight"
    assert th.equal(loaded.image_encoder.state_dict()[key], after[f"encoder.image_encoder.{key}"])
