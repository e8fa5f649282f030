"""``rmrl bringup``'s command line: found through the rmrl.commands entry point; mistakes are one
line on stderr with exit code 2, before anything connects; each error finds its runbook entry."""

from __future__ import annotations

import pytest

from rmrl_env.errors import ControllerCollisionError, ControllerError, HardwareError, PlateNotFoundError
from rmrl_env.real.runbook import entry_key

from .conftest import EXAMPLE_CONFIG


def test_rmrl_has_the_bringup_command_and_refuses_mistakes_before_connecting(tmp_path, capsys):
    from rmrl_agents.cli import main

    assert main(["bringup"]) == 2
    assert main(["bringup", "--config", str(tmp_path / "missing.toml")]) == 2
    assert main(["bringup", "--config", str(EXAMPLE_CONFIG), "--place", "drawer"]) == 2
    assert main(["bringup", "--config", str(EXAMPLE_CONFIG), "--speed-scale", "2"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("rmrl bringup: error: ") for line in lines)
    assert "--config is required" in lines[0] and "missing.toml" in lines[1] and "drawer" in lines[2]


@pytest.mark.parametrize(
    ("err", "key"),
    [
        (ControllerCollisionError("x: controller error C31", 31, 0), "C31"),
        (ControllerCollisionError("x: controller error C22", 22, 0), "C22"),
        (ControllerError("x", 23, 0), "C23"),
        (ControllerError("x", 40, 0), "C40"),
        (ControllerError("x", 1, 0), "C1/C2/C3"),
        (HardwareError("the BIO gripper reports an error (code 7)"), "gripper"),
        (HardwareError("has sent no report on port 30002 for 2.5 s"), "report silence"),
        (PlateNotFoundError("the plate was not found in 3 captures"), "plate not found"),
        (KeyboardInterrupt(), "ctrl-c"),
    ],
)
def test_each_error_finds_its_runbook_entry(err, key):
    assert entry_key(err, default="camera") == key
