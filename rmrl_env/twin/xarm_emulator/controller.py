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
from rmrl_env.twin.xarm_emulator.collision import ACC_STEP_S, detects_collision, payload_error_force_n
from rmrl_env.twin.xarm_emulator.framing import FLAG_ERROR, FLAG_NOT_READY, FLAG_WARNING
from rmrl_env.twin.xarm_emulator.gripper import BioGripperModel
from rmrl_env.twin.xarm_emulator.kinematics import NominalKinematics, matrix_to_rpy, rpy_to_matrix
from rmrl_env.twin.xarm_emulator.motion import JointTrajectory, MotionSink, RecordingSink, Trapezoid, sample_times

MOVING, IDLE, PAUSED, STOPPED, NOT_ENABLED = 1, 2, 3, 4, 5
#: Feedback results (the SDK's ``FeedbackCode``).
FEEDBACK_SUCCESS, FEEDBACK_FAILURE, FEEDBACK_DISCARD = 0, 1, 2
MOTION_FINISH = 2
#: Home joint angles at power-up (rad): a pose above the table, out of the way.
POWER_UP_JOINTS_RAD = (0.0, -0.6, -0.5, 0.0, 1.1, 0.0)
#: Orientation speed and acceleration of linear moves (rad/s, rad/s²), an assumption.
ROT_SPEED_RAD_S = math.radians(180.0)
ROT_ACC_RAD_S2 = math.radians(1145.0)

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
        self._last_tick_s = self.clock()
        self._paused_at_s = self._last_tick_s
        self.sink.set_joints(self.q.copy(), self._last_tick_s)
        self.last_target_pose = self.kin.forward(self.q)

    # -- status -------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Ready to accept motions: motors on, no error, not stopped."""
        return self.motors_enabled and self.error_code == 0 and self.state not in (STOPPED, NOT_ENABLED) and self.mode == 0

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
        self.current, self.queue = None, []
        self.joint_speeds_rad_s = np.zeros(6)
        self.tcp_speed_mm_s = 0.0
        self.last_target_pose = self.kin.forward(self.q)
        return [(cb, result) for cb in done]

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
            self.state = STOPPED
            return self._abort_motions(FEEDBACK_FAILURE)

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
                self.state = NOT_ENABLED
                return self._abort_motions(FEEDBACK_FAILURE)
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
                self.mode = self.pending_mode
                if self.state == PAUSED and self.current is not None and self.current.started_s is not None:
                    self.current.paused_total_s += self.clock() - self._paused_at_s
                self.state = MOVING if self.cmd_num else IDLE
            elif state == 3 and self.state == MOVING:
                self.state, self._paused_at_s = PAUSED, self.clock()
                self.joint_speeds_rad_s = np.zeros(6)
            elif state == 4:
                self.state = STOPPED
                return self._abort_motions(FEEDBACK_DISCARD)
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

    def _payload_error_n(self, trajectory: JointTrajectory, t: float) -> float:
        """The tool force a wrong payload leaves unexplained at ``t`` (see :mod:`.collision`), N."""
        if abs(self.payload_kg - self.tcp_load[0]) < 1e-9:
            return 0.0
        h = ACC_STEP_S
        p = [np.asarray(self.kin.forward(trajectory.at(t + k * h))[:3]) for k in (-1, 0, 1)]
        acc_m_s2 = float(np.linalg.norm(p[2] - 2.0 * p[1] + p[0])) / h**2 / 1000.0
        return payload_error_force_n(self.payload_kg, self.tcp_load[0], acc_m_s2)

    def _move_to(self, q: np.ndarray, now: float, dt: float) -> None:
        if dt > 0:
            self.joint_speeds_rad_s = (q - self.q) / dt
            before, after = self.kin.forward(self.q), self.kin.forward(q)
            self.tcp_speed_mm_s = math.dist(before[:3], after[:3]) / dt
        self.q = np.array(q, dtype=float)
        self.sink.set_joints(self.q.copy(), now)

    # -- planning -----------------------------------------------------------------------------
    def plan_joint(self, target_rad: np.ndarray, speed_rad_s: float, acc_rad_s2: float) -> JointTrajectory:
        """Synchronised joint move: the joint that travels furthest follows a trapezoid."""
        start = self.planned_end()
        delta = np.asarray(target_rad, dtype=float) - start
        span = float(np.max(np.abs(delta)))
        profile = Trapezoid(span, max(speed_rad_s, 1e-6), max(acc_rad_s2, 1e-6))
        times = sample_times(profile, 0.01)
        frac = np.array([profile.position(t) / span if span > 0 else 1.0 for t in times])
        return JointTrajectory(times, start + frac[:, None] * delta)

    def plan_linear(self, target: list[float], speed_mm_s: float, acc_mm_s2: float) -> JointTrajectory | None:
        """Straight-line TCP move (orientation interpolated about one axis), or None if any point
        of the path has no IK solution within the joint limits.

        The duration is the longer of the position trapezoid and an orientation trapezoid at
        ``ROT_SPEED_RAD_S`` / ``ROT_ACC_RAD_S2``.
        """
        start_q = self.planned_end()
        start = self.kin.forward(start_q)
        r0, r1 = rpy_to_matrix(*start[3:]), rpy_to_matrix(*target[3:6])
        rel = r0.T @ r1
        angle = math.acos(max(-1.0, min(1.0, (np.trace(rel) - 1.0) / 2.0)))
        axis = np.array([rel[2, 1] - rel[1, 2], rel[0, 2] - rel[2, 0], rel[1, 0] - rel[0, 1]])
        axis = axis / np.linalg.norm(axis) if np.linalg.norm(axis) > 1e-9 else np.array([0.0, 0.0, 1.0])
        dist = math.dist(start[:3], target[:3])
        lin = Trapezoid(dist, max(speed_mm_s, 1e-6), max(acc_mm_s2, 1e-6))
        rot = Trapezoid(angle, ROT_SPEED_RAD_S, ROT_ACC_RAD_S2)
        profile = lin if lin.duration >= rot.duration else rot
        n = max(1, math.ceil(dist / 2.0), math.ceil(math.degrees(angle)), math.ceil(profile.duration / 0.05))
        times = np.linspace(0.0, profile.duration, n + 1)
        joints = [np.array(start_q, dtype=float)]
        seed = joints[0]
        for t in times[1:]:
            s = profile.position(float(t)) / profile.distance if profile.distance > 0 else 1.0
            pos = np.asarray(start[:3]) + s * (np.asarray(target[:3]) - np.asarray(start[:3]))
            kx, ky, kz = axis * (s * angle)
            k = np.array([[0, -kz, ky], [kz, 0, -kx], [-ky, kx, 0]])
            th = s * angle
            rstep = np.eye(3) if th < 1e-12 else np.eye(3) + math.sin(th) / th * k + (1 - math.cos(th)) / th**2 * (k @ k)
            q = self.kin.inverse([*pos, *matrix_to_rpy(r0 @ rstep)], seed)
            if q is None:
                return None
            joints.append(q)
            seed = q
        return JointTrajectory(times, np.stack(joints))
