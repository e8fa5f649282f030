"""The controller's nominal xArm 6 kinematics, in the SDK's units and frames.

Frames (all right-handed):

* **base**: the arm's base frame, the MuJoCo model's world frame (``link_base`` at the origin).
* **flange**: the tool flange, the ``flange`` site of ``assets/xarm6_bio.xml`` (origin of
  ``link6``); z points out of the flange.
* **model TCP**: the MJCF's ``tcp`` site, 150 mm along the flange's z axis. The damped
  least-squares solver of :class:`rmrl_env.sim.kinematics.ArmKinematics` works on this site.
* **SDK TCP**: the flange composed with the offset set by ``set_tcp_offset`` (x, y, z mm;
  roll, pitch, yaw rad), zero at power-up, so by default the SDK reports the flange pose.

Poses in the SDK's layout are ``[x, y, z, roll, pitch, yaw]`` in mm and rad, with the
rotation ``Rz(yaw) @ Ry(pitch) @ Rx(roll)``. The solver handles any orientation, as the
controller does (the project's trials command top-down poses; hand-eye views tilt the tool).
"""

from __future__ import annotations

import math
import threading

import mujoco
import numpy as np

from rmrl_env.errors import UnreachableError
from rmrl_env.protocols import ToolPose
from rmrl_env.sim.kinematics import ArmKinematics

#: Offset of the MJCF's ``tcp`` site along the flange's z axis (mm).
MODEL_TCP_MM = 150.0
#: A flange within this angle of straight down is solved as a top-down pose (rad).
TOP_DOWN_TOL_RAD = 1e-3


def build_arm_kinematics() -> ArmKinematics:
    """The nominal arm model's kinematics (the one place that knows how it is constructed)."""
    return ArmKinematics()  # assets/xarm6_bio.xml alone: the controller's nominal arm


def rpy_to_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation matrix (3, 3) of ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (angles in rad)."""
    cr, sr, cp, sp, cy, sy = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def matrix_to_rpy(rot: np.ndarray) -> tuple[float, float, float]:
    """``(roll, pitch, yaw)`` in rad of a rotation matrix (inverse of :func:`rpy_to_matrix`)."""
    pitch = math.atan2(-rot[2, 0], math.hypot(rot[0, 0], rot[1, 0]))
    if math.cos(pitch) > 1e-9:
        roll = math.atan2(rot[2, 1], rot[2, 2])
        yaw = math.atan2(rot[1, 0], rot[0, 0])
    else:  # gimbal lock: put the whole rotation about z into yaw
        roll = 0.0
        yaw = math.atan2(-rot[0, 1], rot[1, 1])
    if roll < -math.pi + 1e-6:  # report a flipped tool as +180°, as the controller does
        roll += 2.0 * math.pi
    return roll, pitch, yaw


def pose_to_transform(pose: list[float] | np.ndarray) -> np.ndarray:
    """4x4 homogeneous transform (translation in mm) of an SDK pose ``[x, y, z, roll, pitch, yaw]``."""
    t = np.eye(4)
    t[:3, :3] = rpy_to_matrix(float(pose[3]), float(pose[4]), float(pose[5]))
    t[:3, 3] = [float(pose[0]), float(pose[1]), float(pose[2])]
    return t


def transform_to_pose(t: np.ndarray) -> list[float]:
    """SDK pose ``[x mm, y mm, z mm, roll, pitch, yaw rad]`` of a 4x4 transform."""
    return [float(t[0, 3]), float(t[1, 3]), float(t[2, 3]), *matrix_to_rpy(t[:3, :3])]


class NominalKinematics:
    """FK and IK of the SDK TCP (see the module docstring for the frames).

    Args:
        kinematics: the arm model's solver; built with :func:`build_arm_kinematics` if omitted.
    """

    def __init__(self, kinematics: ArmKinematics | None = None) -> None:
        self.kin = kinematics if kinematics is not None else build_arm_kinematics()
        self.lower_rad = np.array(self.kin.lower, dtype=float)
        self.upper_rad = np.array(self.kin.upper, dtype=float)
        self._offset = np.eye(4)
        self._offset_pose = [0.0] * 6
        # One MuJoCo data buffer serves every solve: the command handler, the report stream and a
        # test's probes run on different threads, so each solve holds the lock.
        self._lock = threading.RLock()

    @property
    def tcp_offset(self) -> list[float]:
        """The TCP offset ``[x, y, z mm, roll, pitch, yaw rad]`` relative to the flange."""
        return list(self._offset_pose)

    def set_tcp_offset(self, offset: list[float]) -> None:
        """Set the TCP offset (mm, rad), as ``set_tcp_offset`` does on the controller."""
        if len(offset) != 6 or not all(math.isfinite(v) for v in offset):
            raise ValueError(f"a TCP offset is 6 finite numbers (mm, rad), got {offset}")
        self._offset_pose = [float(v) for v in offset]
        self._offset = pose_to_transform(self._offset_pose)

    def within_limits(self, q_rad: np.ndarray) -> bool:
        """True when every joint angle (rad, shape (6,)) lies within the model's limits."""
        q = np.asarray(q_rad, dtype=float)
        return bool(np.all(q >= self.lower_rad - 1e-9) and np.all(q <= self.upper_rad + 1e-9))

    def flange_transform(self, q_rad: np.ndarray) -> np.ndarray:
        """4x4 transform (mm) of the flange in the base frame at joint angles ``q_rad`` (shape (6,))."""
        with self._lock:
            self.kin.forward(np.asarray(q_rad, dtype=float))
            site = self.kin.tcp_site
            rot = self.kin.data.site_xmat[site].reshape(3, 3).copy()
            site_mm = 1000.0 * np.array(self.kin.data.site_xpos[site])
        t = np.eye(4)
        t[:3, :3] = rot
        t[:3, 3] = site_mm - MODEL_TCP_MM * rot[:, 2]
        return t

    def forward(self, q_rad: np.ndarray) -> list[float]:
        """SDK TCP pose ``[x, y, z mm, roll, pitch, yaw rad]`` at joint angles ``q_rad`` (shape (6,))."""
        return transform_to_pose(self.flange_transform(q_rad) @ self._offset)

    def inverse(self, pose: list[float] | np.ndarray, seed_rad: np.ndarray) -> np.ndarray | None:
        """Joint angles (rad, shape (6,)) that put the SDK TCP at ``pose``, or None if there are none.

        ``seed_rad`` (shape (6,)) is where the solver starts: the solution nearest to it is found.
        """
        if len(pose) < 6 or not all(math.isfinite(float(v)) for v in pose[:6]):
            return None
        flange = pose_to_transform(pose) @ np.linalg.inv(self._offset)
        rot = flange[:3, :3]
        site_mm = flange[:3, 3] + MODEL_TCP_MM * rot[:, 2]
        seed = np.asarray(seed_rad, dtype=float)
        if float(rot[:, 2] @ np.array([0.0, 0.0, -1.0])) < math.cos(TOP_DOWN_TOL_RAD):  # a tilted tool
            quat = np.empty(4)
            mujoco.mju_mat2Quat(quat, np.ascontiguousarray(rot).ravel())
            with self._lock:
                return self.kin.solve_pose(site_mm / 1000.0, quat, seed)
        yaw = math.atan2(rot[1, 0], rot[0, 0])
        target = ToolPose(site_mm[0] / 1000.0, site_mm[1] / 1000.0, site_mm[2] / 1000.0, yaw)
        try:
            with self._lock:
                return np.asarray(self.kin.solve(target, seed), dtype=float)
        except UnreachableError:
            return None
