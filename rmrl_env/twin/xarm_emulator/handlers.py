"""Command-port handlers: one function per register the SDK uses, answered as the firmware would.

Register numbers are the SDK's ``XCONF.UxbusReg``. Each handler gets the connection's context
and the request, changes the controller, and returns the reply's data bytes; the reply's
status byte is computed afterwards from the controller (so ``clean_warn`` while an error is
latched answers with the error flag, which the SDK returns as code 1).

Choices where the SDK does not show the firmware's behaviour (inferred, documented here):

* a Cartesian move whose target or path has no IK solution latches C40 (the SDK documents C40
  for IK-planned moves) and is not executed; a joint target beyond the limits latches C23;
* ``get_inverse_kinematics`` without a solution answers with the "invalid" flag (SDK code 10)
  by default, or, with ``ik_failure_style="warning"``, latches W14 and returns the current
  joint angles (which the SDK passes on as success, since it maps code 2 to 0);
* a register the emulator does not implement latches W13 ("command does not exist") and is
  recorded in ``Emulator.unknown_registers``.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rmrl_env.twin.xarm_emulator import framing
from rmrl_env.twin.xarm_emulator.controller import MOTION_FINISH, STOPPED, Controller, FeedbackSend
from rmrl_env.twin.xarm_emulator.framing import FLAG_INVALID, Request, f32, read_f32
from rmrl_env.twin.xarm_emulator.motion import JointTrajectory

#: Limits the controller reports and converts joint-planned Cartesian moves with.
MAX_TCP_SPEED_MM_S, MAX_TCP_ACC_MM_S2 = 1000.0, 50000.0
MAX_JOINT_SPEED_RAD_S, MAX_JOINT_ACC_RAD_S2 = math.pi, 20.0
#: End-effector RS-485 host id and the baud-rate index the tool bus reports (2 Mbaud).
TOOL_HOST_ID, TOOL_BAUD_INDEX = 9, 11


@dataclass
class Session:
    """Per-connection state: the feedback types the client asked for and how to reach it."""

    send: Callable[[bytes], None]
    feedback_type: int = 0
    settings: dict[str, object] = field(default_factory=dict)

    def feedback_for(self, request: Request) -> FeedbackSend | None:
        """A callback that sends the motion-finish feedback of ``request``, if the client wants it."""
        if not self.feedback_type & MOTION_FINISH:
            return None
        tid, pid = request.transaction_id, request.protocol_id

        def done(feedback_type: int, code: int) -> None:
            self.send(framing.feedback_frame(tid, pid, 0, MOTION_FINISH, code))

        return done


@dataclass
class Reply:
    """A handler's answer: data bytes, extra status flags, frames to send after the reply."""

    data: bytes = b""
    flags: int = 0
    after: list[bytes] = field(default_factory=list)


class Handlers:
    """Dispatch of command registers to the controller.

    Args:
        ctl: the controller.
        version: the firmware version string ``GET_VERSION`` answers.
        ik_failure_style: ``"invalid"`` or ``"warning"`` (see the module docstring).
    """

    def __init__(self, ctl: Controller, version: str, ik_failure_style: str = "invalid") -> None:
        if ik_failure_style not in ("invalid", "warning"):
            raise ValueError(f"ik_failure_style must be 'invalid' or 'warning', got {ik_failure_style!r}")
        self.ctl = ctl
        self.version = version
        numbers = tuple(int(v) for v in version.rsplit("v", 1)[-1].split("."))
        #: Motion-finish feedback (registers 253/254) came with firmware 2.0.102.
        self.has_feedback = numbers >= (2, 0, 102)
        #: The common line-move command (coordinate frame, axis-angle flags) came with 1.11.100.
        self.has_common_move = numbers >= (1, 11, 100)
        #: How many requests arrived per register, and line moves per form ("common", "legacy").
        self.register_counts: Counter[int] = Counter()
        self.line_move_forms: Counter[str] = Counter()
        self.ik_failure_style = ik_failure_style
        self.ik_always_fails = False
        self.unknown_registers: list[int] = []
        self.table: dict[int, Callable[[Session, Request], Reply]] = {
            1: lambda s, r: Reply(self.version.encode().ljust(40, b"\0")[:40]),
            2: lambda s, r: Reply(b"XS1300EMULATED".ljust(40, b"\0")),
            11: self._motion_enable,
            12: self._set_state,
            13: lambda s, r: Reply(bytes([self.ctl.state])),
            14: lambda s, r: Reply(struct.pack(">H", self.ctl.cmd_num)),
            15: lambda s, r: Reply(bytes([self.ctl.error_code, self.ctl.warn_code])),
            16: lambda s, r: self._do(self.ctl.clean_error),
            17: lambda s, r: self._do(self.ctl.clean_warn),
            19: lambda s, r: self._do(lambda: self.ctl.set_mode(r.payload[0])),
            21: self._move_line,
            23: self._move_joint,
            25: self._move_home,
            35: lambda s, r: self._do(lambda: self.ctl.kin.set_tcp_offset(read_f32(r.payload, 6))),
            36: self._set_load,
            37: lambda s, r: self._do(lambda: setattr(self.ctl, "collision_sensitivity", int(r.payload[0]))),
            38: lambda s, r: self._do(lambda: setattr(self.ctl, "teach_sensitivity", int(r.payload[0]))),
            41: lambda s, r: Reply(f32(self.ctl.tcp_pose())),
            42: self._joint_states,
            43: self._ik,
            44: lambda s, r: Reply(f32(self.ctl.kin.forward(np.array(read_f32(r.payload, 7)[:6])))),
            45: self._is_joint_limit,
            46: lambda s, r: Reply(bytes([0])),
            123: lambda s, r: Reply(),
            124: self._rs485,
            127: lambda s, r: Reply(),
            128: lambda s, r: Reply(struct.pack(">i", TOOL_BAUD_INDEX)),
            253: self._feedback_check,
            254: self._set_feedback_type,
        }

    def handle(self, session: Session, request: Request) -> list[bytes]:
        """The frames to send for ``request``: the reply, then any immediate feedback."""
        self.register_counts[request.register] += 1
        handler = self.table.get(request.register)
        if request.register in (253, 254) and not self.has_feedback:
            handler = None
        if handler is None:
            self.unknown_registers.append(request.register)
            self.ctl.latch_warning(13)
            reply = Reply()
        else:
            try:
                reply = handler(session, request)
            except (ValueError, IndexError, struct.error):
                self.ctl.latch_warning(12)  # a parameter the command cannot use
                reply = Reply()
        status = self.ctl.status_flags() | reply.flags
        return [framing.reply_frame(request, status, reply.data), *reply.after]

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _do(action: Callable[[], object]) -> Reply:
        action()
        return Reply()

    @staticmethod
    def _call_feedback(calls: list[tuple[FeedbackSend, int]]) -> None:
        for callback, code in calls:
            callback(MOTION_FINISH, code)

    def _motion_enable(self, session: Session, request: Request) -> Reply:
        self._call_feedback(self.ctl.motion_enable(bool(request.payload[1])))
        return Reply()

    def _set_state(self, session: Session, request: Request) -> Reply:
        self._call_feedback(self.ctl.set_state(request.payload[0]))
        return Reply()

    def _set_load(self, session: Session, request: Request) -> Reply:
        mass, cx, cy, cz = read_f32(request.payload, 4)
        self.ctl.tcp_load = (mass, cx, cy, cz)
        return Reply()

    def _set_feedback_type(self, session: Session, request: Request) -> Reply:
        session.feedback_type = request.payload[0] if request.payload else 0
        return Reply()

    def _feedback_check(self, session: Session, request: Request) -> Reply:
        done = session.feedback_for(request)
        if done is None:
            return Reply()
        with self.ctl.lock:
            if self.ctl.cmd_num == 0 or self.ctl.state == STOPPED:
                tid, pid = request.transaction_id, request.protocol_id
                return Reply(after=[framing.feedback_frame(tid, pid, 0, MOTION_FINISH, 0)])
            last = self.ctl.planned_end()
            self.ctl.enqueue(JointTrajectory(np.zeros(1), np.array([last])), None, done)
        return Reply()

    def _joint_states(self, session: Session, request: Request) -> Reply:
        q = [*self.ctl.q.tolist(), 0.0]
        if not request.payload:
            return Reply(f32(q))
        count = request.payload[0] & 0x0F
        blocks = [q, [*self.ctl.joint_speeds_rad_s.tolist(), 0.0], [0.0] * 7][:count]
        return Reply(b"".join(f32(b) for b in blocks))

    def _ik(self, session: Session, request: Request) -> Reply:
        pose = read_f32(request.payload, 6)
        seed = self.ctl.q
        if len(request.payload) >= 25 + 28:
            seed = np.array(read_f32(request.payload, 7, 25)[:6])
        q = None if self.ik_always_fails else self.ctl.kin.inverse(pose, seed)
        if q is not None:
            return Reply(f32([*q.tolist(), 0.0]))
        if self.ik_failure_style == "warning":
            self.ctl.latch_warning(14)
            return Reply(f32([*self.ctl.q.tolist(), 0.0]))
        return Reply(f32([0.0] * 7), flags=FLAG_INVALID)

    def _is_joint_limit(self, session: Session, request: Request) -> Reply:
        q = np.array(read_f32(request.payload, 7)[:6])
        return Reply(bytes([0 if self.ctl.kin.within_limits(q) else 1]))

    def _rs485(self, session: Session, request: Request) -> Reply:
        host, frame = request.payload[0], request.payload[1:]
        if host != TOOL_HOST_ID:
            return Reply(bytes([host]))
        with self.ctl.lock:
            return Reply(bytes([host]) + self.ctl.gripper.handle(frame))

    # -- motions ------------------------------------------------------------------------------
    def _refuse_motion(self) -> bool:
        return not self.ctl.ready

    def _move_line(self, session: Session, request: Request) -> Reply:
        common = len(request.payload) >= 43
        nums = read_f32(request.payload, 10 if common else 9)
        extra = request.payload[len(nums) * 4 :]
        # common form (firmware >= 1.11.100): coord, axis-angle, only-check[, motion type];
        # legacy form: only-check[, motion type]
        flags = [*extra, 0, 0, 0, 0] if common else [0, 0, *extra, 0, 0]
        self.line_move_forms["common" if common else "legacy"] += 1
        if common and not self.has_common_move:
            self.ctl.latch_warning(13)  # this firmware has no such command
            return Reply()
        coord, axis_angle, only_check, motion_type = flags[:4]
        data = bytes(3) if common or only_check or motion_type else b""
        if self._refuse_motion():
            return Reply(data)
        if coord or axis_angle:
            self.ctl.latch_warning(12)  # tool-frame and axis-angle moves are not emulated
            return Reply(data)
        with self.ctl.lock:
            target = [self.ctl.last_target_pose[i] if not math.isfinite(v) else v for i, v in enumerate(nums[:6])]
            speed, acc = nums[6], nums[7]
            if motion_type in (1, 2):
                q = self.ctl.kin.inverse(target, self.ctl.planned_end())
                traj = None
                if q is not None:
                    traj = self.ctl.plan_joint(
                        q, speed / MAX_TCP_SPEED_MM_S * MAX_JOINT_SPEED_RAD_S, acc / MAX_TCP_ACC_MM_S2 * MAX_JOINT_ACC_RAD_S2
                    )
            else:
                traj = self.ctl.plan_linear(target, speed, acc)
            if only_check:
                return Reply(bytes([0, 0, 0 if traj is not None else 1]))
            if traj is None:
                self._call_feedback(self.ctl.latch_error(40))
                return Reply(data)
            self.ctl.enqueue(traj, target, session.feedback_for(request))
        return Reply(data)

    def _move_joint(self, session: Session, request: Request) -> Reply:
        """MOVE_JOINT: 7 joint angles (rad), speed (rad/s), acceleration (rad/s²), time[, only-check]."""
        nums = read_f32(request.payload, 10)
        only_check = request.payload[40] if len(request.payload) > 40 else 0
        return self._joint_motion(session, request, np.array(nums[:6]), nums[7], nums[8], only_check)

    def _move_home(self, session: Session, request: Request) -> Reply:
        """MOVE_HOME: to all joints at zero; speed (rad/s), acceleration (rad/s²), time[, only-check]."""
        nums = read_f32(request.payload, 3)
        only_check = request.payload[12] if len(request.payload) > 12 else 0
        return self._joint_motion(session, request, np.zeros(6), nums[0], nums[1], only_check)

    def _joint_motion(
        self, session: Session, request: Request, target: np.ndarray, speed_rad_s: float, acc_rad_s2: float, only_check: int
    ) -> Reply:
        data = bytes(3) if only_check else b""
        if self._refuse_motion():
            return Reply(data)
        ok = self.ctl.kin.within_limits(target)
        if only_check:
            return Reply(bytes([0, 0, 0 if ok else 1]))
        if not ok:
            self._call_feedback(self.ctl.latch_error(23))
            return Reply(data)
        with self.ctl.lock:
            traj = self.ctl.plan_joint(target, speed_rad_s, acc_rad_s2)
            self.ctl.enqueue(traj, self.ctl.kin.forward(target), session.feedback_for(request))
        return Reply(data)
