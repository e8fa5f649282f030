"""The candidate grid of pose adjustments: the action space of the MDP.

An action is a triple of indices ``(i, j, k)`` into three fixed candidate lists Δx, Δy, Δψ
(a ``MultiDiscrete([nx, ny, nψ])`` space). The grid maps indices to metres and radians and
back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from rmrl_env.errors import ConfigError

#: A policy has one softmax head per axis: more candidates than this per axis is a mistake.
MAX_HALF_CANDIDATES = 500


def _axis(max_abs: float, step: float, name: str, unit: str) -> np.ndarray:
    if not (math.isfinite(max_abs) and math.isfinite(step)) or step <= 0 or max_abs < 0:
        raise ConfigError(f"{name}: need a finite step > 0 and range >= 0, got range ±{max_abs} {unit}, step {step} {unit}")
    n_half = round(max_abs / step)
    if n_half > MAX_HALF_CANDIDATES:
        raise ConfigError(
            f"{name}: ±{max_abs} {unit} in {step} {unit} steps would make {2 * n_half + 1} candidates per axis; "
            f"at most {2 * MAX_HALF_CANDIDATES + 1} (choose a coarser step)"
        )
    if not math.isclose(n_half * step, max_abs, rel_tol=1e-6, abs_tol=1e-12):
        raise ConfigError(f"{name}: the range ±{max_abs} {unit} is not a whole number of {step} {unit} steps")
    return np.arange(-n_half, n_half + 1, dtype=np.float64) * step


@dataclass(frozen=True)
class CandidateGrid:
    """Symmetric candidate lists of adjustments around zero.

    Defaults: Δx and Δy in ±12 mm at 1 mm steps (25 values each), Δψ in ±5° at 0.5° steps
    (21 values), i.e. ``MultiDiscrete([25, 25, 21])``. Why ±12 mm: over the sim's 35 x 42.5 cm
    reset area at every yaw, the adjustment that puts the true grasp on the plate (perception,
    calibration, arm kinematics, TCP and jaws) exceeds 10 mm on some axis in 1-2 % of scenes
    (largest 11.8 mm over the default and 10 drawn cells), so ±10 mm left the oracle off the
    grid in 1.8 % of drawn-cell scenes; ±12 mm covers them (``benchmarks/learning_problem.py``).

    Attributes:
        max_xy_mm / step_xy_mm: range and step of Δx and Δy, millimetres.
        max_yaw_deg / step_yaw_deg: range and step of Δψ, degrees.
    """

    max_xy_mm: float = 12.0
    step_xy_mm: float = 1.0
    max_yaw_deg: float = 5.0
    step_yaw_deg: float = 0.5

    def __post_init__(self) -> None:
        # Validate eagerly: a bad grid fails at construction, naming the field.
        self.dx_m  # noqa: B018
        self.dyaw_rad  # noqa: B018

    @property
    def dx_m(self) -> np.ndarray:
        """Candidate Δx (and Δy) values, metres, shape (n,)."""
        return _axis(self.max_xy_mm, self.step_xy_mm, "grid Δx/Δy (max_xy_mm, step_xy_mm)", "mm") / 1000.0

    @property
    def dy_m(self) -> np.ndarray:
        return self.dx_m

    @property
    def dyaw_rad(self) -> np.ndarray:
        """Candidate Δψ values, radians, shape (n,)."""
        return np.deg2rad(_axis(self.max_yaw_deg, self.step_yaw_deg, "grid Δψ (max_yaw_deg, step_yaw_deg)", "deg"))

    @property
    def nvec(self) -> np.ndarray:
        return np.array([len(self.dx_m), len(self.dy_m), len(self.dyaw_rad)], dtype=np.int64)

    def space(self) -> spaces.MultiDiscrete:
        return spaces.MultiDiscrete(self.nvec)

    def describe(self) -> str:
        """One line naming the grid, for error messages."""
        nx, ny, npsi = self.nvec.tolist()
        return (
            f"MultiDiscrete([{nx}, {ny}, {npsi}]): indices 0..{nx - 1} for Δx and 0..{ny - 1} for Δy "
            f"(±{self.max_xy_mm:g} mm in {self.step_xy_mm:g} mm steps), 0..{npsi - 1} for Δψ "
            f"(±{self.max_yaw_deg:g}° in {self.step_yaw_deg:g}° steps)"
        )

    def validate(self, action: object) -> np.ndarray:
        """Return the action as int64 indices of shape (3,), or raise ``ValueError`` naming the grid."""
        arr = np.asarray(action)
        if arr.shape != (3,):
            raise ValueError(f"an action must be 3 grid indices, got shape {arr.shape}; valid actions: {self.describe()}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"the action {arr.tolist()} is not finite; valid actions: {self.describe()}")
            if not np.all(arr == np.round(arr)):
                raise ValueError(f"the action {arr.tolist()} is not integer grid indices; valid actions: {self.describe()}")
        elif arr.dtype.kind not in "iu":
            raise ValueError(f"the action {arr!r} is not integer grid indices; valid actions: {self.describe()}")
        idx = arr.astype(np.int64)
        if np.any(idx < 0) or np.any(idx >= self.nvec):
            raise ValueError(f"the action {idx.tolist()} is outside the grid; valid actions: {self.describe()}")
        return idx

    def to_adjustment(self, action: object) -> np.ndarray:
        """Grid indices → ``[Δx_m, Δy_m, Δψ_rad]`` (float64, shape (3,))."""
        i, j, k = self.validate(action)
        return np.array([self.dx_m[i], self.dy_m[j], self.dyaw_rad[k]])

    @property
    def reach(self) -> np.ndarray:
        """``[Δx_m, Δy_m, Δψ_rad]`` of the farthest adjustment that is on the grid: its range plus half
        a step (nearer the edge candidate than to anything beyond it), shape (3,)."""
        xy = (self.max_xy_mm + self.step_xy_mm / 2.0) / 1000.0
        return np.array([xy, xy, math.radians(self.max_yaw_deg + self.step_yaw_deg / 2.0)])

    def check_adjustment(self, dx_m: float, dy_m: float, dpsi_rad: float, clip: bool = False) -> np.ndarray:
        """The adjustment as float64 (3,), if finite and (unless ``clip``) within :attr:`reach`.

        :raises ValueError: naming the range, e.g. for 0.5 m (millimetres given as metres).
        """
        values = np.array([dx_m, dy_m, dpsi_rad], dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"the adjustment {values.tolist()} is not finite")
        if not clip and np.any(np.abs(values) > self.reach):
            dx, dy, dpsi = values
            raise ValueError(
                f"the adjustment Δx = {dx * 1000:g} mm, Δy = {dy * 1000:g} mm, Δψ = {math.degrees(dpsi):g}° is outside "
                f"the grid's ±{self.max_xy_mm:g} mm and ±{self.max_yaw_deg:g}° (by more than half a step): give metres "
                "and radians (0.005 for 5 mm), or clip=True for the nearest action at the edge"
            )
        return values

    def to_action(self, dx_m: float, dy_m: float, dpsi_rad: float, clip: bool = False) -> np.ndarray:
        """The nearest grid action to an adjustment in metres and radians; one beyond :attr:`reach` is
        a ``ValueError`` unless ``clip`` (then the nearest candidate at the edge)."""
        values = self.check_adjustment(dx_m, dy_m, dpsi_rad, clip)
        axes = (self.dx_m, self.dy_m, self.dyaw_rad)
        return np.array([int(np.argmin(np.abs(axis - v))) for axis, v in zip(axes, values, strict=False)], dtype=np.int64)

    def zero_action(self) -> np.ndarray:
        return self.to_action(0.0, 0.0, 0.0)
