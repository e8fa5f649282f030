"""Worker processes: spawn works; fork after a GL context exists fails fast with a message, not a hang."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rmrl_env
from rmrl_env.errors import HardwareError


@pytest.mark.slow
def test_async_vector_env_with_spawn_workers_runs_trials():
    envs = gym.make_vec(
        "CellPlatePlace-sim-v0", num_envs=2, vectorization_mode="async", vector_kwargs={"context": "spawn"}, image_size=(30, 40)
    )
    try:
        obs, _ = envs.reset(seed=[0, 1])
        assert obs["image"].shape == (2, 30, 40, 3)
        assert not np.array_equal(obs["pose"][0], obs["pose"][1])  # two scenes, two processes
        _, rewards, terminated, _, infos = envs.step(np.tile(envs.single_action_space.nvec // 2, (2, 1)))
        # two trials ran to a measured placement (a plate left on a rim scores 0: not a placement)
        assert terminated.all() and np.all((rewards >= 0) & (rewards <= 1)) and np.all(np.isfinite(infos["e_trans_mm"]))
    finally:
        envs.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_runs_a_trial_on_every_step(mode):
    """rmrl_env.make_vec resets an ended episode in the same step: with Gymnasium's default
    (next-step autoreset) every second step of a one-step env is a reset with reward 0."""
    envs = rmrl_env.make_vec("CellPlatePlace-sim-v0", num_envs=2, vectorization_mode=mode, image_size=(30, 40))
    try:
        envs.reset(seed=[0, 1])
        middle = np.tile(envs.single_action_space.nvec // 2, (2, 1))
        # every step is a trial that ends its episode (a reset step would not be terminated)
        steps = [envs.step(middle) for _ in range(2)]
        assert all(step[2].all() for step in steps), [step[2] for step in steps]
    finally:
        envs.close()


def _make_in_child(queue) -> None:
    try:
        gym.make("CellPlatePlace-sim-v0", image_size=(30, 40))
        queue.put("made")
    except HardwareError as err:
        queue.put(f"HardwareError: {err}")


@pytest.mark.slow
def test_fork_after_a_cell_env_exists_is_an_error_naming_spawn():
    import multiprocessing as mp

    parent = gym.make("CellPlatePlace-sim-v0", image_size=(30, 40))  # the parent now holds a GL context
    try:
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_make_in_child, args=(queue,))
        child.start()
        child.join(60)  # a hang would run into this bound
        assert not child.is_alive(), "the forked child hung instead of failing"
        message = queue.get(timeout=5)
        assert message.startswith("HardwareError") and "'spawn'" in message and "forkserver" in message
        # Through Gymnasium's async vector env the worker dies with that error, and the parent fails fast.
        with pytest.raises((HardwareError, ConnectionError, EOFError, RuntimeError)):
            envs = gym.make_vec(
                "CellPlatePlace-sim-v0",
                num_envs=1,
                vectorization_mode="async",
                vector_kwargs={"context": "fork"},
                image_size=(30, 40),
            )
            envs.close()
    finally:
        parent.close()
