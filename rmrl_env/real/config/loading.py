"""Read a real-cell TOML file into a :class:`RealCellConfig`.

A failed validation becomes one :class:`~rmrl_env.errors.ConfigError` naming, for each bad
field, its TOML path (``robot.ip``), the value found and what is valid (:mod:`.describe`);
:func:`load_config` puts the file's name in front.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rmrl_env.errors import ConfigError
from rmrl_env.real.config.model import OVERRIDE_KEYS, RealCellConfig

__all__ = ["OVERRIDE_KEYS", "apply_overrides", "config_from_dict", "load_config"]


def config_from_dict(data: Mapping[str, Any], base_dir: Path | None = None, source: Path | None = None) -> RealCellConfig:
    """Validate a parsed config (the TOML's dict): :meth:`RealCellConfig.from_dict`."""
    return RealCellConfig.from_dict(data, base_dir=base_dir, source=source)


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
    """``cfg`` with the keyword overrides of :data:`OVERRIDE_KEYS` applied: :meth:`RealCellConfig.with_overrides`."""
    return cfg.with_overrides(**overrides)
