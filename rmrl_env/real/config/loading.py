"""Read a real-cell TOML file into a :class:`RealCellConfig`; turn validation failures into sentences.

A failed validation becomes one :class:`~rmrl_env.errors.ConfigError` naming, for each bad
field, its TOML path (``robot.ip``), the value found and what is valid; :func:`load_config`
puts the file's name in front.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rmrl_env.errors import ConfigError
from rmrl_env.real.config.model import RealCellConfig

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

#: Keyword overrides accepted by ``gym.make(..., config=PATH, **overrides)``: name → TOML path.
OVERRIDE_PATHS = {
    "robot_ip": ("robot", "ip"),
    "robot_port": ("robot", "port"),
    "camera_serial": ("camera", "serial"),
    "calibration_file": ("calibration_file",),
    "localiser": ("perception", "localiser"),
    "device": ("perception", "device"),
    "detector": ("perception", "detector"),
    "segmenter": ("perception", "segmenter"),
}
OVERRIDE_KEYS = tuple(OVERRIDE_PATHS)


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


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The section model of the table at ``loc`` (``("cell", "receptacles", "box")``), if any."""
    model: type[BaseModel] | None = RealCellConfig
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


def describe_error(err: ErrorDetails) -> str:
    """One validation error as a sentence that starts with the field's TOML path."""
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
        model = _model_at(loc[:-1])
        valid = f"; valid keys here: {sorted(f.alias or n for n, f in model.model_fields.items())}" if model else ""
        return f"unknown key {path} in the config file{valid}"
    if kind == "literal_error":
        return f"{path} must be one of {err['ctx']['expected']}, got {value!r}"
    if kind in _EXPECTED:
        return f"{path} must be {_EXPECTED[kind]}, got {value!r}"
    return f"{path} = {value!r} is invalid: {err['msg'][0].lower()}{err['msg'][1:]}"


def config_from_dict(data: Mapping[str, Any], base_dir: Path | None = None, source: Path | None = None) -> RealCellConfig:
    """Validate a parsed config (the TOML's dict) into a :class:`RealCellConfig`.

    Args:
        data: the parsed file.
        base_dir: directory that a relative ``calibration_file`` is resolved against.
        source: the file it came from (kept as ``cfg.source``).

    Raises:
        ConfigError: naming every invalid field (``robot.ip ...; camera.width ...``).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"the config must be a table of sections, got {type(data).__name__}")
    try:
        cfg = RealCellConfig.model_validate(dict(data), context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError("; ".join(describe_error(e) for e in exc.errors())) from None
    cfg._source = source
    return cfg


def load_config(path: str | Path) -> RealCellConfig:
    """Read and validate a real-cell TOML config.

    Raises:
        ConfigError: the file is missing, is not TOML, or a field is invalid (the message names
            the file and the field).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"the real-cell config {str(path)!r} does not exist: pass config=PATH to a TOML file (see examples/real_cell.toml)"
        )
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    try:
        return config_from_dict(data, base_dir=path.parent.resolve(), source=path)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def apply_overrides(cfg: RealCellConfig, overrides: Mapping[str, Any]) -> RealCellConfig:
    """``cfg`` with the keyword overrides of :data:`OVERRIDE_KEYS` applied, validated like the file.

    Raises:
        ConfigError: an unknown key (naming the valid ones) or an invalid value (naming the field).
    """
    unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown override(s) {unknown}; valid ones are {list(OVERRIDE_KEYS)} (env options go under [env] or as CellPlateEnv keywords)"
        )
    if not overrides:
        return cfg
    data = cfg.model_dump(by_alias=True)
    for key, value in overrides.items():
        *tables, name = OVERRIDE_PATHS[key]
        node = data
        for table in tables:
            node = node[table]
        node[name] = value if key in ("robot_ip", "robot_port", "localiser") else str(value or "")
    try:
        return config_from_dict(data, source=cfg.source)
    except ConfigError as err:
        raise ConfigError(f"keyword override(s) {sorted(overrides)}: {err}") from None
