"""Import ``firmware`` from here into a twin test module to run its tests against every firmware
generation the emulator answers as (it overrides conftest's newest-only ``firmware``)."""

from __future__ import annotations

import pytest

from rmrl_env.twin.xarm_emulator import FIRMWARES


@pytest.fixture(params=sorted(FIRMWARES))
def firmware(request) -> str:
    return request.param
