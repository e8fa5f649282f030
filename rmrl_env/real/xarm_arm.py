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

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from rmrl_env.errors import (
    ConfigError,
    HardwareError,
    SafetyError,
    UnreachableError,
)
from rmrl_env.protocols import ToolPose
from rmrl_env.real.joint_moves import plan_joint_move
from rmrl_env.real.payload import COLLISION_SENSITIVITY, Payload, apply_payload
from rmrl_env.real.safety import (
    SpeedLimits,
    WorkspaceBox,
    stop_on_failure,
)
from rmrl_env.real.xarm_connect import interruptible
from rmrl_env.real.xarm_link import COMMAND_PORT, CONNECT_TIMEOUT_S, REPORT_SILENCE_S, XArmLink

logger = logging.getLogger(__name__)

#: Roll and pitch of the top-down tool orientation, degrees.
TOP_DOWN_ROLL_DEG = 180.0
TOP_DOWN_PITCH_DEG = 0.0
#: A reached pose may differ from the commanded one by at most this much (m).
ARRIVAL_TOLERANCE_M = 0.002


def _deg(rad: float) -> float:
    return math.degrees(rad)


class XArmArm(XArmLink):
    """Top-down Cartesian motions of an xArm 6 (the connection and return codes: :class:`XArmLink`).

    Args:
        ip: controller address.
        workspace: the box every commanded TCP position must lie in.
        speeds: speed and acceleration limits (the acceleration is used for every motion).
        home: the parking pose out of the camera's view.
        home_speed_m_s: the highest tool speed of :meth:`go_home`, m/s.
        max_joint_speed_deg_s: the highest joint speed of joint-space moves (:meth:`go_home`,
            ``move_to(..., linear=False)``), deg/s; they are slowed further so that the tool
            stays within the speed they are given (see :mod:`rmrl_env.real.joint_moves`).
        home_joints_deg: joint angles J1-J6 of the home pose, degrees; ``None``: the controller's
            inverse kinematics of ``home``. When given, their forward kinematics must land on
            ``home`` (checked at connect).
        arrival_tolerance_m: a reached TCP position may differ from the commanded one by at most
            this, metres.
        tcp_offset_m: TCP relative to the flange (m), set on the controller at connect.
        motion_timeout_s: the longest a single motion may take, seconds.
        payload: mass and centre of mass on the flange, set at connect (default: the BIO
            gripper and a plate; see :mod:`rmrl_env.real.payload`).
        collision_sensitivity: 0 (off) to 5, set at connect.
        connect_timeout_s, port, api_factory, report_silence_s: the connection's (see
            :class:`~rmrl_env.real.xarm_link.XArmLink`).
    """

    def __init__(
        self,
        ip: str,
        workspace: WorkspaceBox,
        speeds: SpeedLimits,
        home: ToolPose,
        home_speed_m_s: float = 0.1,
        max_joint_speed_deg_s: float = 30.0,
        home_joints_deg: Sequence[float] | None = None,
        arrival_tolerance_m: float = ARRIVAL_TOLERANCE_M,
        tcp_offset_m: Sequence[float] = (0.0, 0.0, 0.0),
        motion_timeout_s: float = 30.0,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        port: int = COMMAND_PORT,
        api_factory: Callable[..., Any] | None = None,
        report_silence_s: float = REPORT_SILENCE_S,
        payload: Payload | None = None,
        collision_sensitivity: int = COLLISION_SENSITIVITY,
    ) -> None:
        super().__init__(ip, connect_timeout_s, port, report_silence_s, api_factory)
        self.workspace = workspace
        self.speeds = speeds
        self.home = home
        self.home_speed_m_s = speeds.check_speed(home_speed_m_s)
        self.tcp_offset_m = tuple(float(v) for v in tcp_offset_m)
        self.motion_timeout_s = float(motion_timeout_s)
        if not (math.isfinite(max_joint_speed_deg_s) and 0 < max_joint_speed_deg_s <= 180.0):
            raise ConfigError(f"safety.max_joint_speed_deg_s must be in (0, 180] deg/s, got {max_joint_speed_deg_s!r}")
        self.max_joint_speed_deg_s = float(max_joint_speed_deg_s)
        if home_joints_deg is not None and len(home_joints_deg) != 6:
            raise ConfigError(f"cell.home_joints_deg must have 6 joint angles (J1-J6, degrees), got {list(home_joints_deg)}")
        self.home_joints_deg = None if home_joints_deg is None else [float(v) for v in home_joints_deg]
        self.arrival_tolerance_m = float(arrival_tolerance_m)
        self.payload = payload if payload is not None else Payload()
        self.collision_sensitivity = collision_sensitivity
        workspace.check(home, "the home pose")
        self._connect()

    def _connect(self) -> None:
        """Open the SDK connection, clear what is latched, set the TCP offset, payload and
        collision sensitivity and read them back (no motion)."""
        self._open()
        try:
            self.recover()
            offset_mm = [1000.0 * v for v in self.tcp_offset_m] + [0.0, 0.0, 0.0]
            self._check(self.api.set_tcp_offset(offset_mm, is_radian=False), "set_tcp_offset")
            self._check(self.api.set_state(0), "set_state(0) after setting the TCP offset")
            apply_payload(self.api, self._check, self.payload, self.collision_sensitivity, self.ip)
            self._check_home_joints()
        except BaseException:
            self.close()  # leave no SDK connection (and its threads) behind
            raise

    # -- recovery -----------------------------------------------------------------------------
    @interruptible
    def reconnect(self) -> None:
        """Drop the SDK connection and connect again (after a lost connection or a silent report
        stream): what is latched is cleared and the TCP offset set again; nothing moves."""
        self.close()
        self._connect()
        self._stopped = False

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

    @interruptible
    def check_reachable(self, poses: Sequence[ToolPose]) -> None:
        """Workspace box and inverse kinematics of every pose, before any of them is sent."""
        for pose in poses:
            self.workspace.check(pose)
            self._solve_ik(pose)

    def _solve_ik(self, pose: ToolPose) -> list[float]:
        """Joint angles (6, degrees) of ``pose``, checked to land on it and within the joint limits."""
        code, angles = self.api.get_inverse_kinematics(self._sdk_pose(pose), input_is_radian=False, return_is_radian=False)
        self._raise_if_disconnected(code, f"inverse kinematics of {pose}")
        if code != 0 or not angles:
            raise UnreachableError(f"the xArm has no inverse-kinematics solution for {pose} (SDK code {code})", pose)
        angles = [float(a) for a in list(angles)[:6]]
        self._check_ik_reaches(pose, angles)
        limit = self.api.is_joint_limit(angles, is_radian=False)
        if limit[0] == 0 and limit[1]:
            raise UnreachableError(f"{pose} needs joint angles {[round(a, 1) for a in angles]}° beyond the joint limits", pose)
        return angles

    def _check_ik_reaches(self, pose: ToolPose, angles_deg: list[float]) -> None:
        """Raise UnreachableError unless the controller's FK of an IK answer lands on ``pose``.

        The SDK maps reply codes 1, 2 and 9 of a query to success, so an IK "no solution" the
        firmware flags with a warning arrives as code 0 with meaningless angles.
        """
        forward = getattr(self.api, "get_forward_kinematics", None)
        if forward is None:  # a stand-in for the SDK without forward kinematics
            return
        code, reached = forward(angles_deg, input_is_radian=False, return_is_radian=False)
        self._raise_if_disconnected(code, f"forward kinematics of {pose}")
        if code != 0 or not reached:
            raise UnreachableError(
                f"the xArm's inverse-kinematics answer for {pose} could not be checked (SDK code {code})", pose
            )
        target = self._sdk_pose(pose)
        miss_mm = math.dist([float(v) for v in reached[:3]], target[:3])
        if miss_mm > 1000.0 * self.arrival_tolerance_m:
            raise UnreachableError(
                f"the xArm's inverse-kinematics answer for {pose} lands {miss_mm:.1f} mm away from it: the controller "
                "has no solution for this pose (check the target poses and the calibration)",
                pose,
            )

    def _refuse_if_stopped(self) -> None:
        if self._stopped:
            raise SafetyError(
                f"the xArm at {self.ip} was stopped after an interruption or error: call recover() before moving it again"
            )

    @interruptible
    def move_to(self, pose: ToolPose, speed_m_s: float, linear: bool = True) -> None:
        """Move the TCP to ``pose`` at ``speed_m_s`` and return when it is there.

        ``linear=False`` makes a joint-space move whose joint speed is at most the configured
        limit and whose tool speed is at most ``speed_m_s``.

        Raises:
            WorkspaceViolation / SafetyError: refused before sending (box, speed, stopped arm).
            ControllerError / HardwareError: the controller reported a problem.
        """
        self._refuse_if_stopped()
        self.workspace.check(pose)
        speed = self.speeds.check_speed(speed_m_s)
        if not linear:
            self._run_motion(self._joint_motion(self._solve_ik(pose), speed, f"{pose}"), pose)
            return
        x, y, z, roll, pitch, yaw = self._sdk_pose(pose)

        def linear_move() -> Any:
            return self.api.set_position(
                x=x, y=y, z=z, roll=roll, pitch=pitch, yaw=yaw,
                speed=1000.0 * speed, mvacc=1000.0 * self.speeds.max_acceleration_m_s2,
                is_radian=False, wait=True, timeout=self.motion_timeout_s,
            )  # fmt: skip

        self._run_motion(linear_move, pose)

    def _joints_deg(self) -> list[float]:
        angles = self._check(self.api.get_servo_angle(is_radian=False), "get_servo_angle")
        return [float(a) for a in list(angles)[:6]]

    def _forward_mm(self, angles_deg: list[float]) -> list[float]:
        result = self.api.get_forward_kinematics(angles_deg, input_is_radian=False, return_is_radian=False)
        return [float(v) for v in self._check(result, "get_forward_kinematics")]

    def _joint_motion(self, target_deg: list[float], speed_m_s: float, what: str) -> Callable[[], Any]:
        """A joint-space move to ``target_deg`` within the joint-speed limit and ``speed_m_s`` at
        the tool, its sampled path checked against the workspace box before it is returned."""
        plan = plan_joint_move(
            self._joints_deg(), target_deg, self._forward_mm, max_joint_speed_deg_s=self.max_joint_speed_deg_s,
            max_tool_speed_m_s=speed_m_s, max_tool_acc_m_s2=self.speeds.max_acceleration_m_s2,
        )  # fmt: skip
        for x_mm, y_mm, z_mm in plan.path_mm:
            self.workspace.check(ToolPose(x_mm / 1000.0, y_mm / 1000.0, z_mm / 1000.0, 0.0), f"the joint-space path to {what}")
        logger.debug("joint move to %s at %.1f deg/s (tool peak %.3f m/s)", what, plan.speed_deg_s, plan.peak_tool_speed_m_s)

        def joint_move() -> Any:
            return self.api.set_servo_angle(
                angle=target_deg, speed=plan.speed_deg_s, mvacc=plan.acc_deg_s2,
                is_radian=False, wait=True, timeout=self.motion_timeout_s,
            )  # fmt: skip

        return joint_move

    def _run_motion(self, send: Callable[[], Any], pose: ToolPose) -> None:
        """Send a motion, stop the arm if anything goes wrong, and check that it arrived at ``pose``."""
        with stop_on_failure(self.stop, f"motion to {pose}"):
            self._check_report_stream(f"before moving to {pose}")
            self._check(send(), f"moving to {pose}")
            self._check_report_stream(f"after moving to {pose}")
            self._raise_if_controller_error(f"after moving to {pose}")
            reached = self.tool_pose()
            miss = math.dist((reached.x_m, reached.y_m, reached.z_m), (pose.x_m, pose.y_m, pose.z_m))
            if miss > self.arrival_tolerance_m:
                raise HardwareError(
                    f"the xArm stopped {miss * 1000:.1f} mm from the commanded pose {pose} (at {reached}): "
                    "something blocked it or the motion timed out"
                )

    def _check_home_joints(self) -> None:
        """Raise a ConfigError unless the configured home joints' forward kinematics land on the home pose."""
        if self.home_joints_deg is None:
            return
        at = self._forward_mm(self.home_joints_deg)
        miss_mm = math.dist(at[:3], self._sdk_pose(self.home)[:3])
        if miss_mm > 1000.0 * self.arrival_tolerance_m:
            raise ConfigError(
                f"cell.home_joints_deg = {self.home_joints_deg} puts the TCP at {[round(v, 1) for v in at[:3]]} mm, "
                f"{miss_mm:.1f} mm from cell.home: make them agree (read the joints at the home pose in UFactory "
                "Studio) or remove home_joints_deg"
            )

    @interruptible
    def go_home(self) -> None:
        """Joint-space move to the home pose (to ``home_joints_deg`` when configured)."""
        if self.home_joints_deg is None:
            self.move_to(self.home, self.home_speed_m_s, linear=False)
            return
        self._refuse_if_stopped()
        self._run_motion(self._joint_motion(self.home_joints_deg, self.home_speed_m_s, "the home joints"), self.home)

    @interruptible
    def move_to_joints(self, joints_deg: Sequence[float], speed_m_s: float) -> None:
        """Joint-space move to joint angles J1-J6 (degrees): the tilted tool of a hand-eye
        calibration view (the routine's own motions are all top-down). Checked as
        :meth:`go_home` is: joint limits, the target TCP and the sampled path in the workspace
        box, joint and tool speed limited, arrival checked."""
        self._refuse_if_stopped()
        target = [float(a) for a in joints_deg]
        if len(target) != 6 or not all(math.isfinite(a) for a in target):
            raise ConfigError(f"joint angles must be 6 finite numbers (J1-J6, degrees), got {list(joints_deg)}")
        x, y, z = self._forward_mm(target)[:3]
        pose = ToolPose(x / 1000.0, y / 1000.0, z / 1000.0, 0.0)
        limit = self.api.is_joint_limit(target, is_radian=False)
        if limit[0] == 0 and limit[1]:
            raise UnreachableError(f"joint angles {[round(a, 1) for a in target]}° are beyond the joint limits", pose)
        self.workspace.check(pose, f"the TCP at joint angles {[round(a, 1) for a in target]}°")
        speed = self.speeds.check_speed(speed_m_s)
        self._run_motion(self._joint_motion(target, speed, f"joint angles {[round(a, 1) for a in target]}°"), pose)

    @interruptible
    def tool_pose(self) -> ToolPose:
        """The current TCP pose (m, rad)."""
        x, y, z, _roll, _pitch, yaw = self.tcp_pose_mm_deg()
        return ToolPose(x / 1000.0, y / 1000.0, z / 1000.0, math.radians(yaw))

    @interruptible
    def tcp_pose_mm_deg(self) -> list[float]:
        """The controller's full TCP pose ``[x, y, z (mm), roll, pitch, yaw (deg)]`` (any tilt)."""
        return [float(v) for v in self._check(self.api.get_position(is_radian=False), "get_position")][:6]
