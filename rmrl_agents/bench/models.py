"""The untrained model of each benchmark method, on the network every method shares, and what one
of its gradient steps averages over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmrl_agents.bench.config import BenchConfig, base_agent, method_kwargs


def _sb3_policy_kwargs(trunk: dict[str, Any], heads: list[int], critic: str) -> dict[str, Any]:
    """SB3 policy keywords: our ResNet + pose trunk, the heads' hidden sizes for the actor and the
    critic (``"vf"`` for PPO's value net, ``"qf"`` for SAC's Q nets)."""
    from rmrl_agents.policies import PlateFeaturesExtractor

    return {
        "features_extractor_class": PlateFeaturesExtractor,
        "features_extractor_kwargs": trunk,
        "net_arch": {"pi": heads, critic: heads},
    }


def _sb3_model(method: str, env: Any, seed: int, cfg: BenchConfig, trunk: dict[str, Any], heads: list[int]) -> Any:
    """SB3's SAC or PPO with its heads (``heads`` sizes) on the shared trunk."""
    from stable_baselines3 import PPO, SAC

    if method == "SAC":
        return SAC(
            "MultiInputPolicy",
            env,
            gamma=0.0,  # one-step episodes: the target is the reward
            buffer_size=max(cfg.train_trials, 1),
            policy_kwargs=_sb3_policy_kwargs(trunk, heads, critic="qf"),
            seed=seed,
            learning_rate=3e-4 if cfg.learning_rate is None else cfg.learning_rate,
            device="cpu",
            **cfg.sac_kwargs,
        )
    return PPO(
        "MultiInputPolicy",
        env,
        n_steps=8,
        batch_size=8,
        n_epochs=4,
        gamma=0.0,  # one-step episodes: the return is the reward
        gae_lambda=1.0,
        policy_kwargs=_sb3_policy_kwargs(trunk, heads, critic="vf"),
        seed=seed,
        learning_rate=3e-4 if cfg.learning_rate is None else cfg.learning_rate,
        device="cpu",
    )


def make_model(method: str, env: Any, seed: int, cfg: BenchConfig, data_dir: Path, source: Path | None = None) -> Any:
    """The untrained model of a learning method (or an ablation) with the shared network
    (``"calibration"``: the reward-only offset calibration, which has none).

    The rmrl agents take ``cfg.policy_kwargs`` as they are. PPO and SAC put SB3's heads
    (``head_hidden`` sizes) on the same trunk (:class:`~rmrl_agents.policies.PlateFeaturesExtractor`);
    SAC's critic has its own trunk (SB3's default). RL100 gets the trunk and keeps its own heads
    (denoiser, consistency head and critics) and learning rates; ``source`` is its prior data.
    """
    from rmrl_agents.algorithms import algorithm_class

    network = cfg.learner_policy_kwargs
    trunk = {k: v for k, v in network.items() if k != "head_hidden"}
    heads = list(network.get("head_hidden", (256,)))
    if method == "RL100":
        from rmrl_agents.rl100 import RL100

        prior = None if source is None else str(source)
        return RL100(
            "MultiInputPolicy",
            env,
            prior_data=prior,
            policy_kwargs=trunk,
            data_dir=str(data_dir),
            seed=seed,
            device="cpu",
            **cfg.rl100_kwargs,
        )
    if method in ("SAC", "PPO"):
        return _sb3_model(method, env, seed, cfg, trunk, heads)
    if method == "calibration":  # no network: one constant adjustment fitted to the rewards
        from rmrl_agents.calibration import OffsetCalibration

        return OffsetCalibration("OffsetPolicy", env, data_dir=str(data_dir), seed=seed, device="cpu")
    base = base_agent(method)
    lr = {} if cfg.learning_rate is None else {"learning_rate": cfg.learning_rate}
    kwargs = {"policy_kwargs": network, **lr, **method_kwargs(method, network)}
    return algorithm_class(base)("MultiInputPolicy", env, data_dir=str(data_dir), seed=seed, device="cpu", **kwargs)


def samples_per_step(method: str, model: Any) -> str:
    """What one gradient step of ``method`` averages over (from the model's settings)."""
    if method == "PPO":
        return f"{model.batch_size} trials ({model.n_epochs} epochs per {model.n_steps} trials)"
    if method == "SAC":
        return (
            f"≤{model.batch_size} replayed trials ({model.gradient_steps} update per {model.train_freq.frequency} trial "
            f"after {model.learning_starts}; actor, critic and entropy steps)"
        )
    if method == "RL100":
        return (
            f"≤{model.batch_size} transitions (imitation, critics, distillation, offline PPO); "
            f"online PPO on {model.online_batch_size}-trial batches"
        )
    if method == "calibration":
        return "no gradient steps: a least-squares refit on every trial so far, after each trial"
    if method.startswith("ReplayREINFORCE"):
        return f"≤{model.batch_size} replayed trials, every {model.train_freq} trial(s)"
    if method.startswith("REINFORCE"):
        return "1 trial"
    parts = ["1 trial (online)"] if model.online_updates else []
    parts.append(f"{model.scene_size} labels (scene CE)")
    if model.replay_freq:
        parts.append(f"≤{model.replay_batch_size} labels (replay every {model.replay_freq})")
    return ", ".join(parts)
