"""The SDK connection of an xArm controller and the meaning of its return codes.

:class:`XArmLink` opens ``xarm.wrapper.XArmAPI`` (after a bounded reachability check), waits for
the first report, turns every SDK return code into a value or an exception that says what it
means and what to do (:class:`~rmrl_env.errors.ControllerError`, collision codes as
:class:`~rmrl_env.errors.ControllerCollisionError`, a lost connection or a silent report stream
as :class:`~rmrl_env.errors.HardwareError`), and recovers, stops and closes the controller.
:class:`~rmrl_env.real.xarm_arm.XArmArm` adds the motions on top.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from rmrl_env.errors import ControllerCollisionError, ControllerError, HardwareError
from rmrl_env.real.safety import (
    COLLISION_ERROR_CODES,
    explain_api_code,
    explain_controller_error,
    explain_controller_warning,
)
from rmrl_env.real.xarm_connect import (
    REPORT_PORT,
    call_within,
    check_controller_address,
    check_controller_answers,
    check_tcp_reachable,
    import_xarm_api,
    interruptible,
)

logger = logging.getLogger(__name__)

#: The controller's command port (the SDK cannot use another).
COMMAND_PORT = 502
#: Default time-out of the reachability check and of the wait for the first report, seconds.
CONNECT_TIMEOUT_S = 5.0
#: The connection's phases share one deadline of ``connect_timeout_s``; what overruns it is
#: cut off, so connecting ends within ``connect_timeout_s`` plus this many seconds (thread
#: start-up and scheduling), whatever the other end does.
CONNECT_MARGIN_S = 0.5
#: The longest recovery waits for an arm that is braking from a stop, seconds.
STOP_SETTLE_S = 2.0
#: Default longest silence of the report stream before motions stop, seconds.
REPORT_SILENCE_S = 2.0


def _disconnect_quietly(api: Any) -> None:
    try:
        api.disconnect()
    except Exception as err:
        logger.debug("disconnecting an SDK connection that came too late: %s", err)


#: SDK codes of a reply that does not match its request (transaction number, protocol or function:
#: 5, 6, 7). After Ctrl-C cuts an SDK call short between sending and counting its request, the next
#: call can read that call's late reply; :meth:`XArmLink.recover` asks again, this many times.
STALE_REPLY_CODES = (5, 6, 7)
STALE_REPLY_RETRIES = 2


class XArmLink:
    """One SDK connection to an xArm controller (no motion).

    Args:
        ip: controller address (IPv4 or ``localhost``: the SDK opens TCP only for those).
        connect_timeout_s: the whole connection (reachability, the controller's answer, the
            SDK's connect, the first report) ends within this plus :data:`CONNECT_MARGIN_S`,
            seconds.
        port: TCP port checked for reachability.
        report_silence_s: a report stream silent for longer than this stops motions with a
            HardwareError, seconds (the controller reports several times a second).
        api_factory: builds the SDK object from the address (default ``xarm.wrapper.XArmAPI``;
            tests pass a fake).
    """

    def __init__(
        self,
        ip: str,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        port: int = COMMAND_PORT,
        report_silence_s: float = REPORT_SILENCE_S,
        api_factory: Callable[..., Any] | None = None,
    ) -> None:
        check_controller_address(ip)
        self.ip = ip
        self.port = port
        self.connect_timeout_s = float(connect_timeout_s)
        self.report_silence_s = float(report_silence_s)
        self._factory = api_factory if api_factory is not None else import_xarm_api()
        # a stand-in for the SDK (tests) is not behind a port that speaks the controller's protocol
        self._speaks_xarm_protocol = api_factory is None
        self._stopped = False
        self._last_report_s: float | None = None
        self.api: Any = None

    def _open(self) -> None:
        """Open the SDK connection and wait for the first report; on failure nothing is left open.

        Everything here (reachability, the controller's answer, the SDK's own connect, the
        first report) shares one deadline, ``connect_timeout_s`` from now (see
        :data:`CONNECT_MARGIN_S`).
        """
        ip, port = self.ip, self.port
        self._last_report_s = None
        deadline = time.monotonic() + self.connect_timeout_s

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        check_tcp_reachable(ip, port, left())
        if self._speaks_xarm_protocol:
            check_controller_answers(ip, port, left())

        def make() -> Any:
            try:
                return self._factory(ip, is_radian=False)
            except Exception as err:
                raise HardwareError(f"connecting to the xArm at {ip} failed: {err}") from err

        self.api = call_within(make, left(), _disconnect_quietly, f"the xArm SDK's connect to {ip}")
        try:
            if not getattr(self.api, "connected", False):
                raise HardwareError(f"the xArm SDK could not connect to {ip}: check that no other program holds the arm")
            self._wait_for_first_report(left())
        except BaseException:
            self.close()
            raise

    def _wait_for_first_report(self, timeout_s: float) -> None:
        """Follow the report stream (public ``register_report_callback``) and wait for its first
        report, or raise a HardwareError naming the port.

        The SDK's motions wait, without a time-out, for a first report to synchronise with; a
        blocked report port would otherwise hang the first motion forever. The time of every
        report is kept for :meth:`_check_report_stream`.
        """
        register = getattr(self.api, "register_report_callback", None)
        if register is None:  # a stand-in for the SDK without a report stream
            return
        arrived = threading.Event()

        def on_report(_report: object) -> None:
            self._last_report_s = time.monotonic()
            arrived.set()

        register(on_report)
        if not arrived.wait(timeout_s):
            raise HardwareError(
                f"the xArm controller at {self.ip} accepts commands but sent no report on port {REPORT_PORT} within "
                f"{self.connect_timeout_s:g} s: check that a firewall lets TCP port {REPORT_PORT} through and that the "
                "controller is not overloaded; motions cannot run without the report stream"
            )

    def _controller_codes(self) -> tuple[int, int]:
        result = self.api.get_err_warn_code()
        code, values = result if isinstance(result, tuple) else (result, [0, 0])
        if code != 0 or not values:
            return int(getattr(self.api, "error_code", 0) or 0), int(getattr(self.api, "warn_code", 0) or 0)
        return int(values[0] or 0), int(values[1] or 0)

    def _check(self, result: Any, what: str) -> Any:
        """Raise a clear error unless an SDK call's return code is 0; return the call's value."""
        if isinstance(result, tuple):
            code, value = result[0], result[1] if len(result) > 1 else None
        else:
            code, value = result, None
        if code == 0:
            return value
        if code == -1 or not getattr(self.api, "connected", True):
            raise HardwareError(
                f"{what}: the connection to the xArm at {self.ip} is lost ({explain_api_code(-1)}). "
                "A motion the controller already has runs to its end: a lost connection does not stop the arm "
                "(use the emergency stop if it must not finish); reconnect with arm.reconnect() or restart the env."
            )
        if code in (1, 2, 9, -2, -9):
            err, warn = self._controller_codes()
            if err:
                raise self._error_for(f"{what} failed on the xArm at {self.ip}", err, warn)
            if warn:
                raise ControllerError(f"{what} failed on the xArm at {self.ip}: {explain_controller_warning(warn)}", 0, warn)
        raise HardwareError(f"{what} failed on the xArm at {self.ip}: {explain_api_code(int(code))}")

    def _raise_if_disconnected(self, code: Any, what: str) -> None:
        """A query that failed because the connection is gone is a HardwareError, not an answer."""
        if code == -1 or not getattr(self.api, "connected", True):
            self._check(-1, what)

    @staticmethod
    def _error_for(context: str, err: int, warn: int) -> ControllerError:
        """The exception for controller error ``err``: a collision code gives ControllerCollisionError."""
        kind = ControllerCollisionError if err in COLLISION_ERROR_CODES else ControllerError
        return kind(f"{context}: {explain_controller_error(err)}", err, warn)

    def _raise_if_controller_error(self, what: str) -> None:
        err, warn = self._controller_codes()
        if err:
            raise self._error_for(f"{what}: the xArm at {self.ip} reports", err, warn)
        if warn:
            logger.warning("%s: xArm %s", what, explain_controller_warning(warn))

    @interruptible
    def recover(self) -> None:
        """Clear warnings and errors, enable the motors, position mode, ready state.

        Call it after fixing the cause of a :class:`ControllerError` or after a stop; it raises
        again if the controller still reports an error (e.g. the emergency stop is pressed).
        """
        # Errors first: while one is latched every reply carries the controller's error flag, so
        # clean_warn would answer 1. Both return the reply's status as the code (no mapping in
        # the SDK): 1 / 2 only mean "an error / a warning is (still) latched", which the check
        # of the controller's codes below reports with its meaning (e.g. a pressed e-stop).
        for name, clean in (("clean_error", self.api.clean_error), ("clean_warn", self.api.clean_warn)):
            code = clean()
            for _ in range(STALE_REPLY_RETRIES):
                if code not in STALE_REPLY_CODES:
                    break
                code = clean()  # a reply left by a call that Ctrl-C cut short answered first; ask again
            if code not in (0, 1, 2):
                self._check(code, name)
        self._check(self.api.motion_enable(enable=True), "motion_enable")
        self._check(self.api.set_mode(0), "set_mode(0)")
        self._check(self.api.set_state(0), "set_state(0)")
        self._raise_if_controller_error("after recovery")
        self._wait_until_at_rest()
        self._stopped = False

    def _wait_until_at_rest(self) -> None:
        """After ``set_state(0)``: an arm still braking from a stop stays in the stop state (4)
        until it is at rest; wait for that, at most :data:`STOP_SETTLE_S`."""
        get_state = getattr(self.api, "get_state", None)
        if get_state is None:  # a stand-in without states
            return
        deadline = time.monotonic() + STOP_SETTLE_S
        while time.monotonic() < deadline:
            code, state = get_state()
            if code != 0 or state != 4:
                return
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop any motion now (stop state); motions are refused until :meth:`recover`."""
        self._stopped = True
        code = self.api.set_state(4)
        if code != 0:
            logger.error(
                "set_state(4) returned %s while stopping the xArm at %s: press the emergency stop if it still moves",
                code,
                self.ip,
            )

    def _stop_on_ctrl_c(self) -> None:
        self.stop()

    def close(self) -> None:
        """Disconnect from the controller (the arm holds its pose)."""
        try:
            self.api.disconnect()
        except Exception as err:
            logger.warning("disconnecting from the xArm at %s: %s", self.ip, err)

    def _check_report_stream(self, what: str) -> None:
        """Raise a HardwareError when the controller's report stream has gone silent.

        The SDK learns the arm's state and errors from that stream (port 30002); while it is
        silent a motion's error would go unnoticed and the SDK's state is stale. The time of the
        last report comes from the driver's own report callback (public SDK API); a stand-in
        without a report stream is not checked.
        """
        last = self._last_report_s
        if last is None:
            return
        silent_s = time.monotonic() - last
        if silent_s > self.report_silence_s:
            raise HardwareError(
                f"{what}: the xArm controller at {self.ip} has sent no report on port {REPORT_PORT} for {silent_s:.1f} s "
                f"(limit {self.report_silence_s:g} s): the arm's state and errors are unknown, so it was stopped. Check "
                "the Ethernet link and the controller's load, then restart the env"
            )
