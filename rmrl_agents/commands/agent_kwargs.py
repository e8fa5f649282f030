"""``--agent-kwargs`` checked against the algorithm's typed signature before anything runs.

A JSON value can only be a number, string, bool, null, list or object, so each keyword is
validated (pydantic, strict, as JSON) against its annotation in the algorithm's ``__init__``:
``{"learning_rate": "fast"}`` is refused in one line naming the keyword and its type instead of
failing inside SB3 with an assertion.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Mapping
from typing import Any

from rmrl_agents.commands._shared import UsageError

#: keywords ``rmrl train`` sets itself → the option that sets them
SET_BY_TRAIN = {
    "policy": None,
    "env": "--env",
    "seed": "--seed",
    "data_dir": "--out",
    "policy_kwargs": "--policy-kwargs",
    "verbose": "-v",
    "tensorboard_log": "--tensorboard",
}


def _type_text(annotation: Any) -> str:
    """``float | collections.abc.Callable[[float], float]`` → ``float | Callable[[float], float]``."""
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+(\w+)", r"\1", text).replace("NoneType", "None")


def _hints(cls: type) -> dict[str, Any]:
    from stable_baselines3.common.vec_env import VecEnv  # SB3's GymEnv alias names it as a string

    init = next(vars(c)["__init__"] for c in cls.__mro__ if "__init__" in vars(c))
    return typing.get_type_hints(init, localns={"VecEnv": VecEnv})


def check_agent_kwargs(cls: type, kwargs: Mapping[str, Any], option: str = "--agent-kwargs") -> None:
    """Raise :class:`UsageError` unless every keyword of ``kwargs`` is a parameter of ``cls`` the
    user may set and its value fits the parameter's annotation (ranges are the constructor's to check)."""
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    params = inspect.signature(cls).parameters
    hints = _hints(cls)
    known = sorted(n for n, p in params.items() if not n.startswith("_") and n not in ("self", *SET_BY_TRAIN))
    for key, value in kwargs.items():
        if key in SET_BY_TRAIN:
            where = SET_BY_TRAIN[key]
            raise UsageError(f"{option}: {key} is set by rmrl train" + (f"; use {where}" if where else ""))
        if key not in known:
            raise UsageError(f"{option}: {cls.__name__} has no parameter {key!r}; its parameters: {', '.join(known)}")
        if key not in hints:
            continue
        adapter = TypeAdapter(hints[key], config=ConfigDict(arbitrary_types_allowed=True))
        try:
            adapter.validate_json(json.dumps(value), strict=True)
        except ValidationError:
            raise UsageError(
                f"{option}: {key} must be {_type_text(hints[key])}, got {json.dumps(value)}; see help({cls.__name__})"
            ) from None
