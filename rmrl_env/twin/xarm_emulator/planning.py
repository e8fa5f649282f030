"""Timed joint trajectories of the emulated controller's motions (angles rad, lengths mm).

* :func:`plan_joint`: a synchronised joint move; the joint that travels furthest follows a
  trapezoid and the others scale with it.
* :func:`plan_linear`: a straight-line TCP move with the orientation turned about one axis;
  it lasts the longer of the position trapezoid and the orientation trapezoid.
"""

from __future__ import annotations

import math

import numpy as np

from rmrl_env.twin.xarm_emulator.kinematics import NominalKinematics, matrix_to_rpy, rpy_to_matrix
from rmrl_env.twin.xarm_emulator.motion import JointTrajectory, Trapezoid, sample_times


def plan_joint(start: np.ndarray, target_rad: np.ndarray, speed_rad_s: float, acc_rad_s2: float) -> JointTrajectory:
    """Joint move ``start`` → ``target_rad`` (shape (6,), rad) at the given speed and acceleration."""
    start = np.asarray(start, dtype=float)
    delta = np.asarray(target_rad, dtype=float) - start
    span = float(np.max(np.abs(delta)))
    profile = Trapezoid(span, max(speed_rad_s, 1e-6), max(acc_rad_s2, 1e-6))
    times = sample_times(profile, 0.01)
    frac = np.array([profile.position(t) / span if span > 0 else 1.0 for t in times])
    return JointTrajectory(times, start + frac[:, None] * delta)


def plan_linear(
    kin: NominalKinematics,
    start_q: np.ndarray,
    target: list[float],
    speed_mm_s: float,
    acc_mm_s2: float,
    rot_speed_rad_s: float,
    rot_acc_rad_s2: float,
) -> JointTrajectory | None:
    """Straight-line TCP move from joints ``start_q`` to the SDK pose ``target`` (mm, rad), or None
    if any point of the path has no IK solution within the joint limits."""
    start = kin.forward(start_q)
    r0, r1 = rpy_to_matrix(*start[3:]), rpy_to_matrix(*target[3:6])
    rel = r0.T @ r1
    angle = math.acos(max(-1.0, min(1.0, (np.trace(rel) - 1.0) / 2.0)))
    axis = np.array([rel[2, 1] - rel[1, 2], rel[0, 2] - rel[2, 0], rel[1, 0] - rel[0, 1]])
    axis = axis / np.linalg.norm(axis) if np.linalg.norm(axis) > 1e-9 else np.array([0.0, 0.0, 1.0])
    dist = math.dist(start[:3], target[:3])
    lin = Trapezoid(dist, max(speed_mm_s, 1e-6), max(acc_mm_s2, 1e-6))
    rot = Trapezoid(angle, rot_speed_rad_s, rot_acc_rad_s2)
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
        q = kin.inverse([*pos, *matrix_to_rpy(r0 @ rstep)], seed)
        if q is None:
            return None
        joints.append(q)
        seed = q
    return JointTrajectory(times, np.stack(joints))
