"""Forward and inverse kinematics of the xArm 6 for top-down tool poses, on the *nominal* model.

This is the controller's view of the arm: the model of ``assets/xarm6_bio.xml`` alone, with the
published joint origins and zeros. The simulated cell's arm (the true arm) differs from it by
the error sources' joint-zero and joint-origin errors, so what the controller commands and
reports is the nominal pose, and where the tool really goes is the true arm's business.

Inverse kinematics is damped least squares on the MuJoCo model's site Jacobian, warm-started
from a seed configuration, with joint limits enforced. A pose whose solution does not converge
to 0.05 mm / 0.01° within the limits is unreachable.
"""

from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np

from rmrl_env.errors import UnreachableError
from rmrl_env.protocols import ToolPose
from rmrl_env.sim.assets import arm_path

try:  # NumPy's kernel behind np.linalg.solve (private; the public function where it is missing)
    from numpy.linalg import _umath_linalg

    _solve1: Any = _umath_linalg.solve1
except (ImportError, AttributeError):  # pragma: no cover
    _solve1 = None

ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 7))
HOME_KEYFRAME = "home"

POS_TOL_M = 5e-5
ROT_TOL_RAD = math.radians(0.01)


def tool_quaternion(yaw_rad: float) -> np.ndarray:
    """Orientation (w, x, y, z) of a tool pointing down with the given yaw: ``Rz(yaw) Rx(pi)``."""
    half = yaw_rad / 2.0
    return np.array([0.0, math.cos(half), math.sin(half), 0.0])


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """``index`` as a slice when it runs over consecutive numbers (the same elements, read faster)."""
    if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
        return slice(int(index[0]), int(index[0]) + index.size)
    return index


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.linalg.solve(a, b)`` for a float64 matrix and vector: the same LAPACK routine through
    NumPy's own kernel, without the wrapper's checks (a damped normal matrix is never singular)."""
    if _solve1 is None:  # pragma: no cover
        return np.linalg.solve(a, b)
    return _solve1(a, b, signature="dd->d")


def nominal_arm_model() -> mujoco.MjModel:
    """The nominal arm (``xarm6_bio.xml`` compiled on its own)."""
    return mujoco.MjModel.from_xml_path(str(arm_path()))


class ArmKinematics:
    """FK/IK of a model's ``tcp`` site (joints ``joint1``..``joint6``) on private data.

    Args:
        model: a model holding the arm; default: the nominal arm alone
            (:func:`nominal_arm_model`), the controller's kinematics.
        damping: damping of the least-squares IK step.

    Attributes:
        home_q: joint angles of the model's ``home`` keyframe, rad, shape (6,).
        home: the TCP pose at ``home_q``.
    """

    def __init__(self, model: mujoco.MjModel | None = None, damping: float = 1e-3) -> None:
        # A SimWorld (anything with a ``model``) stands for its model.
        model = getattr(model, "model", model)
        self.model = model if model is not None else nominal_arm_model()
        m = self.model
        self.data = mujoco.MjData(m)
        self.damping = damping
        self._jac = np.zeros((6, m.nv))  # translational rows, then rotational
        self._damping_eye = damping**2 * np.eye(6)
        self._arm_jac = np.empty((6, 6), order="F")
        self._quat, self._e_rot = np.empty(4), np.empty(3)
        joints = [m.joint(n).id for n in ARM_JOINTS]
        self.qadr = np.array([m.jnt_qposadr[j] for j in joints])
        self.dadr = np.array([m.jnt_dofadr[j] for j in joints])
        self.lower = np.array([m.jnt_range[j][0] for j in joints])
        self.upper = np.array([m.jnt_range[j][1] for j in joints])
        self.tcp_site = m.site("tcp").id
        # The arm's qpos entries and Jacobian columns as slices where they are consecutive (they are in the xArm's models).
        self._arm_q = _as_slice(self.qadr)
        self._arm_dofs = _as_slice(self.dadr)
        self.home_q = m.key(HOME_KEYFRAME).qpos[self.qadr].copy()
        self.home = self.forward(self.home_q)

    def _set(self, q: np.ndarray) -> None:
        """Pose every body at joint angles ``q`` (positions and orientations only)."""
        self.data.qpos[self.qadr] = q
        mujoco.mj_kinematics(self.model, self.data)

    def forward(self, q: np.ndarray) -> ToolPose:
        """The TCP pose at joint angles ``q`` (rad)."""
        self._set(q)
        pos = self.data.site_xpos[self.tcp_site]
        rot = self.data.site_xmat[self.tcp_site].reshape(3, 3)
        return ToolPose(float(pos[0]), float(pos[1]), float(pos[2]), math.atan2(rot[1, 0], rot[0, 0]))

    def solve(self, target: ToolPose, seed: np.ndarray, max_iter: int = 100) -> np.ndarray:
        """Joint angles (rad, shape (6,)) that put the TCP at the top-down pose ``target``.

        Raises:
            UnreachableError: no solution within the joint limits near ``seed``.
        """
        pos_t = np.array([target.x_m, target.y_m, target.z_m])
        q = self.solve_pose(pos_t, tool_quaternion(target.yaw_rad), seed, max_iter)
        if q is None:
            raise UnreachableError(
                f"tool pose x={target.x_m:.4f} m, y={target.y_m:.4f} m, z={target.z_m:.4f} m, "
                f"yaw={math.degrees(target.yaw_rad):.1f}° is outside the arm's reach or joint limits",
                pose=target,
            )
        return q

    def solve_pose(self, pos_t: np.ndarray, quat_t: np.ndarray, seed: np.ndarray, max_iter: int = 100) -> np.ndarray | None:
        """Joint angles (rad, shape (6,)) that put the TCP site at position ``pos_t`` (m, shape (3,))
        with orientation ``quat_t`` (w, x, y, z; any orientation), or None if the solver does not
        converge within the joint limits near ``seed``."""
        quat, e_rot = self._quat, self._e_rot
        err = np.empty(6)  # position error, then rotation error (world frame)
        e_pos, e_rot_w = err[:3], err[3:]
        q = np.array(seed, dtype=float)  # clipped to the limits as np.clip does, without its wrapper
        np.maximum(q, self.lower, out=q)
        np.minimum(q, self.upper, out=q)
        m, d, site = self.model, self.data, self.tcp_site
        qpos, arm, jac, damping = d.qpos, self._arm_q, self._arm_jac, self._damping_eye
        dofs, jac_t = self._arm_dofs, jac.T
        arm_jac = self._jac[:, dofs] if isinstance(dofs, slice) else None  # a view, read after each Jacobian
        xpos, xmat = d.site_xpos[site], d.site_xmat[site]  # views, refreshed by each kinematics pass
        rot, jacp, jacr = xmat.reshape(3, 3), self._jac[:3], self._jac[3:]
        largest = np.maximum.reduce  # what ndarray.max calls, without its Python wrapper
        for _ in range(max_iter):
            qpos[arm] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mju_mat2Quat(quat, xmat)
            mujoco.mju_subQuat(e_rot, quat_t, quat)  # rotation vector (local frame) from current to target
            np.subtract(pos_t, xpos, out=e_pos)
            np.matmul(rot, e_rot, out=e_rot_w)  # to the world frame of the Jacobian
            if math.sqrt(e_pos.dot(e_pos)) < POS_TOL_M and math.sqrt(e_rot_w.dot(e_rot_w)) < ROT_TOL_RAD:
                return q
            mujoco.mj_comPos(m, d)  # the Jacobian needs the com-based frames; the error check does not
            mujoco.mj_jacSite(m, d, jacp, jacr, site)
            # The arm's columns into a buffer laid out as fancy indexing lays them out (column-major),
            # so that the products below are the same BLAS calls on the same numbers.
            np.copyto(jac, self._jac[:, dofs] if arm_jac is None else arm_jac)
            normal = jac @ jac_t
            normal += damping
            dq = jac_t @ _solve(normal, err)
            step = largest(np.abs(dq))
            if step > 0.5:
                dq *= 0.5 / step
            np.add(q, dq, out=q)
            np.maximum(q, self.lower, out=q)
            np.minimum(q, self.upper, out=q)
        return None
