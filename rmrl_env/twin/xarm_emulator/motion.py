"""Motion timing and the sink that receives the emulated arm's joint trajectory.

The profile is :class:`~rmrl_env.motion_profile.Trapezoid`, the same as the sim arm's, in
whatever unit its distance, speed and acceleration share (mm, mm/s, mm/s² for linear moves;
rad, rad/s, rad/s² for joint moves). The sink receives joint angles in radians, shape (6,),
and the controller's clock time in seconds.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rmrl_env.motion_profile import Trapezoid


class MotionSink(Protocol):
    """Receives every joint configuration the emulated arm passes through."""

    def set_joints(self, q_rad: np.ndarray, t_s: float) -> None:
        """The arm is at joint angles ``q_rad`` (shape (6,), rad) at controller time ``t_s`` (s)."""


class RecordingSink:
    """The default sink: keeps the last ``max_samples`` (time, joints) samples."""

    def __init__(self, max_samples: int = 100_000) -> None:
        self.max_samples = int(max_samples)
        self._lock = threading.Lock()
        self.times_s: list[float] = []
        self.joints_rad: list[np.ndarray] = []

    def set_joints(self, q_rad: np.ndarray, t_s: float) -> None:
        with self._lock:
            self.times_s.append(float(t_s))
            self.joints_rad.append(np.array(q_rad, dtype=float))
            if len(self.times_s) > self.max_samples:
                del self.times_s[0], self.joints_rad[0]

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times_s (N,), joints_rad (N, 6))`` recorded so far."""
        with self._lock:
            if not self.times_s:
                return np.zeros(0), np.zeros((0, 6))
            return np.array(self.times_s), np.stack(self.joints_rad)


@dataclass
class JointTrajectory:
    """A timed joint path: ``joints_rad[i]`` is reached ``times_s[i]`` after the motion starts.

    ``times_s`` is increasing and starts at 0; between samples the joints are interpolated
    linearly (the samples are dense: every few milliseconds of motion).
    """

    times_s: np.ndarray
    joints_rad: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1])

    def at(self, t_s: float) -> np.ndarray:
        """Joint angles (rad, shape (6,)) ``t_s`` seconds after the start."""
        if t_s >= self.times_s[-1]:
            return self.joints_rad[-1].copy()
        if t_s <= 0.0:
            return self.joints_rad[0].copy()
        return np.array([np.interp(t_s, self.times_s, self.joints_rad[:, j]) for j in range(self.joints_rad.shape[1])])


def sample_times(profile: Trapezoid, step_s: float) -> np.ndarray:
    """Sample times over ``profile`` every ``step_s`` seconds, including 0 and the end."""
    total = profile.duration
    n = max(1, math.ceil(total / step_s))
    return np.linspace(0.0, total, n + 1)


def braking(trajectory: JointTrajectory, t_s: float, stop_s: float, step_s: float = 0.01) -> JointTrajectory:
    """The rest of ``trajectory`` from ``t_s`` on, with its time rate falling linearly from 1 to 0
    over ``stop_s`` seconds: the arm stays on its path and decelerates uniformly to rest."""
    taus = np.linspace(0.0, stop_s, max(2, math.ceil(stop_s / step_s) + 1))
    along = t_s + taus - taus**2 / (2.0 * stop_s)
    return JointTrajectory(taus, np.stack([trajectory.at(float(x)) for x in along]))


Forward = Callable[[np.ndarray], Sequence[float]]


def speeds_at(forward: Forward, trajectory: JointTrajectory, t_s: float, h_s: float = 0.01) -> tuple[float, float]:
    """``(tool speed mm/s, fastest joint's speed rad/s)`` at ``t_s``, by a central difference;
    ``forward`` maps joint angles (rad) to a pose whose first three values are mm."""
    q0, q1 = trajectory.at(t_s - h_s), trajectory.at(t_s + h_s)
    tool = math.dist(list(forward(q0))[:3], list(forward(q1))[:3]) / (2.0 * h_s)
    return tool, float(np.max(np.abs(q1 - q0))) / (2.0 * h_s)


def tool_acc_at(forward: Forward, trajectory: JointTrajectory, t_s: float, h_s: float = 0.05) -> float:
    """The tool's acceleration at ``t_s``, m/s², by a second difference over ``h_s`` seconds (at
    least a linear move's sample spacing, so the corners between samples are smoothed)."""
    p = [np.asarray(list(forward(trajectory.at(t_s + k * h_s)))[:3]) for k in (-1, 0, 1)]
    return float(np.linalg.norm(p[2] - 2.0 * p[1] + p[0])) / h_s**2 / 1000.0
