"""Fixtures of the twin tests: an xArm controller emulator on a loopback address of its own and
the unmodified xArm SDK connected to it. Nothing leaves this machine; every emulator stops at
the end of its test (and by itself after its lifetime)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rmrl_env.twin.xarm_emulator import NEWEST_FIRMWARE, XArmEmulator

pytest.importorskip("xarm")


def start_emulator(**kwargs: Any) -> XArmEmulator:
    """A started emulator, or a skip naming why port 502 cannot be bound."""
    kwargs.setdefault("lifetime_s", 120.0)
    emu = XArmEmulator(**kwargs)
    try:
        emu.start()
    except PermissionError as err:
        pytest.skip(str(err))
    return emu


@pytest.fixture
def firmware() -> str:
    """The firmware generation the emulators answer as; a module runs its tests against every
    generation by overriding this fixture with ``params=sorted(FIRMWARES)``."""
    return NEWEST_FIRMWARE


@pytest.fixture
def emulator_factory(firmware: str) -> Iterator[Callable[..., XArmEmulator]]:
    """Builds started emulators (keyword arguments of :class:`XArmEmulator`); all stop at teardown."""
    made: list[XArmEmulator] = []

    def make(**kwargs: Any) -> XArmEmulator:
        kwargs.setdefault("firmware", firmware)
        emu = start_emulator(**kwargs)
        made.append(emu)
        return emu

    yield make
    for emu in made:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory) -> XArmEmulator:
    return emulator_factory()


@pytest.fixture
def sdk_factory() -> Iterator[Callable[[XArmEmulator], Any]]:
    """Connects the real ``xarm.wrapper.XArmAPI`` to an emulator; disconnects at teardown."""
    from xarm.wrapper import XArmAPI

    apis: list[Any] = []

    def connect(emu: XArmEmulator) -> Any:
        api = XArmAPI(emu.host, is_radian=False)
        apis.append(api)
        assert api.connected, f"the SDK did not connect to the emulator at {emu.host}"
        return api

    yield connect
    for api in apis:
        api.disconnect()


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 20 ms until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def make_ready(api: Any) -> None:
    """The start-up sequence every xArm program runs: clear, enable, position mode, ready."""
    api.clean_error()
    api.clean_warn()
    assert api.motion_enable(enable=True) == 0
    assert api.set_mode(0) == 0
    assert api.set_state(0) == 0
    wait_for(lambda: api.get_state() == (0, 2), 2.0, "the arm to become ready (state 2)")
