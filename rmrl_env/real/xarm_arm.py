"""The UFactory xArm 6 through ``xarm-python-sdk`` (implements :class:`~rmrl_env.protocols.Arm`).

The routine speaks metres and radians; the SDK millimetres and degrees. Every pose is a
top-down tool pose: roll = 180°, pitch = 0°, yaw = the tool's yaw. The TCP offset of the
gripper is set on the controller at connect, so the SDK's poses are TCP poses.

Safety (see :mod:`rmrl_env.real.safety`): each pose is checked against the workspace box and
the speed against the limit *before* anything is sent; every SDK return code is checked and
controller errors become :class:`~rmrl_env.errors.ControllerError` with the code's meaning
and what to do; Ctrl-C or an exception during a motion stops the arm (stop state, gripper
untouched) and further motions are refused until :meth:`XArmArm.recover` is called.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rmrl_env.errors import ConfigError, ControllerError, HardwareError, SafetyError, UnreachableError
from rmrl_env.protocols import ToolPose
from rmrl_env.real.safety import (
    SpeedLimits,
    WorkspaceBox,
    explain_api_code,
    explain_controller_error,
    explain_controller_warning,
    stop_on_failure,
)

logger = logging.getLogger(__name__)

#: Roll and pitch of the top-down tool orientation, degrees.
TOP_DOWN_ROLL_DEG = 180.0
TOP_DOWN_PITCH_DEG = 0.0
#: A reached pose may differ from the commanded one by at most this much (m).
ARRIVAL_TOLERANCE_M = 0.002
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


def _deg(rad: float) -> float:
    return math.degrees(rad)


class XArmArm:
    """Top-down Cartesian motions of an xArm 6.

    Args:
        ip: controller address.
        workspace: the box every commanded TCP position must lie in.
        speeds: speed and acceleration limits (the acceleration is used for every motion).
        home: the parking pose out of the camera's view.
        home_speed_m_s: speed of :meth:`go_home`, m/s.
        tcp_offset_m: TCP relative to the flange (m), set on the controller at connect.
        motion_timeout_s: the longest a single motion may take, seconds.
        connect_timeout_s: time-out of the reachability check and of the wait for the first
            report, seconds.
        port: TCP port checked for reachability.
        api_factory: builds the SDK object from the address (default ``xarm.wrapper.XArmAPI``;
            tests pass a fake).
    """

    def __init__(
        self,
        ip: str,
        workspace: WorkspaceBox,
        speeds: SpeedLimits,
        home: ToolPose,
        home_speed_m_s: float = 0.1,
        tcp_offset_m: Sequence[float] = (0.0, 0.0, 0.0),
        motion_timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        port: int = 502,
        api_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.ip = ip
        self.workspace = workspace
        self.speeds = speeds
        self.home = home
        self.home_speed_m_s = speeds.check_speed(home_speed_m_s)
        self.tcp_offset_m = tuple(float(v) for v in tcp_offset_m)
        self.motion_timeout_s = float(motion_timeout_s)
        self._stopped = False
        workspace.check(home, "the home pose")
        check_controller_address(ip)
        check_tcp_reachable(ip, port, connect_timeout_s)
        factory = api_factory if api_factory is not None else import_xarm_api()
        try:
            self.api = factory(ip, is_radian=False)
        except Exception as err:
            raise HardwareError(f"connecting to the xArm at {ip} failed: {err}") from err
        try:
            if not getattr(self.api, "connected", False):
                raise HardwareError(f"the xArm SDK could not connect to {ip}: check that no other program holds the arm")
            self._wait_for_first_report(connect_timeout_s)
            self.recover()
            offset_mm = [1000.0 * v for v in self.tcp_offset_m] + [0.0, 0.0, 0.0]
            self._check(self.api.set_tcp_offset(offset_mm, is_radian=False), "set_tcp_offset")
            self._check(self.api.set_state(0), "set_state(0) after setting the TCP offset")
        except BaseException:
            self.close()  # leave no SDK connection (and its threads) behind
            raise

    def _wait_for_first_report(self, timeout_s: float) -> None:
        """Wait for a report on the controller's report port or raise a HardwareError naming it.

        The SDK's motions wait, without a time-out, for a first report to synchronise with; a
        blocked report port would otherwise hang the first motion forever.
        """
        register = getattr(self.api, "register_report_callback", None)
        if register is None:  # a stand-in for the SDK without a report stream
            return
        arrived = threading.Event()

        def on_report(_report: object) -> None:
            arrived.set()

        register(on_report)
        try:
            if not arrived.wait(timeout_s):
                raise HardwareError(
                    f"the xArm controller at {self.ip} accepts commands but sent no report on port {REPORT_PORT} within "
                    f"{timeout_s:g} s: check that a firewall lets TCP port {REPORT_PORT} through and that the controller "
                    "is not overloaded; motions cannot run without the report stream"
                )
        finally:
            self.api.release_report_callback(on_report)

    # -- code handling ------------------------------------------------------------------------
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
                "The arm stops by itself when its connection drops."
            )
        if code in (1, 2, 9, -2, -9):
            err, warn = self._controller_codes()
            if err:
                raise ControllerError(f"{what} failed on the xArm at {self.ip}: {explain_controller_error(err)}", err, warn)
            if warn:
                raise ControllerError(f"{what} failed on the xArm at {self.ip}: {explain_controller_warning(warn)}", 0, warn)
        raise HardwareError(f"{what} failed on the xArm at {self.ip}: {explain_api_code(int(code))}")

    def _raise_if_controller_error(self, what: str) -> None:
        err, warn = self._controller_codes()
        if err:
            raise ControllerError(f"{what}: the xArm at {self.ip} reports {explain_controller_error(err)}", err, warn)
        if warn:
            logger.warning("%s: xArm %s", what, explain_controller_warning(warn))

    # -- recovery and stopping ----------------------------------------------------------------
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
            if code not in (0, 1, 2):
                self._check(code, name)
        self._check(self.api.motion_enable(enable=True), "motion_enable")
        self._check(self.api.set_mode(0), "set_mode(0)")
        self._check(self.api.set_state(0), "set_state(0)")
        self._raise_if_controller_error("after recovery")
        self._stopped = False

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

    def close(self) -> None:
        """Disconnect from the controller (the arm holds its pose)."""
        try:
            self.api.disconnect()
        except Exception as err:
            logger.warning("disconnecting from the xArm at %s: %s", self.ip, err)

    # -- Arm protocol -------------------------------------------------------------------------
    def _sdk_pose(self, pose: ToolPose) -> list[float]:
        return [
            1000.0 * pose.x_m,
            1000.0 * pose.y_m,
            1000.0 * pose.z_m,
            TOP_DOWN_ROLL_DEG,
            TOP_DOWN_PITCH_DEG,
            _deg(pose.yaw_rad),
        ]

    def check_reachable(self, poses: Sequence[ToolPose]) -> None:
        """Workspace box and inverse kinematics of every pose, before any of them is sent."""
        for pose in poses:
            self.workspace.check(pose)
            result = self.api.get_inverse_kinematics(self._sdk_pose(pose), input_is_radian=False, return_is_radian=False)
            code, angles = result
            if code != 0 or not angles:
                raise UnreachableError(f"the xArm has no inverse-kinematics solution for {pose} (SDK code {code})", pose)
            self._check_ik_reaches(pose, list(angles))
            limit = self.api.is_joint_limit(list(angles), is_radian=False)
            if limit[0] == 0 and limit[1]:
                raise UnreachableError(
                    f"{pose} needs joint angles {[round(a, 1) for a in angles]}° beyond the joint limits", pose
                )

    def _check_ik_reaches(self, pose: ToolPose, angles_deg: list[float]) -> None:
        """Raise UnreachableError unless the controller's FK of an IK answer lands on ``pose``.

        The SDK maps reply codes 1, 2 and 9 of a query to success, so an IK "no solution" the
        firmware flags with a warning arrives as code 0 with meaningless angles.
        """
        forward = getattr(self.api, "get_forward_kinematics", None)
        if forward is None:  # a stand-in for the SDK without forward kinematics
            return
        code, reached = forward(angles_deg, input_is_radian=False, return_is_radian=False)
        if code != 0 or not reached:
            raise UnreachableError(
                f"the xArm's inverse-kinematics answer for {pose} could not be checked (SDK code {code})", pose
            )
        target = self._sdk_pose(pose)
        miss_mm = math.dist([float(v) for v in reached[:3]], target[:3])
        if miss_mm > 1000.0 * ARRIVAL_TOLERANCE_M:
            raise UnreachableError(
                f"the xArm's inverse-kinematics answer for {pose} lands {miss_mm:.1f} mm away from it: the controller "
                "has no solution for this pose (check the target poses and the calibration)",
                pose,
            )

    @contextlib.contextmanager
    def _ctrl_c_stops_the_arm(self) -> Iterator[None]:
        """During a blocking SDK call, make Ctrl-C stop the arm from a thread of its own.

        The SDK's reply reader catches everything, KeyboardInterrupt included, in a bare
        ``except``: a Ctrl-C that arrives while the calling thread waits for a reply is lost and
        the motion runs on. While this context is active (in the main thread), SIGINT starts a
        thread that sends the stop and raises KeyboardInterrupt as usual; if the SDK swallows it,
        the call returns once the arm has stopped and the interrupt is raised on leaving.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        interrupted = threading.Event()

        def on_sigint(_signum: int, _frame: object) -> None:
            if not interrupted.is_set():
                interrupted.set()
                threading.Thread(target=self.stop, name="xarm-ctrl-c-stop", daemon=True).start()
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        if interrupted.is_set():
            raise KeyboardInterrupt(f"Ctrl-C during a motion of the xArm at {self.ip} (the arm was stopped)")

    def move_to(self, pose: ToolPose, speed_m_s: float, linear: bool = True) -> None:
        """Move the TCP to ``pose`` at ``speed_m_s`` and return when it is there.

        Raises:
            WorkspaceViolation / SafetyError: refused before sending (box, speed, stopped arm).
            ControllerError / HardwareError: the controller reported a problem.
        """
        if self._stopped:
            raise SafetyError(
                f"the xArm at {self.ip} was stopped after an interruption or error: call recover() before moving it again"
            )
        self.workspace.check(pose)
        speed = self.speeds.check_speed(speed_m_s)
        x, y, z, roll, pitch, yaw = self._sdk_pose(pose)
        kwargs: dict[str, Any] = {} if linear else {"motion_type": 2}
        with stop_on_failure(self.stop, f"motion to {pose}"):
            with self._ctrl_c_stops_the_arm():
                result = self.api.set_position(
                    x=x, y=y, z=z, roll=roll, pitch=pitch, yaw=yaw,
                    speed=1000.0 * speed, mvacc=1000.0 * self.speeds.max_acceleration_m_s2,
                    is_radian=False, wait=True, timeout=self.motion_timeout_s, **kwargs,
                )  # fmt: skip
            self._check(result, f"moving to {pose}")
            self._raise_if_controller_error(f"after moving to {pose}")
            reached = self.tool_pose()
            miss = math.dist((reached.x_m, reached.y_m, reached.z_m), (pose.x_m, pose.y_m, pose.z_m))
            if miss > ARRIVAL_TOLERANCE_M:
                raise HardwareError(
                    f"the xArm stopped {miss * 1000:.1f} mm from the commanded pose {pose} (at {reached}): "
                    "something blocked it or the motion timed out"
                )

    def go_home(self) -> None:
        """Free-space move to the home pose."""
        self.move_to(self.home, self.home_speed_m_s, linear=False)

    def tool_pose(self) -> ToolPose:
        """The current TCP pose (m, rad)."""
        pos = self._check(self.api.get_position(is_radian=False), "get_position")
        x, y, z, _roll, _pitch, yaw = (float(v) for v in pos)
        return ToolPose(x / 1000.0, y / 1000.0, z / 1000.0, math.radians(yaw))
