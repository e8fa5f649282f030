"""The noise-prediction imitation loss fits a known conditional action map."""

from __future__ import annotations

import torch as th

from rmrl_agents.rl100 import imitation_loss

from .conftest import ACTION_DIM, Trained, conditions, optimal_action


def test_imitation_fits_a_known_conditional_action_map(imitation_policy: Trained) -> None:
    """On held-out conditions, deterministic DDIM actions are within 0.07 RMS of a*(c), far below
    the spread of a*(c) over conditions (what a condition-blind policy would err by)."""
    cond = conditions(512, seed=99)  # not the training conditions
    target = optimal_action(cond)
    with th.no_grad():
        zero = th.zeros(cond.shape[0], ACTION_DIM)  # the policy's deterministic start
        actions, _ = imitation_policy.sampler.sample(imitation_policy.model, cond, ACTION_DIM, True, zero)
    rms = float(((actions - target) ** 2).mean().sqrt())
    spread = float(((target - target.mean(0)) ** 2).mean().sqrt())
    assert spread > 0.3
    assert rms < 0.07, f"RMS error {rms:.3f} of the imitated actions"


def test_stochastic_samples_stay_near_the_map(imitation_policy: Trained) -> None:
    cond = conditions(512, seed=98)
    with th.no_grad():
        actions, _ = imitation_policy.sampler.sample(
            imitation_policy.model, cond, ACTION_DIM, generator=th.Generator().manual_seed(0)
        )
    assert float(((actions - optimal_action(cond)) ** 2).mean().sqrt()) < 0.1


def test_the_loss_falls_with_training_and_only_an_untrained_model_misses() -> None:
    from .conftest import train_imitation

    short = train_imitation(optimal_action, n_steps=0)
    cond = conditions(256, seed=97)
    with th.no_grad():
        actions, _ = short.sampler.sample(short.model, cond, ACTION_DIM, deterministic=True)
        loss = imitation_loss(short.model, short.sampler, optimal_action(cond), cond, generator=th.Generator().manual_seed(0))
    assert float(((actions - optimal_action(cond)) ** 2).mean().sqrt()) > 0.2  # the test can fail
    assert float(loss) > 0.5
