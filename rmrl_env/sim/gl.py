"""Guard against the one way to hang the simulated camera: a process forked after MuJoCo made an
OpenGL context.

An EGL/OSMesa context does not survive ``fork()``: a child that inherits one, and then renders or
makes a new one, blocks forever inside the GL driver. This is what happens with
``gym.make_vec(..., vectorization_mode="async")`` or ``SubprocVecEnv`` under the ``fork`` start
method (Linux's default) once a cell env exists in the parent. Worker processes must be started
with ``spawn`` or ``forkserver``; this module turns the hang into an error that says so.
"""

from __future__ import annotations

import os

from rmrl_env.errors import HardwareError

_state = {"forked_after_gl": False, "hook": False}

FORK_MESSAGE = (
    "this process was forked from one that had already created a MuJoCo OpenGL context (a cell env); "
    "GL contexts do not survive fork, and rendering here would hang. Start worker processes with "
    "'spawn' or 'forkserver': gym.make_vec(..., vectorization_mode='async', vector_kwargs={'context': 'spawn'}), "
    "SubprocVecEnv(..., start_method='spawn'), or multiprocessing.get_context('spawn')"
)


def _mark_child() -> None:
    _state["forked_after_gl"] = True


def note_gl_context() -> None:
    """Record that this process now holds a GL context: its forked children may not render."""
    if not _state["hook"]:
        os.register_at_fork(after_in_child=_mark_child)
        _state["hook"] = True


def check_gl_usable() -> None:
    """Raise :class:`~rmrl_env.errors.HardwareError` if this process was forked after GL was made."""
    if _state["forked_after_gl"]:
        raise HardwareError(FORK_MESSAGE)
