"""Config validation: the example loads, every error names its field."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pytest

from rmrl_env.errors import ConfigError
from rmrl_env.real.config import config_from_dict, default_config, load_config

from .conftest import EXAMPLE_CONFIG


def test_example_config_loads_and_matches_the_defaults():
    cfg = load_config(EXAMPLE_CONFIG)
    assert cfg.robot.ip == "192.168.1.185"
    assert cfg.calibration_file == EXAMPLE_CONFIG.parent.resolve() / "calibration.json"
    assert cfg.layout.receptacle("shelf").floor_z_m == pytest.approx(0.06)
    assert cfg.reset.region.yaw_rad == pytest.approx((math.radians(-15), math.radians(15)))
    d = default_config()
    assert (d.layout, d.workspace, d.speeds, d.grid, d.reset, d.env_kwargs) == (
        cfg.layout,
        cfg.workspace,
        cfg.speeds,
        cfg.grid,
        cfg.reset,
        cfg.env_kwargs,
    )


EXAMPLE_DATA = tomllib.loads(EXAMPLE_CONFIG.read_text())


def _with(path: str, value, delete: bool = False) -> dict:
    data = copy.deepcopy(EXAMPLE_DATA)
    node = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    if delete:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("robot.ip", "", "robot.ip is empty"),
        ("robot.ip", "not an ip!", "robot.ip"),
        ("robot.connect_timeout_s", 60, "robot.connect_timeout_s"),
        ("robot.tcp_offset_m", [0, 0, 172], "robot.tcp_offset_m"),
        ("robot.colour", "red", "robot.colour"),
        ("camera.width", "640", "camera.width must be an integer"),
        ("camera.serial", 12.5, "camera.serial"),
        ("gripper.model", "robotiq", "gripper.model must be one of"),
        ("perception.localiser", "yolo", "perception.localiser"),
        ("perception.device", "tpu", "perception.device"),
        ("safety.max_speed_m_s", 5.0, "safety.max_speed_m_s"),
        ("safety.workspace.x_m", [0.7, 0.1], "safety.workspace.x_m"),
        ("cell.home", {"x_m": 0.2, "y_m": 0.0, "z_m": 0.9, "yaw_deg": 0}, "cell.home"),
        ("cell.receptacles.box.x_m", "far", "cell.receptacles.box.x_m"),
        ("cell.receptacles.box.x_m", 2.0, "cell.receptacles.box"),
        ("motion.transport_speed_m_s", 0.8, "motion.transport_speed_m_s"),
        ("reset.x_m", [0.3], "reset.x_m must be a list of 2"),
        ("reset.y_m", [-0.5, -0.1], "reset area corner"),
        ("grid.step_xy_mm", 3.0, "grid"),
        ("schema_version", 7, "schema_version"),
        ("env.grid", [1], "env.grid"),
    ],
)
def test_invalid_field_is_named(path, value, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        config_from_dict(_with(path, value))


@pytest.mark.parametrize("path", ["robot.ip", "cell.receptacles.box", "safety.workspace", "reset.x_m", "cell.home"])
def test_missing_field_is_named(path):
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        config_from_dict(_with(path, None, delete=True))


def test_load_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[robot\nip = 1")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        load_config(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(EXAMPLE_CONFIG.read_text().replace('ip = "192.168.1.185"', "ip = 42"))
    with pytest.raises(ConfigError, match=r"wrong\.toml: robot\.ip must be a string"):
        load_config(wrong)


def test_overrides():
    cfg = default_config().with_overrides(robot_ip="127.0.0.1", camera_serial="0123", localiser="classical")
    assert (cfg.robot.ip, cfg.camera.serial, cfg.perception.localiser) == ("127.0.0.1", "0123", "classical")
    with pytest.raises(ConfigError, match="unknown override"):
        default_config().with_overrides(robot_speed=3)
    with pytest.raises(ConfigError, match="localiser"):
        default_config().with_overrides(localiser="magic")
