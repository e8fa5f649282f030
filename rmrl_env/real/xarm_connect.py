"""Connecting to an xArm controller: the SDK import, the address check, the reachability probe,
and a Ctrl-C that stops the arm from a thread of its own."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import signal
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from rmrl_env.errors import ConfigError, HardwareError

#: The controller streams its state on this TCP port (the SDK's "rich" report, fixed).
REPORT_PORT = 30002


def import_xarm_api() -> Callable[..., Any]:
    """Import ``xarm.wrapper.XArmAPI`` or raise an error that says how to install it."""
    try:
        from xarm.wrapper import XArmAPI
    except ImportError as err:
        raise HardwareError(
            f"the xArm driver needs the `xarm-python-sdk` package ({err}): `pip install rmrl[real]` "
            "(or `pip install xarm-python-sdk`)"
        ) from err
    return XArmAPI


def check_controller_address(ip: str) -> None:
    """Raise a ConfigError unless ``ip`` is a dotted IPv4 address or ``'localhost'``.

    Those are the only addresses the xArm SDK opens over TCP; it opens any other string (a host
    name, an IPv6 address, a short form such as ``127.1``) as a serial port.
    """
    if ip == "localhost":
        return
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise ConfigError(
            f"robot.ip = {ip!r} is not an IPv4 address: the xArm SDK connects over TCP only to a dotted IPv4 "
            "address (or 'localhost') and opens anything else as a serial port. Use the controller's IPv4 "
            "address (shown in UFactory Studio and on the control box label, e.g. 192.168.1.200)"
        ) from None


def check_tcp_reachable(host: str, port: int = 502, timeout_s: float = 5.0) -> None:
    """Open and close a TCP connection to ``host:port`` or raise a HardwareError naming the address.

    The SDK's own connect can block for a long time on an unreachable address; this check
    bounds the wait by ``timeout_s`` seconds.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise HardwareError(
            f"the xArm controller at {host} (port {port}) is unreachable ({reason} after at most {timeout_s:g} s). "
            f"Check that the controller is on, the Ethernet cable, that this computer is on the robot's subnet "
            f"(`ping {host}`), and robot.ip in the config"
        ) from err


_guard = threading.local()


#: A GET_VERSION request of the controller's protocol: transaction 1, protocol 2, one byte
#: (the register, 1) follows. Any reply shows that the port speaks to xArm programs.
_VERSION_REQUEST = struct.pack(">HHHB", 1, 2, 1, 1)
#: The six-byte header every reply starts with.
_REPLY_HEADER_BYTES = 6


def check_controller_answers(host: str, port: int, timeout_s: float) -> None:
    """Ask ``host:port`` for its firmware version; raise a HardwareError unless it answers in time.

    A port that accepts TCP and never answers (another device on the address, a hung
    controller) would keep the SDK's own connect retrying for minutes.
    """
    received = b""
    try:
        with socket.create_connection((host, port), timeout=max(timeout_s, 0.01)) as conn:
            conn.settimeout(max(timeout_s, 0.01))
            conn.sendall(_VERSION_REQUEST)
            while len(received) < _REPLY_HEADER_BYTES:
                chunk = conn.recv(64)
                if not chunk:
                    break
                received += chunk
    except OSError as err:
        if not isinstance(err, TimeoutError):
            raise HardwareError(f"the xArm controller at {host} (port {port}) closed the connection: {err}") from err
    if len(received) < _REPLY_HEADER_BYTES:
        raise HardwareError(
            f"{host} (port {port}) accepts connections but did not answer an xArm version request within "
            f"{timeout_s:g} s: check that robot.ip is the xArm controller (not another device), that no other "
            "program blocks it, and power-cycle the controller if it is hung"
        )


def call_within(make: Callable[[], Any], timeout_s: float, discard: Callable[[Any], None], what: str) -> Any:
    """Return ``make()``, run in a thread of its own, or raise a HardwareError after ``timeout_s``.

    A result that arrives too late is handed to ``discard`` (e.g. to disconnect it); an
    exception ``make`` raises in time is raised here.
    """
    done = threading.Event()
    box: dict[str, Any] = {}
    lock = threading.Lock()

    def run() -> None:
        try:
            value = make()
        except BaseException as err:  # handed to the caller
            box["error"] = err
            done.set()
            return
        with lock:
            late = box.get("abandoned", False)
            box["value"] = value
        done.set()
        if late:
            discard(value)

    threading.Thread(target=run, name="xarm-connect", daemon=True).start()
    if not done.wait(max(timeout_s, 0.0)):
        with lock:
            box["abandoned"] = True
            late_value = "value" in box
        if late_value:  # finished between the wait and the lock
            return box["value"]
        raise HardwareError(f"{what} did not finish within {timeout_s:g} s (robot.connect_timeout_s)")
    if "error" in box:
        raise box["error"]
    return box["value"]


@contextlib.contextmanager
def ctrl_c_stops(stop: Callable[[], None], what: str) -> Iterator[None]:
    """During blocking SDK calls, make Ctrl-C call ``stop`` from a thread of its own.

    The SDK's reply reader catches everything, KeyboardInterrupt included, in a bare
    ``except``: a Ctrl-C that arrives while the calling thread waits for a reply is lost and
    the call (a motion, a query) runs on. While this context is active (in the main thread),
    SIGINT starts a thread that calls ``stop`` and raises KeyboardInterrupt as usual; if the
    SDK swallows it, the interrupt is raised on leaving the context, in place of whatever the
    interrupted call raised or returned. Nested contexts leave the work to the outermost.
    """
    if threading.current_thread() is not threading.main_thread() or getattr(_guard, "active", False):
        yield
        return
    interrupted = threading.Event()

    def on_sigint(_signum: int, _frame: object) -> None:
        if not interrupted.is_set():
            interrupted.set()
            threading.Thread(target=stop, name="xarm-ctrl-c-stop", daemon=True).start()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    _guard.active = True
    try:
        yield
    except KeyboardInterrupt:
        raise
    except BaseException as err:
        if interrupted.is_set():  # the SDK ate the interrupt and the call then failed
            raise KeyboardInterrupt(f"Ctrl-C during {what} (the arm was stopped)") from err
        raise
    finally:
        _guard.active = False
        signal.signal(signal.SIGINT, previous)
    if interrupted.is_set():
        raise KeyboardInterrupt(f"Ctrl-C during {what} (the arm was stopped)")


_Method = TypeVar("_Method", bound=Callable[..., Any])


def interruptible(method: _Method) -> _Method:
    """Run a driver method under :func:`ctrl_c_stops` with its object's ``_stop_on_ctrl_c``.

    Every driver method that talks to the SDK carries it, so a Ctrl-C stops the arm and
    reaches the caller whichever SDK call (motion, query, gripper command) it lands in.
    """

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        with ctrl_c_stops(self._stop_on_ctrl_c, f"{method.__name__} on the xArm"):
            return method(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]
