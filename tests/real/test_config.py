"""Config validation: the example loads, every error names its field."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pytest

from rmrl_env.errors import ConfigError
from rmrl_env.real.config import config_from_dict, load_config
from rmrl_env.twin.config import default_config

from .conftest import EXAMPLE_CONFIG


def test_example_config_loads_and_matches_the_defaults():
    cfg = load_config(EXAMPLE_CONFIG)
    assert cfg.robot.ip == "192.168.1.185"
    assert cfg.calibration_file == EXAMPLE_CONFIG.parent.resolve() / "calibration.json"
    assert cfg.layout.receptacle("shelf").floor_z_m == pytest.approx(0.06)
    assert cfg.reset.region.yaw_rad == pytest.approx((math.radians(-90), math.radians(90)))
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
        ("grid.step_xy_mm", 5.0, "grid"),
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


def test_committed_example_equals_the_one_generated_from_the_models():
    from rmrl_env.twin.config import example_toml

    assert EXAMPLE_CONFIG.read_text() == example_toml(), (
        "examples/real_cell.toml is stale: python -m rmrl_env.real.config example --output examples/real_cell.toml"
    )


def test_written_config_reads_back_to_the_same_config(tmp_path: Path):
    from rmrl_env.real.config.writer import to_toml

    cfg = default_config(camera_serial="0123", localiser="classical")
    path = tmp_path / "cell.toml"
    path.write_text(to_toml(cfg))
    again = load_config(path)
    assert (
        again.model_dump() == cfg.model_dump()
        and again.layout == cfg.layout
        and again.robot.tcp_offset_m == cfg.robot.tcp_offset_m
    )


def test_json_schema_names_every_section():
    from rmrl_env.real.config import RealCellConfig

    schema = RealCellConfig.model_json_schema()
    sections = {"robot", "gripper", "camera", "perception", "safety", "cell", "motion", "reset", "grid", "env"}
    assert sections <= set(schema["properties"])
    assert {"robot", "safety", "cell", "reset"} <= set(schema["required"])
    robot = schema["$defs"]["RobotConfig"]["properties"]
    assert robot["tcp_offset_m"]["default"] == [0.0, 0.0, 0.172] and "metres" in robot["tcp_offset_m"]["description"]


def test_twin_config_is_read_from_the_sim_model():
    from rmrl_env.sim.error_sources import ErrorSources
    from rmrl_env.sim.world import SimWorld

    world = SimWorld(ErrorSources.ideal())
    sim = world.layout()
    twin = default_config().layout
    assert twin.home.as_array() == pytest.approx(sim.home.as_array(), abs=1e-6)
    assert twin.reset_region.x_m == pytest.approx(sim.reset_region.x_m, abs=1e-6)
    assert twin.reset_region.y_m == pytest.approx(sim.reset_region.y_m, abs=1e-6)
    assert twin.reset_region.yaw_rad == pytest.approx(sim.reset_region.yaw_rad, abs=1e-6)
    assert twin.receptacles.keys() == sim.receptacles.keys()
    for name, rec in sim.receptacles.items():
        got = twin.receptacles[name]
        assert (got.pose.x_m, got.pose.y_m, got.pose.yaw_rad) == pytest.approx(
            (rec.pose.x_m, rec.pose.y_m, rec.pose.yaw_rad), abs=1e-6
        )
        assert (got.floor_z_m, got.clearance_m) == pytest.approx((rec.floor_z_m, rec.clearance_m), abs=1e-6)
    flange_to_tcp = world.model.site("tcp").pos - world.model.site("flange").pos
    assert default_config().robot.tcp_offset_m == pytest.approx(tuple(flange_to_tcp), abs=1e-6)
    assert default_config().robot.tcp_offset_m[2] == pytest.approx(0.150)
    # A real cell's file without tcp_offset_m gets the BIO gripper's published TCP, not the twin's.
    data = _with("robot.tcp_offset_m", None, delete=True)
    assert config_from_dict(data).robot.tcp_offset_m == (0.0, 0.0, 0.172)


def test_section_defaults_are_the_value_types_own():
    from rmrl_env.cell import MotionPlan
    from rmrl_env.grid import CandidateGrid
    from rmrl_env.real.config import MotionConfig

    assert default_config().grid == CandidateGrid()
    assert set(MotionConfig.model_fields) == set(MotionPlan.__dataclass_fields__)
    d = default_config()
    fastest = max(v for k, v in d.motion.model_dump().items() if k.endswith("_m_s"))
    assert fastest <= d.speeds.max_speed_m_s  # the default motion plan passes the default speed limit


def test_every_invalid_field_is_named_at_once_with_its_value_and_what_is_valid():
    data = _with("camera.width", "640")
    data["robot"]["colour"] = "red"
    data["gripper"]["force"] = 300
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    text = str(err.value)
    assert "camera.width must be an integer, got '640'" in text
    assert "unknown key robot.colour" in text and "'tcp_offset_m'" in text  # lists the valid keys
    assert "gripper.force = 300" in text and "less than or equal to 100" in text


def test_override_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"robot\.port = 0"):
        default_config().with_overrides(robot_port=0)
    with pytest.raises(ConfigError, match=r"robot\.ip = 'robot\.local' is not an IPv4 address"):
        default_config(robot_ip="robot.local")
    assert default_config(calibration_file="cal.json").calibration_file == Path("cal.json")


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        ("# reward_length_m = 0.1", "reward_length_m = -0.1", "env.reward_length_m must be a positive length in metres"),
        ("# scene_jitter_m = 0.001", "scene_jitter_m = 0.5", "env.scene_jitter_m must be in [0, 0.02] m"),
        ('ip = "192.168.1.185"', 'ip = "0.0.0.0"', "robot.ip = '0.0.0.0' is not a robot's address"),
        ('ip = "192.168.1.185"', 'ip = "255.255.255.255"', "robot.ip = '255.255.255.255' is not a robot's address"),
        ("\nfps = 30", "\nfps = 7", "camera.fps = 7 is not a frame rate of the D435's colour stream: use one of 6, 15, 30, 60"),
        ("\nattempts = 2", "\nattempts = 0", "reset.attempts = 0"),
        ('calibration_file = "calibration.json"', 'calibration_file = "../../calibration.json"', "leaves the config's folder"),
    ],
)
def test_the_check_command_refuses_what_the_env_or_the_cell_cannot_use(line, replacement, message, tmp_path: Path, capsys):
    """``python -m rmrl_env.real.config check`` refuses what gym.make refuses (one validator) and
    values no robot cell has."""
    from rmrl_env.real.config.__main__ import main

    text = EXAMPLE_CONFIG.read_text()
    assert line in text
    (tmp_path / "cell").mkdir()
    bad = tmp_path / "cell" / "bad.toml"
    bad.write_text(text.replace(line, replacement, 1))
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_gym_make_and_the_config_file_share_the_env_settings_check():
    import gymnasium as gym

    with pytest.raises(ConfigError, match="reward_length_m must be a positive length in metres, got -0.1"):
        gym.make("CellPlatePlace-sim-v0", reward_length_m=-0.1)
    with pytest.raises(ConfigError, match=r"env\.reward_length_m must be a positive length in metres, got -0.1"):
        config_from_dict(_with("env.reward_length_m", -0.1))


def test_config_command_checks_a_file_and_prints_example_and_schema(tmp_path: Path, capsys):
    from rmrl_env.real.config.__main__ import main

    assert main(["check", str(EXAMPLE_CONFIG)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE_CONFIG.read_text().replace("fps = 30", "fps = 300"))  # not a D435 rate
    assert main(["check", str(bad)]) == 2
    assert "bad.toml: camera.fps = 300" in capsys.readouterr().err
    assert main(["schema", "--output", str(tmp_path / "schema.json")]) == 0
    assert '"RobotConfig"' in (tmp_path / "schema.json").read_text()
    assert main(["example"]) == 0
    assert capsys.readouterr().out == EXAMPLE_CONFIG.read_text()
