"""Validation failures of the config as sentences: each bad field's TOML path (``robot.ip``), the
value found and what is valid."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rmrl_env.errors import ConfigError

#: What a value of the wrong type should have been, by pydantic error type.
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a finite number",
    "float_parsing": "a finite number",
    "finite_number": "a finite number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "tuple_type": "a list",
}


def toml_path(loc: tuple[int | str, ...]) -> str:
    """``("robot", "tcp_offset_m", 2)`` → ``"robot.tcp_offset_m[2]"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _section_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model inside a field's type, and whether the field is a table of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    for arg in get_args(annotation):
        model, _ = _section_in(arg)
        if model is not None:
            return model, get_origin(annotation) is dict
    return None, False


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The section model of the table at ``loc`` (``("cell", "receptacles", "box")``) below ``root``, if any."""
    model: type[BaseModel] | None = root
    skip_key = False
    for key in loc:
        if skip_key:  # the name of an entry of a table of sections
            skip_key = False
            continue
        fields = {f.alias or name: f for name, f in model.model_fields.items()} if model else {}
        if key not in fields:
            return None
        model, skip_key = _section_in(fields[key].annotation)
    return None if skip_key else model


def describe_error(err: ErrorDetails, root: type[BaseModel]) -> str:
    """One validation error of the config model ``root`` as a sentence that starts with the field's TOML path."""
    loc = tuple(err["loc"])
    path = toml_path(loc) or "the config"
    kind, value = err["type"], err.get("input")
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigError):
        return str(cause)
    if cause is not None:
        return f"{path} {cause}"
    if kind == "missing":
        return f"{path} is missing: add it to the config file"
    if kind == "extra_forbidden":
        model = _model_at(root, loc[:-1])
        valid = f"; valid keys here: {sorted(f.alias or n for n, f in model.model_fields.items())}" if model else ""
        return f"unknown key {path} in the config file{valid}"
    if kind == "literal_error":
        return f"{path} must be one of {err['ctx']['expected']}, got {value!r}"
    if kind in _EXPECTED:
        return f"{path} must be {_EXPECTED[kind]}, got {value!r}"
    return f"{path} = {value!r} is invalid: {err['msg'][0].lower()}{err['msg'][1:]}"


def config_error(exc: ValidationError, root: type[BaseModel]) -> ConfigError:
    """One :class:`ConfigError` naming every invalid field (``robot.ip ...; camera.width ...``)."""
    return ConfigError("; ".join(describe_error(e, root) for e in exc.errors()))
