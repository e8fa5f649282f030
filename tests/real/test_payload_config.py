"""The config's payload and collision sensitivity: validated, and handed to the arm at connect."""

from __future__ import annotations

import copy
import tomllib

import pytest

from rmrl_env.errors import ConfigError
from rmrl_env.real.backend import connect_arm
from rmrl_env.real.config import config_from_dict

from .conftest import EXAMPLE_CONFIG
from .fakes import fake_factory


def _robot(**fields) -> dict:
    data = copy.deepcopy(tomllib.loads(EXAMPLE_CONFIG.read_text()))
    data["robot"].update(fields)
    return data


@pytest.mark.parametrize(
    ("field", "value"),
    [("payload_kg", -0.1), ("payload_kg", 12.0), ("payload_com_m", [0, 0, 60]), ("collision_sensitivity", 6)],
)
def test_payload_fields_out_of_range_are_named(field, value):
    with pytest.raises(ConfigError, match=rf"robot\.{field}"):
        config_from_dict(_robot(**{field: value}))


def test_the_configs_payload_and_sensitivity_are_set_on_the_controller_at_connect(listening_port):
    cfg = config_from_dict(
        _robot(ip="127.0.0.1", port=listening_port, payload_kg=1.1, payload_com_m=[0.0, 0.0, 0.07], collision_sensitivity=2)
    )
    factory, made = fake_factory()
    arm = connect_arm(cfg, api_factory=factory)
    api = made[0]
    assert api.tcp_load == [pytest.approx(1.1), pytest.approx([0.0, 0.0, 70.0])]
    assert api.collision_sensitivity == 2
    names = api.names()
    assert names.index("set_tcp_load") < names.index("set_state", names.index("set_collision_sensitivity"))
    arm.close()
