"""Write a config as commented TOML: every field, its value and its description.

The example file ``examples/real_cell.toml`` is this writer applied to the MuJoCo twin's cell
(:func:`rmrl_env.twin.config.example_toml`).
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rmrl_env.real.config.model import RealCellConfig

WIDTH = 100


def _value(value: Any) -> str:
    """A TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to TOML here")
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(" ".join(text.split()), WIDTH - 2)]


def _is_table(value: Any) -> bool:
    return isinstance(value, BaseModel) or (isinstance(value, dict) and all(isinstance(v, BaseModel) for v in value.values()))


def _key_lines(name: str, info: FieldInfo, value: Any) -> list[str]:
    lines = _comment(info.description or "")
    if value is None:
        if not info.examples:
            raise ValueError(f"the optional field {name!r} needs an example value to be written")
        lines.append(f"# {name} = {_value(info.examples[0])}")
    else:
        lines.append(f"{name} = {_value(value)}")
    return lines


def _table_lines(path: str, section: BaseModel) -> list[str]:
    """``[path]`` with the section's keys, then its sub-tables."""
    doc = (type(section).__doc__ or "").strip()
    doc = doc.split("]", 1)[1] if doc.startswith("[") else doc  # the "[table]" the docstring starts with
    lines = ["", *_comment(doc), f"[{path}]"] if path else []
    tables: list[tuple[str, Any]] = []
    for name, info in type(section).model_fields.items():
        key = info.alias or name
        value = getattr(section, name)
        if _is_table(value):
            tables.append((key, value))
        else:
            lines += _key_lines(key, info, value)
    for key, value in tables:
        sub = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            for entry, table in value.items():
                lines += _table_lines(f"{sub}.{entry}", table)
        else:
            lines += _table_lines(sub, value)
    return lines


def to_toml(cfg: RealCellConfig, header: str = "") -> str:
    """``cfg`` as a commented TOML file that :func:`~rmrl_env.real.config.load_config` reads back to ``cfg``."""
    return header + "\n".join(["", *_table_lines("", cfg)]) + "\n"
