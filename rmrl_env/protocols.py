"""The small interfaces that separate the MDP and the pick-and-place routine from the hardware.

The env (:mod:`rmrl_env.env`) and the routine (:mod:`rmrl_env.routine`) only ever talk to
objects that satisfy these protocols. The MuJoCo backend (:mod:`rmrl_env.sim`) and the real
backend (:mod:`rmrl_env.real`) each implement them; sim and real differ only in drivers.

Units: metres, radians and seconds everywhere; poses are expressed in the robot base frame
(origin at the base of the arm on the table top, z up) unless a name says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np


def wrap_angle(angle_rad: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi


def wrap_half_turn(angle_rad: float) -> float:
    """Wrap an angle to [-pi/2, pi/2): the yaw of a shape that is symmetric under a half turn.

    A cell plate's outline looks the same after a 180 degree rotation, and so does the grasp
    of a parallel gripper across it, so plate yaws are compared modulo pi.
    """
    return (angle_rad + math.pi / 2.0) % math.pi - math.pi / 2.0


@dataclass(frozen=True)
class PlanarPose:
    """A pose on the table plane: position (m) and yaw about the base z axis (rad)."""

    x_m: float
    y_m: float
    yaw_rad: float

    def as_array(self) -> np.ndarray:
        """Return ``[x_m, y_m, yaw_rad]`` as a float64 array of shape (3,)."""
        return np.array([self.x_m, self.y_m, self.yaw_rad], dtype=np.float64)

    @classmethod
    def from_array(cls, values: Sequence[float] | np.ndarray) -> PlanarPose:
        """Build from ``[x_m, y_m, yaw_rad]``."""
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
        if arr.shape != (3,):
            raise ValueError(f"a planar pose needs 3 values [x_m, y_m, yaw_rad], got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"a planar pose must be finite, got {arr.tolist()}")
        return cls(float(arr[0]), float(arr[1]), float(arr[2]))

    def __add__(self, other: PlanarPose) -> PlanarPose:
        return PlanarPose(self.x_m + other.x_m, self.y_m + other.y_m, self.yaw_rad + other.yaw_rad)


@dataclass(frozen=True)
class ToolPose:
    """A top-down tool pose: TCP position (m) and yaw about the base z axis (rad).

    The tool's z axis points straight down (roll = pi, pitch = 0 in the arm's convention);
    every motion of the pick-and-place routine uses this family of poses.
    """

    x_m: float
    y_m: float
    z_m: float
    yaw_rad: float

    def as_array(self) -> np.ndarray:
        """Return ``[x_m, y_m, z_m, yaw_rad]`` as a float64 array of shape (4,)."""
        return np.array([self.x_m, self.y_m, self.z_m, self.yaw_rad], dtype=np.float64)

    @classmethod
    def above(cls, pose: PlanarPose, z_m: float) -> ToolPose:
        """The tool pose at height ``z_m`` over a planar pose."""
        return cls(pose.x_m, pose.y_m, z_m, pose.yaw_rad)


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of a colour camera (pixels) with Brown-Conrady distortion.

    ``distortion`` is OpenCV's ``(k1, k2, p1, p2, k3)``.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def without_distortion(self) -> CameraIntrinsics:
        """The same pinhole model with zero distortion coefficients."""
        return CameraIntrinsics(self.width, self.height, self.fx, self.fy, self.cx, self.cy)


@dataclass(frozen=True)
class RigidTransform:
    """A rigid transform ``p_parent = rotation @ p_child + translation`` (metres)."""

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform points of shape (..., 3) from the child to the parent frame."""
        return np.asarray(points) @ np.asarray(self.rotation).T + np.asarray(self.translation)

    def inverse(self) -> RigidTransform:
        rot = np.asarray(self.rotation)
        return RigidTransform(rot.T, -rot.T @ np.asarray(self.translation))

    def compose(self, other: RigidTransform) -> RigidTransform:
        """``self ∘ other``: first ``other`` then ``self``."""
        rot = np.asarray(self.rotation)
        return RigidTransform(
            rot @ np.asarray(other.rotation), rot @ np.asarray(other.translation) + np.asarray(self.translation)
        )


@dataclass
class RGBDFrame:
    """One capture of the overhead camera, depth aligned to colour.

    Attributes:
        color: uint8 array (H, W, 3), RGB.
        depth_m: float32 array (H, W), metres along the optical axis; 0 where invalid.
        intrinsics: the intrinsics the pipeline believes (from calibration).
        timestamp_s: capture time, seconds (backend clock).
    """

    color: np.ndarray
    depth_m: np.ndarray
    intrinsics: CameraIntrinsics
    timestamp_s: float = 0.0

    def depth_at(self, vs: np.ndarray, us: np.ndarray) -> np.ndarray:
        """The depth (float32 m) at pixels ``(vs[i], us[i])``: ``depth_m[vs, us]``. A backend whose
        frames compute their depth when it is read computes only these pixels."""
        return self.depth_m[vs, us]


@dataclass
class PlateDetection:
    """Where the localiser found the plate.

    Attributes:
        pose: plate pose in the robot base frame (yaw wrapped to [-pi/2, pi/2)).
        top_z_m: height of the plate's top face in the base frame (the median height of the plane
            fitted to it, where it could be fitted).
        mask: bool array (H, W), the plate's pixels.
        bbox_px: ``(u_min, v_min, u_max, v_max)`` of the mask, pixels.
        depth_m: mean depth inside the mask, metres.
        tilt_rad: tilt of the plane fitted to the plate's visible top face from depth
            (:mod:`rmrl_env.perception.plate_lie`); NaN where it was not measured.
    """

    pose: PlanarPose
    top_z_m: float
    mask: np.ndarray
    bbox_px: tuple[int, int, int, int]
    depth_m: float
    tilt_rad: float = math.nan


class Localisation(NamedTuple):
    """A frame and the plate found in it: a detection never travels without its frame."""

    frame: RGBDFrame
    detection: PlateDetection


@runtime_checkable
class Arm(Protocol):
    """A position-controlled arm that moves the tool in top-down poses."""

    def check_reachable(self, poses: Sequence[ToolPose]) -> None:
        """Raise :class:`~rmrl_env.errors.UnreachableError` if any pose cannot be reached.

        Called before a motion sequence starts, so no move is ever begun that cannot end.
        """

    def move_to(self, pose: ToolPose, speed_m_s: float, linear: bool = True) -> None:
        """Move the TCP to ``pose`` and return when it is there.

        ``linear=True`` follows a straight Cartesian line; ``False`` lets the joints
        interpolate (free-space moves).
        """

    def go_home(self) -> None:
        """Move to the configured home pose, clear of the camera's view."""

    def recover(self) -> None:
        """Clear a stop the arm latched (a collision, a controller error) so it can move again.

        Called by the routine after a collision; an arm that latches nothing does nothing.
        """

    def tool_pose(self) -> ToolPose:
        """The current TCP pose."""


@runtime_checkable
class Gripper(Protocol):
    """A force-limited parallel gripper."""

    def open(self) -> None:
        """Open fully and return when open."""

    def close(self) -> bool:
        """Close with the configured force; return True if the jaws stopped on an object."""

    def opening_m(self) -> float:
        """The current distance between the jaws, metres."""


@runtime_checkable
class Camera(Protocol):
    """An RGB-D camera with depth aligned to colour."""

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """The intrinsics the pipeline uses (from calibration)."""

    def capture(self) -> RGBDFrame:
        """Return the next frame."""


@runtime_checkable
class Localiser(Protocol):
    """Turns an RGB-D frame into the plate's pose in the robot base frame."""

    def localise(self, frame: RGBDFrame) -> PlateDetection:
        """Find the plate or raise :class:`~rmrl_env.errors.PlateNotFoundError`."""


@runtime_checkable
class PlateStager(Protocol):
    """Puts the plate at a requested initial pose on the table (a trial's reset).

    In simulation this is a person's hand (the plate is set down at the pose); on the real
    cell the robot itself carries the plate there (autonomous reset).
    """

    def stage_plate(self, pose: PlanarPose) -> Localisation | None:
        """Put the plate at ``pose`` (as well as the stager can) and leave the arm at home.

        Returns the localisation the stager made of the plate where it left it (the robot's
        stager verifies every reset with the camera), or ``None`` if it made none; the env then
        localises the plate itself.
        """
