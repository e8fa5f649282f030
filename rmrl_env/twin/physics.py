"""The MuJoCo cell behind the controller emulator: the world the real drivers act on.

:class:`TwinPhysics` is three things at once for :class:`~rmrl_env.twin.xarm_emulator.XArmEmulator`:

* its **motion sink**: every joint configuration the emulated controller passes through
  (radians, on the controller's clock) becomes the commanded joints of the MuJoCo cell's *true*
  arm (the same arm, with the same joint-zero and link-origin errors, as the sim's), so the tool
  lands where the true arm puts it;
* its gripper's **jaws**: the BIO gripper's target opening drives the MuJoCo fingers (one
  force-limited servo, as in the sim) at the gripper's jaw speed, with the force the G2's force
  register sets (percent of the BIO gripper's 20 N), and the opening the fingers really reach is
  read back; a close that stalls on the plate is a catch;
* its **collision sensor**: a part of the robot (a link, the gripper, a finger) pressing on anything with more than
  ``collision_force_n`` latches controller error C31 (collision caused by abnormal current), as
  the xArm's current-based detection would.

The physics runs in lock step with the controller: the physics thread calls the emulator's
:meth:`~rmrl_env.twin.xarm_emulator.XArmEmulator.tick` once per control period of simulated
time (the emulator's own clock thread does not tick), and the controller's clock is the
simulated time (:meth:`TwinPhysics.clock`). Each tick the controller sets where the arm must be
at the end of the period; the physics then moves the arm there over the period's steps. So the
arm moves smoothly whatever the load on the machine, and when the physics cannot keep up with
``time_scale`` times the wall clock, the controller slows down with the world instead of
running ahead of it. The thread also renders the overhead camera into a
:class:`~rmrl_env.twin.software_d435.SoftwareD435` ``render_hz`` times per wall-clock second.
The renderer's GL context is created in that thread and used only there (it is not shareable
between threads); :meth:`render_now` asks the thread for a frame.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rmrl_env.errors import HardwareError
from rmrl_env.protocols import CameraIntrinsics, PlanarPose, RGBDFrame
from rmrl_env.sim.arm import COLLISION_FORCE_N, pushing_into
from rmrl_env.sim.camera import SimCamera, pinhole_intrinsics
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.gripper import BIO_MAX_GRIP_FORCE_N
from rmrl_env.sim.world import SimWorld
from rmrl_env.twin.software_d435 import SoftwareD435

logger = logging.getLogger(__name__)

#: Controller error latched when the robot presses too hard: "collision caused by abnormal current".
COLLISION_CODE = 31
#: Longest stretch of simulated time one loop of the physics thread advances, seconds.
_MAX_CATCH_UP_S = 0.25
#: Simulated seconds between controller ticks (the xArm's controller runs its trajectories at
#: a few hundred hertz; 100 Hz is fine enough for the speeds of this task).
CONTROL_PERIOD_S = 0.01
#: A finger slower than this (m/s) for :data:`_STALL_S` of simulated time has stalled.
_STALL_SPEED_M_S = 2e-3
_STALL_S = 0.03


class TwinPhysics:
    """The twin's MuJoCo cell, driven by an emulated controller (see the module docstring).

    Args:
        errors: the cell's error sources (the true arm, TCP, jaws, camera mount, lens, noise).
        time_scale: simulated seconds per wall-clock second when the machine keeps up (1: real
            time; the soak runs faster).
        render_hz: camera renders per wall-clock second.
        collision_force_n: contact force on a part of the robot that latches C31, newtons (the jaws' squeeze is at most 20 N).
        camera_seed: seed of the camera's sensor noise.
        calibration_marker: mount the hand-eye calibration board on the gripper (see
            :func:`~rmrl_env.sim.world.add_calibration_marker`).
    """

    def __init__(
        self,
        errors: ErrorSources,
        time_scale: float = 1.0,
        render_hz: float = 15.0,
        collision_force_n: float = COLLISION_FORCE_N,
        camera_seed: int = 0,
        calibration_marker: bool = False,
    ) -> None:
        if not (math.isfinite(time_scale) and 0.1 <= time_scale <= 50.0):
            raise ValueError(f"time_scale must be between 0.1 and 50 (simulated seconds per wall second), got {time_scale}")
        if not render_hz > 0 or not collision_force_n > 0:
            raise ValueError(f"render_hz and collision_force_n must be > 0, got {render_hz}, {collision_force_n}")
        self.errors = errors
        self.world = SimWorld(errors, calibration_marker=calibration_marker)
        self.world.set_fingers(0.075)
        #: Each jaw's squeeze, newtons: the gripper's force setting (:meth:`drive`).
        self.grip_force_n = BIO_MAX_GRIP_FORCE_N
        self.world.set_grip_force(self.grip_force_n)
        self.world.forward()
        self.intrinsics: CameraIntrinsics = pinhole_intrinsics()
        self.device = SoftwareD435(self.intrinsics)
        self.render_hz = float(render_hz)
        self.collision_force_n = float(collision_force_n)
        self.camera_seed = camera_seed
        #: Held while the physics advances or a frame renders; hold it to change the world.
        self.lock = threading.RLock()
        self._q_cmd: np.ndarray = self.world.arm_q_cmd.copy()
        self._substeps = max(1, round(CONTROL_PERIOD_S / self.world.timestep))
        self.time_scale = float(time_scale)
        self._wall0, self._sim0 = time.monotonic(), 0.0
        self._jaw_target_m: float | None = None
        self._jaw_speed_m_s = 0.05
        self._still_s = 0.0
        self._on_collision: Callable[[int], bool] | None = None
        self._on_tick: Callable[[], None] | None = None
        self.collisions = 0
        self._last_force_n = 0.0
        #: The largest lag of the physics behind ``time_scale`` times the wall clock, simulated seconds.
        self.max_lag_s = 0.0
        self._requests: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]]] = queue.Queue()
        self._alive = threading.Event()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, on_tick: Callable[[], None], on_collision: Callable[[int], bool]) -> None:
        """Start the physics thread.

        Args:
            on_tick: advances the controller to :meth:`clock` (the emulator's ``tick``).
            on_collision: called with a controller error code when the robot presses too hard; it
                answers whether the controller latched the error.
        """
        self._on_tick, self._on_collision = on_tick, on_collision
        self._alive.set()
        self._thread = threading.Thread(target=self._run, name="twin-physics", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=20.0) or self._failure is not None:
            self.stop()
            raise HardwareError(f"the twin's physics thread did not start: {self._failure}")

    def clock(self) -> float:
        """The controller's clock, seconds: the end of the control period being simulated."""
        return float(self.world.data.time) + CONTROL_PERIOD_S

    def stop(self) -> None:
        """End the physics thread and the software camera (idempotent)."""
        self._alive.clear()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.device.close()

    # -- the emulator's motion sink -------------------------------------------------------------
    def set_joints(self, q_rad: np.ndarray, t_s: float) -> None:
        """The controller commands joints ``q_rad`` (shape (6,), rad) for controller time ``t_s``
        (the end of the current control period)."""
        self._q_cmd = np.array(q_rad, dtype=float)

    # -- the gripper's jaws ---------------------------------------------------------------------
    def drive(self, target_mm: float | None, speed_mm_s: float, force_pct: int) -> None:
        """Jaws toward opening ``target_mm`` at ``speed_mm_s`` (``None``: hold where they are),
        squeezing with ``force_pct`` percent of the BIO gripper's maximum gripping force."""
        self._jaw_target_m = None if target_mm is None else target_mm / 1000.0
        self._jaw_speed_m_s = max(speed_mm_s, 1.0) / 1000.0
        grip_force_n = BIO_MAX_GRIP_FORCE_N * force_pct / 100.0
        if grip_force_n != self.grip_force_n:
            self.grip_force_n = grip_force_n
            self.world.set_grip_force(grip_force_n)

    def opening_mm(self) -> float:
        """Distance between the pads, mm."""
        return 1000.0 * (2.0 * self.world.finger_q() + self.world.jaw_asymmetry_m)

    def stalled(self) -> bool:
        """The fingers have been still for a while and their servo has reached its set-point ramp's end."""
        ramp_done = self._jaw_target_m is None or abs(self._finger_ctrl() - self._finger_goal()) < 1e-6
        return ramp_done and self._still_s >= _STALL_S

    def _finger_goal(self) -> float:
        """The finger servo's final set-point (distance of a pad from the centre, m)."""
        low, high = self.world.finger_range
        if self._jaw_target_m is None:
            return self._finger_ctrl()
        return float(np.clip((self._jaw_target_m - self.world.jaw_asymmetry_m) / 2.0, low, high))

    def _finger_ctrl(self) -> float:
        return float(self.world.data.ctrl[self.world.gripper_actuator])

    # -- the world, for staging and tests ---------------------------------------------------------
    def put_plate(self, pose: PlanarPose, surface_z_m: float = 0.0) -> None:
        """Set the plate down at ``pose`` on a surface at ``surface_z_m`` (a person placing it)."""
        with self.lock:
            self.world.put_plate(pose, surface_z_m)
            self.world.forward()

    def plate_pose(self) -> PlanarPose:
        with self.lock:
            return self.world.plate_pose()

    def render_now(self, timeout_s: float = 10.0) -> RGBDFrame:
        """A frame rendered now by the physics thread (and pushed to the software camera)."""
        return self.call(self._render, timeout_s)

    def call(self, fn: Callable[[], Any], timeout_s: float = 10.0) -> Any:
        """Run ``fn`` in the physics thread (which owns the renderer) and return its result."""
        if not self._alive.is_set():
            raise HardwareError("the twin's physics thread is not running")
        answer: queue.Queue[Any] = queue.Queue()
        self._requests.put((fn, answer))
        try:
            ok, value = answer.get(timeout=timeout_s)
        except queue.Empty:
            raise HardwareError(f"the twin's physics thread did not answer within {timeout_s} s") from None
        if not ok:
            raise value
        return value

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._camera = SimCamera(self.world, self.errors)
            self._camera.seed(self.camera_seed)
            self._render()
        except BaseException as err:  # reported by start()
            self._failure = err
            self._ready.set()
            return
        self._ready.set()
        self._wall0, self._sim0 = time.monotonic(), float(self.world.data.time)
        next_render = time.monotonic()
        while self._alive.is_set():
            try:
                self._advance()
                while not self._requests.empty():
                    fn, answer = self._requests.get_nowait()
                    try:
                        answer.put((True, fn()))
                    except Exception as err:
                        answer.put((False, err))
                if time.monotonic() >= next_render:
                    next_render = time.monotonic() + 1.0 / self.render_hz
                    self._render()
            except Exception:
                logger.exception("twin physics step failed; the physics thread stops")
                self._alive.clear()
            time.sleep(0.002)
        self._camera.close()  # the GL context belongs to this thread: release it here

    def _render(self) -> RGBDFrame:
        with self.lock:
            frame = self._camera.capture()
        self.device.set_frame(frame.color, frame.depth_m)
        return frame

    def _advance(self) -> None:
        """Advance the physics toward ``time_scale`` times the wall time elapsed (at most
        :data:`_MAX_CATCH_UP_S` a call), one control period at a time; when it cannot keep up,
        the world (and the controller's clock with it) runs slower rather than jumping."""
        assert self._on_tick is not None
        w = self.world
        dt = w.timestep
        period = self._substeps * dt
        target = self._sim0 + (time.monotonic() - self._wall0) * self.time_scale
        with self.lock:
            now = float(w.data.time)
            self.max_lag_s = max(self.max_lag_s, target - now)
            if target - now > 4 * _MAX_CATCH_UP_S:  # far behind: carry on from here, slower, instead of rushing
                self._wall0, self._sim0 = time.monotonic(), now
            end = min(target, now + _MAX_CATCH_UP_S)
            while float(w.data.time) + period <= end + dt / 2.0:
                self._on_tick()  # the controller sets where the arm is at the end of this period
                q0, q1 = w.arm_q_cmd.copy(), self._q_cmd.copy()
                qd = (q1 - q0) / period
                for j in range(1, self._substeps + 1):
                    w.hold_arm(q0 + (j / self._substeps) * (q1 - q0), qd)
                    self._ramp_fingers(dt)
                    w.step(1)
                    self._still_s = self._still_s + dt if w.finger_speed() < _STALL_SPEED_M_S else 0.0
                self._check_collision()

    def _check_collision(self) -> None:
        """Latch a collision when the robot pushes into something (:func:`~rmrl_env.sim.arm.pushing_into`)."""
        force, where = self.world.robot_contact_force()
        collides, self._last_force_n = pushing_into(force, self._last_force_n, self.collision_force_n), force
        if collides and self._on_collision is not None and self._on_collision(COLLISION_CODE):
            self.collisions += 1
            logger.warning("twin: %s pressed with %.0f N: C%d latched", self.world.describe_contact(where), force, COLLISION_CODE)

    def _ramp_fingers(self, dt: float) -> None:
        """Move the finger servo's set-point toward its goal at the jaw speed (per finger: half of it)."""
        ctrl, goal = self._finger_ctrl(), self._finger_goal()
        step = 0.5 * self._jaw_speed_m_s * dt
        new = goal if abs(goal - ctrl) <= step else ctrl + math.copysign(step, goal - ctrl)
        self.world.data.ctrl[self.world.gripper_actuator] = new


__all__ = ["COLLISION_CODE", "TwinPhysics"]
