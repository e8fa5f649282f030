"""The emulated controller's state machine: states, mode, motors, latched errors, motion queue.

States (the SDK's numbering): 1 moving, 2 idle and ready, 3 paused, 4 stopped (after
``set_state(4)``, an error, or power-up), 5 not yet enabled. ``set_state(0)`` makes a stopped
arm ready (state 2, or 1 if motions are queued) unless an error is latched or the motors are
off. Errors are latched: they stop the arm (state 4) and stay until ``clean_error`` and then
need ``motion_enable`` + ``set_state(0)``; a pressed emergency stop (C1) cannot be cleaned.
Warnings are latched too but do not stop anything; ``clean_warn`` clears them.

Thread safety: every public method takes the controller's lock. :meth:`tick` is called by the
emulator's clock thread; it returns the motion feedback frames to send (with the connection
each is for), so no socket is written while the lock is held.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rmrl_env.real.payload import GRIPPER_AND_PLATE_COM_M, GRIPPER_AND_PLATE_KG
from rmrl_env.twin.xarm_emulator.collision import detects_collision, payload_error_force_n
from rmrl_env.twin.xarm_emulator.framing import FLAG_ERROR, FLAG_NOT_READY, FLAG_WARNING
from rmrl_env.twin.xarm_emulator.gripper import BioGripperModel
from rmrl_env.twin.xarm_emulator.kinematics import NominalKinematics
from rmrl_env.twin.xarm_emulator.motion import (
    JointTrajectory,
    MotionSink,
    RecordingSink,
    braking,
    speeds_at,
    tool_acc_at,
)
from rmrl_env.twin.xarm_emulator.planning import plan_joint, plan_linear

MOVING, IDLE, PAUSED, STOPPED, NOT_ENABLED = 1, 2, 3, 4, 5
#: Feedback results (the SDK's ``FeedbackCode``).
FEEDBACK_SUCCESS, FEEDBACK_FAILURE, FEEDBACK_DISCARD = 0, 1, 2
MOTION_FINISH = 2
#: Home joint angles at power-up (rad): a pose above the table, out of the way.
POWER_UP_JOINTS_RAD = (0.0, -0.6, -0.5, 0.0, 1.1, 0.0)
#: Orientation speed of linear moves, rad/s (assumed: the joints' speed limit, π rad/s).
ROT_SPEED_RAD_S = math.pi
#: Orientation jerk and acceleration of linear moves: the SDK's defaults (``_rot_jerk``,
#: ``_max_rot_acc``), which the report stream carries; the acceleration is rad/s².
ROT_JERK, ROT_ACC_RAD_S2 = 2.3, 2.7
#: A stop (``set_state(4)``, an error, the e-stop) brakes along the path at this tool
#: deceleration, mm/s², and joint deceleration, rad/s² (assumed), whichever takes longer.
STOP_TOOL_DECEL_MM_S2, STOP_JOINT_DECEL_RAD_S2 = 3000.0, 10.0

FeedbackSend = Callable[[int, int], None]  # (feedback type, result code) -> None


@dataclass
class Motion:
    """A queued motion: its joint trajectory and who wants to hear when it ends."""

    trajectory: JointTrajectory
    target_pose: list[float] | None
    on_done: FeedbackSend | None = None
    started_s: float | None = None
    paused_total_s: float = 0.0


@dataclass
class ScheduledFault:
    """An error or warning latched when the running motion reaches ``fraction`` of its duration."""

    code: int
    is_warning: bool
    fraction: float


@dataclass
class Controller:
    """The controller's state (see the module docstring). All angles rad, lengths mm.

    Attributes:
        kin: the nominal kinematics (TCP offset included).
        sink: receives every joint configuration the arm passes through.
        gripper: the BIO gripper on the flange.
    """

    kin: NominalKinematics
    sink: MotionSink = field(default_factory=RecordingSink)
    gripper: BioGripperModel = field(default_factory=BioGripperModel)
    clock: Callable[[], float] = time.monotonic
    state: int = STOPPED
    mode: int = 0
    pending_mode: int = 0
    motors_enabled: bool = True
    error_code: int = 0
    warn_code: int = 0
    estop_pressed: bool = False
    collision_sensitivity: int = 3
    teach_sensitivity: int = 1
    #: What really hangs on the flange, kg (the model of a wrong payload compares the set one).
    payload_kg: float = GRIPPER_AND_PLATE_KG
    #: The payload set on the controller (mass kg, centre of mass mm); at power-up the real one,
    #: as if set and saved earlier.
    tcp_load: tuple[float, float, float, float] = (
        GRIPPER_AND_PLATE_KG,
        *(1000.0 * v for v in GRIPPER_AND_PLATE_COM_M),
    )  # type: ignore[assignment]
    joint_speeds_rad_s: np.ndarray = field(default_factory=lambda: np.zeros(6))
    tcp_speed_mm_s: float = 0.0

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.q = np.array(POWER_UP_JOINTS_RAD, dtype=float)
        self.queue: list[Motion] = []
        self.current: Motion | None = None
        self.faults: list[ScheduledFault] = []
        #: The braking after a stop, while the arm still moves (state is already 4).
        self.stopping: Motion | None = None
        self._resume_after_stop = False
        self._last_tick_s = self.clock()
        self._paused_at_s = self._last_tick_s
        self.sink.set_joints(self.q.copy(), self._last_tick_s)
        self.last_target_pose = self.kin.forward(self.q)

    # -- status -------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Ready to accept motions: motors on, no error, not stopped."""
        return (
            self.motors_enabled
            and self.error_code == 0
            and self.state not in (STOPPED, NOT_ENABLED)
            and self.mode == 0
            and self.stopping is None
        )

    def status_flags(self) -> int:
        """The status byte of a command reply (see :mod:`.framing`)."""
        with self.lock:
            flags = FLAG_ERROR if self.error_code else 0
            flags |= FLAG_WARNING if self.warn_code else 0
            return flags | (0 if self.ready else FLAG_NOT_READY)

    @property
    def cmd_num(self) -> int:
        return len(self.queue) + (1 if self.current is not None else 0)

    def tcp_pose(self) -> list[float]:
        """The SDK TCP pose now (mm, rad)."""
        with self.lock:
            return self.kin.forward(self.q)

    # -- state changes --------------------------------------------------------------------------
    def _abort_motions(self, result: int) -> list[tuple[FeedbackSend, int]]:
        done = [m.on_done for m in ([self.current] if self.current else []) + self.queue if m.on_done is not None]
        self._brake()
        self.current, self.queue = None, []
        self._resume_after_stop = False
        if self.stopping is None:
            self.joint_speeds_rad_s = np.zeros(6)
            self.tcp_speed_mm_s = 0.0
        self.last_target_pose = self.kin.forward(self.stopping.trajectory.joints_rad[-1] if self.stopping else self.q)
        return [(cb, result) for cb in done]

    def _brake(self) -> None:
        """Replace a running motion by its braking to rest (see :func:`.motion.braking`)."""
        motion = self.current
        if motion is None or motion.started_s is None or self.state != MOVING or self.stopping is not None:
            return
        t = self.clock() - motion.started_s - motion.paused_total_s
        tool_mm_s, joint_rad_s = speeds_at(self.kin.forward, motion.trajectory, t)
        stop_s = max(tool_mm_s / STOP_TOOL_DECEL_MM_S2, joint_rad_s / STOP_JOINT_DECEL_RAD_S2)
        if stop_s > 1e-3:
            self.stopping = Motion(braking(motion.trajectory, t, stop_s), None, started_s=self.clock())

    def latch_error(self, code: int) -> list[tuple[FeedbackSend, int]]:
        """Latch controller error ``code``: the arm stops where it is (state 4).

        C19 / C28 (end-effector communication) also leave the gripper disabled, as after a
        power cycle of the tool (an assumption: the SDK itself forgets the gripper's enable).
        """
        with self.lock:
            self.error_code = int(code)
            if code == 1:
                self.estop_pressed = True
            if code in (19, 28):
                self.gripper.enabled = False
            calls = self._abort_motions(FEEDBACK_FAILURE)
            self.state = STOPPED
            return calls

    def latch_warning(self, code: int) -> None:
        """Latch controller warning ``code`` (the arm keeps going)."""
        with self.lock:
            self.warn_code = int(code)

    def clean_error(self) -> None:
        """Clear the latched error unless the e-stop is still pressed; the arm stays stopped."""
        with self.lock:
            if not self.estop_pressed:
                self.error_code = 0

    def release_estop(self) -> None:
        """Release the emergency stop (C1 can then be cleaned)."""
        with self.lock:
            self.estop_pressed = False

    def clean_warn(self) -> None:
        """Clear the latched warning."""
        with self.lock:
            self.warn_code = 0

    def motion_enable(self, enable: bool) -> list[tuple[FeedbackSend, int]]:
        """Motors on (a stopped arm stays stopped) or off (motions abort, state 5)."""
        with self.lock:
            self.motors_enabled = bool(enable)
            if not enable:
                calls = self._abort_motions(FEEDBACK_FAILURE)
                self.state = NOT_ENABLED
                return calls
            if self.state == NOT_ENABLED:
                self.state = STOPPED
            return []

    def set_mode(self, mode: int) -> None:
        """Select a mode; it takes effect at the next ``set_state(0)``."""
        with self.lock:
            self.pending_mode = int(mode)

    def set_state(self, state: int) -> list[tuple[FeedbackSend, int]]:
        """0 start/resume, 3 pause, 4 stop (motions are discarded)."""
        with self.lock:
            if state == 0:
                if not self.motors_enabled or self.error_code:
                    return []
                if self.stopping is not None:  # ready once the arm is at rest
                    self._resume_after_stop = True
                    return []
                self.mode = self.pending_mode
                if self.state == PAUSED and self.current is not None and self.current.started_s is not None:
                    self.current.paused_total_s += self.clock() - self._paused_at_s
                self.state = MOVING if self.cmd_num else IDLE
            elif state == 3 and self.state == MOVING:
                self.state, self._paused_at_s = PAUSED, self.clock()
                self.joint_speeds_rad_s = np.zeros(6)
            elif state == 4:
                calls = self._abort_motions(FEEDBACK_DISCARD)
                self.state = STOPPED
                return calls
            return []

    # -- motions ------------------------------------------------------------------------------
    def planned_end(self) -> np.ndarray:
        """Joint angles (rad, shape (6,)) where the queued motions end: the next motion's start."""
        with self.lock:
            last = self.queue[-1] if self.queue else self.current
            return (last.trajectory.joints_rad[-1] if last is not None else self.q).copy()

    def enqueue(self, trajectory: JointTrajectory, target_pose: list[float] | None, on_done: FeedbackSend | None) -> None:
        """Queue a motion (the caller has checked that the controller is ready).

        ``target_pose`` (SDK TCP pose, mm and rad) becomes the pose that coordinates sent as
        "unchanged" (infinite) in later commands refer to.
        """
        with self.lock:
            self.queue.append(Motion(trajectory, target_pose, on_done))
            if target_pose is not None:
                self.last_target_pose = list(target_pose)
            if self.state == IDLE:
                self.state = MOVING

    def schedule_fault(self, code: int, is_warning: bool, fraction: float) -> None:
        """Latch ``code`` when the running (or next) motion reaches ``fraction`` (0-1) of its time."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fault fraction must be in [0, 1], got {fraction}")
        with self.lock:
            self.faults.append(ScheduledFault(int(code), is_warning, float(fraction)))

    def tick(self) -> list[tuple[FeedbackSend, int]]:
        """Advance the arm and gripper to now; return the feedback calls to make (outside the lock)."""
        with self.lock:
            now = self.clock()
            dt = max(0.0, now - self._last_tick_s)
            self._last_tick_s = now
            self.gripper.advance(dt)
            out: list[tuple[FeedbackSend, int]] = []
            if self.stopping is not None:
                self._advance_braking(now, dt)
            if self.state != MOVING:
                return out
            if self.current is None:
                if not self.queue:
                    self.state = IDLE
                    return out
                self.current = self.queue.pop(0)
                self.current.started_s = now
            motion = self.current
            assert motion.started_s is not None
            t = now - motion.started_s - motion.paused_total_s
            duration = motion.trajectory.duration_s
            for fault in list(self.faults):
                if t >= fault.fraction * duration:
                    self.faults.remove(fault)
                    self._move_to(motion.trajectory.at(fault.fraction * duration), now, dt)
                    if fault.is_warning:
                        self.warn_code = fault.code
                    else:
                        return out + self.latch_error(fault.code)
            self._move_to(motion.trajectory.at(t), now, dt)
            if detects_collision(self.collision_sensitivity, self._payload_error_n(motion.trajectory, t)):
                return out + self.latch_error(31)
            if t >= duration:
                if motion.on_done is not None:
                    out.append((motion.on_done, FEEDBACK_SUCCESS))
                self.current = None
                self.joint_speeds_rad_s = np.zeros(6)
                self.tcp_speed_mm_s = 0.0
                if not self.queue:
                    self.state = IDLE
            return out

    def _advance_braking(self, now: float, dt: float) -> None:
        stop = self.stopping
        assert stop is not None and stop.started_s is not None
        t = now - stop.started_s
        self._move_to(stop.trajectory.at(t), now, dt)
        if t < stop.trajectory.duration_s:
            return
        self.stopping = None
        self.joint_speeds_rad_s = np.zeros(6)
        self.tcp_speed_mm_s = 0.0
        if self._resume_after_stop and self.motors_enabled and not self.error_code:
            self._resume_after_stop = False
            self.mode = self.pending_mode
            self.state = IDLE

    def _payload_error_n(self, trajectory: JointTrajectory, t: float) -> float:
        """The tool force a wrong payload leaves unexplained at ``t`` (see :mod:`.collision`), N."""
        if abs(self.payload_kg - self.tcp_load[0]) < 1e-9:
            return 0.0
        return payload_error_force_n(self.payload_kg, self.tcp_load[0], tool_acc_at(self.kin.forward, trajectory, t))

    def _move_to(self, q: np.ndarray, now: float, dt: float) -> None:
        if dt > 0:
            self.joint_speeds_rad_s = (q - self.q) / dt
            before, after = self.kin.forward(self.q), self.kin.forward(q)
            self.tcp_speed_mm_s = math.dist(before[:3], after[:3]) / dt
        self.q = np.array(q, dtype=float)
        self.sink.set_joints(self.q.copy(), now)

    # -- planning (see :mod:`.planning`) ---------------------------------------------------------
    def plan_joint(self, target_rad: np.ndarray, speed_rad_s: float, acc_rad_s2: float) -> JointTrajectory:
        """Synchronised joint move from where the queued motions end (see :func:`.planning.plan_joint`)."""
        return plan_joint(self.planned_end(), target_rad, speed_rad_s, acc_rad_s2)

    def plan_linear(self, target: list[float], speed_mm_s: float, acc_mm_s2: float) -> JointTrajectory | None:
        """Straight-line TCP move from where the queued motions end (see :func:`.planning.plan_linear`)."""
        return plan_linear(self.kin, self.planned_end(), target, speed_mm_s, acc_mm_s2, ROT_SPEED_RAD_S, ROT_ACC_RAD_S2)
