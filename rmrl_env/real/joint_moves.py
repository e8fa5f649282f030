"""Speed and acceleration of joint-space moves chosen so the tool stays within its limits.

The xArm's joint-space moves (``set_servo_angle``, or ``set_position(motion_type=2)``) are
synchronised: the joint that travels furthest follows a trapezoidal profile at the commanded
joint speed ω and the others scale with it, so the path is the straight line in joint space
``q(s) = q0 + s (q1 - q0)``, ``s`` in [0, 1], and ``ds/dt = ω / span`` with ``span`` the largest
joint travel. The tool's speed along that path is ``|dp/ds| ω / span``: this module samples the
controller's forward kinematics along the path to find the largest ``|dp/ds|`` and lowers ω (and
the joint acceleration) until the tool's peak speed (and tangential acceleration) is within the
configured TCP limits. The sampled path points are returned too, so the caller can check them
against the workspace box before anything moves.

Units: joint angles and speeds in degrees (the SDK's units here), tool positions in
millimetres as the SDK returns them, limits in m/s and m/s².
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Samples of the joint path (the chord between samples underestimates the tangent length by
#: well under 1 % for the xArm's link lengths at this count; :data:`SPEED_MARGIN` covers it).
PATH_SAMPLES = 24
#: Fraction of the TCP limit the estimated peak tool speed may use.
SPEED_MARGIN = 0.95
#: The xArm 6's joint acceleration limit, deg/s² (20 rad/s²).
MAX_JOINT_ACC_DEG_S2 = math.degrees(20.0)


@dataclass(frozen=True)
class JointMovePlan:
    """A joint-space move's commanded speed and acceleration, and the path it will follow.

    Attributes:
        speed_deg_s: joint speed to command (of the joint that travels furthest), deg/s.
        acc_deg_s2: joint acceleration to command, deg/s².
        tool_m_per_deg: the largest tool displacement per degree of the leading joint along the
            path, m/deg (the tool's peak speed is ``speed_deg_s`` times this).
        path_mm: ``(PATH_SAMPLES + 1, 3)`` tool positions along the path, mm.
    """

    speed_deg_s: float
    acc_deg_s2: float
    tool_m_per_deg: float
    path_mm: np.ndarray

    @property
    def peak_tool_speed_m_s(self) -> float:
        """The tool's highest speed on the path at the commanded joint speed, m/s (estimate)."""
        return self.speed_deg_s * self.tool_m_per_deg


def plan_joint_move(
    start_deg: Sequence[float],
    end_deg: Sequence[float],
    forward_mm: Callable[[list[float]], Sequence[float]],
    *,
    max_joint_speed_deg_s: float,
    max_tool_speed_m_s: float,
    max_tool_acc_m_s2: float,
    samples: int = PATH_SAMPLES,
) -> JointMovePlan:
    """Joint speed and acceleration of the move ``start_deg`` → ``end_deg`` within the limits.

    Args:
        start_deg, end_deg: joint angles (6,), degrees.
        forward_mm: the controller's forward kinematics: joint angles (deg) → TCP pose whose
            first three values are x, y, z in mm.
        max_joint_speed_deg_s: the configured joint-speed limit, deg/s.
        max_tool_speed_m_s: the highest tool speed the move may reach, m/s.
        max_tool_acc_m_s2: the highest tangential tool acceleration, m/s².
        samples: number of path segments sampled.
    """
    if not (max_joint_speed_deg_s > 0 and max_tool_speed_m_s > 0 and max_tool_acc_m_s2 > 0):
        raise ValueError(
            "joint-move limits must be positive, got "
            f"{max_joint_speed_deg_s} deg/s, {max_tool_speed_m_s} m/s, {max_tool_acc_m_s2} m/s²"
        )
    q0 = np.asarray(start_deg, dtype=float)[:6]
    q1 = np.asarray(end_deg, dtype=float)[:6]
    span_deg = float(np.max(np.abs(q1 - q0)))
    fractions = np.linspace(0.0, 1.0, samples + 1)
    path_mm = np.array([[float(v) for v in forward_mm((q0 + s * (q1 - q0)).tolist())[:3]] for s in fractions])
    if span_deg < 1e-9:
        return JointMovePlan(float(max_joint_speed_deg_s), MAX_JOINT_ACC_DEG_S2, 0.0, path_mm)
    step_mm = np.linalg.norm(np.diff(path_mm, axis=0), axis=1)
    # |dp/ds| / span: metres of tool travel per degree of the leading joint, at its worst.
    tool_m_per_deg = float(np.max(step_mm)) * samples / span_deg / 1000.0
    speed = float(max_joint_speed_deg_s)
    acc = MAX_JOINT_ACC_DEG_S2
    if tool_m_per_deg > 0:
        speed = min(speed, SPEED_MARGIN * max_tool_speed_m_s / tool_m_per_deg)
        acc = min(acc, SPEED_MARGIN * max_tool_acc_m_s2 / tool_m_per_deg)
    return JointMovePlan(speed, acc, tool_m_per_deg, path_mm)
