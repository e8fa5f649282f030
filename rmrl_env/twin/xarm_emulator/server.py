"""The emulator's sockets and lifecycle: :class:`XArmEmulator`.

Addresses: the SDK connects over TCP to ``ip:502`` (commands) and ``ip:30002`` (reports),
ports it does not let you change. The emulator listens on both on a loopback address of its
own, ``127.0.0.x`` with x picked at random in 2-254 (Linux routes all of 127/8 to the loopback
interface), so emulators in parallel tests never collide and nothing listens beyond this
machine. Binding port 502 needs root or ``CAP_NET_BIND_SERVICE`` (or
``sysctl net.ipv4.ip_unprivileged_port_start=0``); without it :meth:`XArmEmulator.start`
raises a PermissionError saying so.

The SDK's other route, a Unix socket ``/tmp/xarmcontroller_uds_<port>`` that it prefers for
*any* IP when the file exists, is deliberately not used: a file left behind would capture every
later connection on the machine, including to a real arm. If such a file exists the SDK
would bypass the emulator, so :meth:`XArmEmulator.start` refuses to run and names it.

Lifecycle: every thread is a daemon; :meth:`XArmEmulator.stop` (or leaving the ``with``
block) closes all sockets; the emulator also stops by itself after ``lifetime_s`` seconds.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from rmrl_env.twin.xarm_emulator.controller import IDLE, STOPPED, Controller
from rmrl_env.twin.xarm_emulator.framing import HEARTBEAT_PROTOCOL, split_frames
from rmrl_env.twin.xarm_emulator.gripper import BioGripperModel, Jaws
from rmrl_env.twin.xarm_emulator.handlers import Handlers, Session
from rmrl_env.twin.xarm_emulator.kinematics import NominalKinematics
from rmrl_env.twin.xarm_emulator.motion import MotionSink, RecordingSink
from rmrl_env.twin.xarm_emulator.report import build_report

logger = logging.getLogger(__name__)

COMMAND_PORT, REPORT_PORT = 502, 30002
#: Firmware generations the emulator answers as, by version: the newest the SDK 1.18 knows
#: (at or above every version it switches code paths on: 1.5.20, 1.8.6 protocol 3, 1.10.0,
#: 1.11.100 common move command, 2.0.102 motion-finish feedback, 2.4.101, 2.6.107, 2.7.103),
#: and an old one (1.11.6) for which the SDK sends the legacy line move (below 1.11.100) and
#: waits for motions by polling the state (below 2.0.102) - the docs accept firmware >= 1.11.
FIRMWARES = {
    "2.7.103": "6,6,XS1300000001,AC1300000001,v2.7.103",
    "1.11.6": "6,6,XS1300000001,AC1300000001,v1.11.6",
}
NEWEST_FIRMWARE, OLD_FIRMWARE = "2.7.103", "1.11.6"
FIRMWARE_VERSION = FIRMWARES[NEWEST_FIRMWARE]
UDS_PATHS = tuple(f"/tmp/xarmcontroller_uds_{p}" for p in (COMMAND_PORT, REPORT_PORT))
_IO_TIMEOUT_S = 0.5
#: Period of the controller's clock thread (motion ticks), wall seconds.
_TICK_S = 0.01


class XArmEmulator:
    """An xArm 6 controller with a BIO gripper, for the unmodified xArm SDK on loopback.

    Args:
        host: loopback address to listen on (default: a random free ``127.0.0.x``).
        gripper_model: ``"bio"`` or ``"bio_g2"``.
        object_width_mm: width of what the gripper will close on (None: nothing).
        sink: receives the arm's joint trajectory (default: a :class:`RecordingSink`).
        kinematics: the nominal kinematics (built from the arm model if omitted).
        report_period_s: interval of the report stream, seconds.
        lifetime_s: the emulator stops by itself this many seconds after :meth:`start`.
        start_ready: power up ready to move (state 2) instead of stopped (state 4).
        ik_failure_style: how ``get_inverse_kinematics`` reports "no solution" (see handlers).
        jaws: physical jaws for the gripper (see :class:`~.gripper.Jaws`); default kinematic
            jaws that stop on ``object_width_mm``.
        clock: the controller's clock, seconds (default: the wall clock, ``time.monotonic``;
            the twin's physics supplies its simulated time).
        external_ticks: someone else calls :meth:`tick` (the twin's physics, in lock step);
            the emulator's clock thread then only watches its lifetime.
        firmware: the firmware generation answered (a key of :data:`FIRMWARES`); the old one
            has no motion-finish feedback and no common line-move command.
    """

    def __init__(
        self,
        host: str | None = None,
        gripper_model: str = "bio_g2",
        object_width_mm: float | None = None,
        sink: MotionSink | None = None,
        kinematics: NominalKinematics | None = None,
        report_period_s: float = 0.1,
        lifetime_s: float = 300.0,
        start_ready: bool = False,
        ik_failure_style: str = "invalid",
        jaws: Jaws | None = None,
        clock: Callable[[], float] | None = None,
        external_ticks: bool = False,
        firmware: str = NEWEST_FIRMWARE,
    ) -> None:
        if host is not None and not host.startswith("127."):
            raise ValueError(f"the emulator listens on loopback only (127.x.x.x), got {host!r}")
        if firmware not in FIRMWARES:
            raise ValueError(f"firmware must be one of {sorted(FIRMWARES)}, got {firmware!r}")
        if report_period_s <= 0 or lifetime_s <= 0:
            raise ValueError(f"report_period_s and lifetime_s must be > 0, got {report_period_s}, {lifetime_s}")
        self.external_ticks = bool(external_ticks)
        self._requested_host = host
        self.host = host or ""
        self.report_period_s = float(report_period_s)
        self.lifetime_s = float(lifetime_s)
        self.sink = sink if sink is not None else RecordingSink()
        self.controller = Controller(
            kinematics if kinematics is not None else NominalKinematics(),
            sink=self.sink,
            gripper=BioGripperModel(gripper_model, object_width_mm, jaws=jaws),
            clock=clock if clock is not None else time.monotonic,
        )
        if start_ready:
            self.controller.state = IDLE
        self.firmware = firmware
        self.handlers = Handlers(self.controller, FIRMWARES[firmware], ik_failure_style)
        self.reports_silenced = False
        self.reports_sent = 0
        #: Extra latency before each command is answered, seconds (a slow network or controller).
        self.reply_delay_s = 0.0
        #: Called with the register of every command as it arrives (tests time events with it).
        self.request_hook: Callable[[int], None] | None = None
        self._alive = threading.Event()
        self._listeners: list[socket.socket] = []
        self._clients: list[socket.socket] = []
        self._clients_lock = threading.Lock()
        self._client_count = 0
        self._threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> XArmEmulator:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on ``host:502`` and ``host:30002`` and start the controller's clock.

        Raises:
            RuntimeError: a ``/tmp/xarmcontroller_uds_*`` file exists (the SDK would use it).
            PermissionError: port 502 cannot be bound by this user (see the module docstring).
        """
        for path in UDS_PATHS:
            if os.path.exists(path):
                raise RuntimeError(
                    f"{path} exists: the xArm SDK connects to that Unix socket instead of any IP, so it would "
                    "bypass the emulator. Remove it if no xArm controller software runs on this machine"
                )
        self._bind()
        self._alive.set()
        self._deadline_s = time.monotonic() + self.lifetime_s
        self._spawn(self._clock_loop, "xarm-emu-clock")
        self._spawn(lambda: self._accept_loop(self._listeners[0], self._serve_commands), "xarm-emu-accept-502")
        self._spawn(lambda: self._accept_loop(self._listeners[1], self._serve_reports), "xarm-emu-accept-30002")

    def _bind(self) -> None:
        candidates = (
            [self._requested_host] if self._requested_host else [f"127.0.0.{x}" for x in random.sample(range(2, 255), 40)]
        )
        last: OSError | None = None
        for host in candidates:
            socks: list[socket.socket] = []
            try:
                for port in (COMMAND_PORT, REPORT_PORT):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
                    s.listen(8)
                    s.settimeout(_IO_TIMEOUT_S)
            except PermissionError as err:
                for s in socks:
                    s.close()
                raise PermissionError(
                    f"binding {host}:{COMMAND_PORT} needs root or CAP_NET_BIND_SERVICE (the SDK only talks to port "
                    f"{COMMAND_PORT}); as root run `sysctl net.ipv4.ip_unprivileged_port_start=0` or run the tests as root"
                ) from err
            except OSError as err:
                for s in socks:
                    s.close()
                if err.errno != errno.EADDRINUSE:
                    raise
                last = err
                continue
            self.host, self._listeners = host, socks
            return
        raise OSError(f"no free loopback address for the emulator among {candidates[:3]}...: {last}")

    def stop(self) -> None:
        """Close every socket and end the threads (idempotent)."""
        for s in self._listeners:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() and stops listening now
            with contextlib.suppress(OSError):
                s.close()
        self._alive.clear()
        self.drop_connections()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=2.0)

    @property
    def running(self) -> bool:
        return self._alive.is_set()

    def _spawn(self, target: object, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads = [x for x in self._threads if x.is_alive()]
        self._threads.append(t)
        t.start()

    # -- fault injection ------------------------------------------------------------------------
    def latch_error(self, code: int) -> None:
        """Latch controller error ``code`` now (e.g. 22, 24, 31, 35, 40; 1 = e-stop pressed)."""
        self._feedback(self.controller.latch_error(code))

    def latch_warning(self, code: int) -> None:
        """Latch controller warning ``code`` now (e.g. 11-14)."""
        self.controller.latch_warning(code)

    def error_mid_motion(self, code: int, fraction: float = 0.5) -> None:
        """Latch error ``code`` when the running or next motion is ``fraction`` of the way through."""
        self.controller.schedule_fault(code, False, fraction)

    def warning_mid_motion(self, code: int, fraction: float = 0.5) -> None:
        """Latch warning ``code`` when the running or next motion is ``fraction`` of the way through."""
        self.controller.schedule_fault(code, True, fraction)

    def press_estop(self) -> None:
        """Press the emergency stop: C1, which ``clean_error`` cannot clear until released."""
        self.latch_error(1)

    def release_estop(self) -> None:
        self.controller.release_estop()

    def silence_reports(self, silent: bool = True) -> None:
        """Stop (or resume) the report stream; its connections stay open but quiet."""
        self.reports_silenced = bool(silent)

    def drop_connections(self) -> None:
        """Close every client connection (as a pulled cable or a controller reboot would)."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for c in clients:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()

    def gripper_fault(self, code: int = 1) -> None:
        """Latch a gripper fault with ``code`` in its error register."""
        with self.controller.lock:
            self.controller.gripper.inject_fault(code)

    def fail_ik(self, fail: bool = True) -> None:
        """Make every ``get_inverse_kinematics`` report "no solution" (until called with False)."""
        self.handlers.ik_always_fails = bool(fail)

    @property
    def unknown_registers(self) -> list[int]:
        """Command registers the SDK sent that the emulator does not implement."""
        return list(self.handlers.unknown_registers)

    # -- threads ------------------------------------------------------------------------------
    @staticmethod
    def _feedback(calls: list) -> None:
        for callback, code in calls:
            callback(2, code)

    def tick(self) -> None:
        """Advance the controller to its clock's now and send the motion feedback that is due."""
        self._feedback(self.controller.tick())

    def _clock_loop(self) -> None:
        while self._alive.is_set():
            if not self.external_ticks:
                self.tick()
            if time.monotonic() > self._deadline_s:
                logger.warning("xArm emulator on %s reached its lifetime of %.0f s: stopping", self.host, self.lifetime_s)
                threading.Thread(target=self.stop, daemon=True).start()
                return
            time.sleep(_TICK_S)

    def _accept_loop(self, listener: socket.socket, serve: object) -> None:
        while self._alive.is_set():
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(_IO_TIMEOUT_S)
            with self._clients_lock:
                self._clients.append(conn)
            self._spawn(lambda c=conn: serve(c), "xarm-emu-client")  # type: ignore[operator]

    def _serve_commands(self, conn: socket.socket) -> None:
        self._count_client(+1)
        out: queue.Queue[bytes | None] = queue.Queue()
        session = Session(send=out.put)
        self._spawn(lambda: self._write_loop(conn, out), "xarm-emu-writer")
        buffer = b""
        try:
            while self._alive.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                frames, buffer = split_frames(buffer + chunk)
                for request in frames:
                    if request.protocol_id == HEARTBEAT_PROTOCOL:
                        continue
                    if self.request_hook is not None:
                        self.request_hook(request.register)
                    if self.reply_delay_s > 0:
                        time.sleep(self.reply_delay_s)
                    with self.controller.lock:  # the reply is queued before any motion can finish
                        for frame in self.handlers.handle(session, request):
                            out.put(frame)
        except (OSError, ValueError) as err:
            logger.debug("command connection ended: %s", err)
        finally:
            self._count_client(-1)
            out.put(None)

    @staticmethod
    def _write_loop(conn: socket.socket, out: queue.Queue[bytes | None]) -> None:
        while True:
            frame = out.get()
            if frame is None:
                break
            try:
                conn.sendall(frame)
            except OSError:
                break
        with contextlib.suppress(OSError):
            conn.close()

    def _serve_reports(self, conn: socket.socket) -> None:
        self._count_client(+1)
        try:
            while self._alive.is_set():
                if not self.reports_silenced:
                    conn.sendall(build_report(self.controller))
                    self.reports_sent += 1
                readable, _, _ = select.select([conn], [], [], self.report_period_s)
                if readable and not conn.recv(64):
                    break  # the client closed the stream (it never sends anything else)
        except OSError as err:
            logger.debug("report connection ended: %s", err)
        finally:
            self._count_client(-1)
            with contextlib.suppress(OSError):
                conn.close()

    def _count_client(self, delta: int) -> None:
        with self._clients_lock:
            self._client_count += delta

    @property
    def client_count(self) -> int:
        """Open client connections (command and report) right now."""
        with self._clients_lock:
            return self._client_count


__all__ = [
    "COMMAND_PORT",
    "FIRMWARES",
    "FIRMWARE_VERSION",
    "NEWEST_FIRMWARE",
    "OLD_FIRMWARE",
    "REPORT_PORT",
    "STOPPED",
    "XArmEmulator",
]
