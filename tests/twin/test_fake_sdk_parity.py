"""The fake ``XArmAPI`` of ``tests/real`` must answer like the SDK does against the emulated
controller where the driver depends on it: the codes of ``clean_error`` / ``clean_warn`` while
errors and warnings are latched (the SDK passes the reply's status on: 1 error, 2 warning)."""

from __future__ import annotations

import pytest
from real.fakes import FakeXArmAPI

pytestmark = pytest.mark.real

SCENARIOS = {
    "error and warning": (31, 11),
    "warning only": (0, 11),
    "error only": (24, 0),
    "emergency stop": (1, 0),
}


def clean_codes(api) -> tuple[int, int, int]:
    """clean_warn then clean_error then clean_warn: the order a careless start-up would use."""
    return api.clean_warn(), api.clean_error(), api.clean_warn()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_clean_codes_of_the_fake_match_the_sdk_on_the_emulator(emulator, sdk_factory, scenario):
    error, warning = SCENARIOS[scenario]
    if error == 1:
        emulator.press_estop()
    elif error:
        emulator.latch_error(error)
    if warning:
        emulator.latch_warning(warning)
    sdk = clean_codes(sdk_factory(emulator))
    fake = FakeXArmAPI()
    fake.error_code, fake.warn_code = error, warning
    assert clean_codes(fake) == sdk
