"""Connecting is bounded by ``robot.connect_timeout_s`` plus a stated margin, whatever the other
end does; here a loopback server that accepts TCP on the controller's ports and never answers
(which kept the SDK's own connect retrying for minutes)."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from rmrl_env.errors import HardwareError
from rmrl_env.protocols import ToolPose
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox
from rmrl_env.real.xarm_arm import XArmArm
from rmrl_env.real.xarm_link import CONNECT_MARGIN_S

pytestmark = pytest.mark.real

TIMEOUT_S = 1.5
BOX = WorkspaceBox((0.1, 0.7), (-0.4, 0.4), (0.0, 0.4))


@contextlib.contextmanager
def silent_controller() -> Iterator[str]:
    """Listen on 127.0.0.x ports 502 and 30002, accept every connection, never send a byte."""
    listeners: list[socket.socket] = []
    for x in random.sample(range(2, 255), 40):
        host = f"127.0.0.{x}"
        try:
            for port in (502, 30002):
                s = socket.socket()
                listeners.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, port))
                s.listen(16)
            break
        except PermissionError as err:
            pytest.skip(f"binding port 502 needs root: {err}")
        except OSError:
            for s in listeners:
                s.close()
            listeners = []
    accepted: list[socket.socket] = []
    alive = threading.Event()
    alive.set()

    def accept(listener: socket.socket) -> None:
        listener.settimeout(0.2)
        while alive.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    threads = [threading.Thread(target=accept, args=(s,), daemon=True) for s in listeners]
    for t in threads:
        t.start()
    try:
        yield host
    finally:
        alive.clear()
        for t in threads:
            t.join(2.0)
        for s in listeners + accepted:
            s.close()


def _connect(host: str, **kwargs) -> XArmArm:
    return XArmArm(host, BOX, SpeedLimits(0.2, 1.0), ToolPose(0.3, 0.0, 0.25, 0.0), connect_timeout_s=TIMEOUT_S, **kwargs)


def test_a_port_that_accepts_and_never_answers_fails_within_the_connect_timeout():
    pytest.importorskip("xarm")
    with silent_controller() as host:
        t0 = time.monotonic()
        with pytest.raises(HardwareError, match=rf"{host} \(port 502\) accepts connections but did not answer"):
            _connect(host)
        took = time.monotonic() - t0
    print(f"silent controller: connect failed after {took:.2f} s (timeout {TIMEOUT_S} s + margin {CONNECT_MARGIN_S} s)")
    assert took <= TIMEOUT_S + CONNECT_MARGIN_S


def test_the_sdks_own_connect_is_cut_off_at_the_connect_timeout():
    """Without the version probe (a stand-in factory), the unmodified SDK's connect against the
    silent server would retry for minutes; the driver gives up at the deadline."""
    xarm_wrapper = pytest.importorskip("xarm.wrapper")
    with silent_controller() as host:
        t0 = time.monotonic()
        with pytest.raises(HardwareError, match="SDK's connect.*did not finish within"):
            _connect(host, api_factory=xarm_wrapper.XArmAPI)
        took = time.monotonic() - t0
    print(f"silent controller, SDK connect: gave up after {took:.2f} s")
    assert took <= TIMEOUT_S + CONNECT_MARGIN_S
