"""Exceptions raised by rmrl_env.

Every error names the problem and, where possible, what to do about it. They all derive from
:class:`RmrlError` so callers can catch the family at once.
"""

from __future__ import annotations


class RmrlError(Exception):
    """Base class of every error raised by rmrl."""


class ConfigError(RmrlError, ValueError):
    """A configuration value (env kwarg, config-file field) is invalid."""


class UnreachableError(RmrlError):
    """A commanded tool pose is outside the arm's reach or joint limits.

    Raised *before* any motion is sent, so the robot never starts a move it cannot finish.
    """

    def __init__(self, message: str, pose: object | None = None) -> None:
        super().__init__(message)
        self.pose = pose


class PlateNotFoundError(RmrlError):
    """The localiser could not find the cell plate in the camera frame."""


class SafetyError(RmrlError):
    """A command was refused by a safety check (workspace box, speed limit, controller state)."""


class HardwareError(RmrlError):
    """A device (arm, gripper, camera) reported an error or stopped answering."""


class CollisionError(HardwareError):
    """The arm stopped a motion because the tool pressed on something (collision detection)."""


class ControllerError(HardwareError):
    """The xArm controller reports an error or warning code (see ``rmrl_env.real.safety.CONTROLLER_ERRORS``).

    Attributes:
        error_code: controller error code (0 if none).
        warn_code: controller warning code (0 if none).
    """

    def __init__(self, message: str, error_code: int = 0, warn_code: int = 0) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.warn_code = warn_code


class ControllerCollisionError(CollisionError, ControllerError):
    """The xArm controller stopped a motion with a collision code (C22 self-collision predicted,
    C31 collision detected by abnormal motor current; see ``rmrl_env.real.safety.COLLISION_ERROR_CODES``).

    A :class:`CollisionError`, so the routine's collision path (let go, recover, go home,
    re-localise) runs as in the sim, and a :class:`ControllerError` carrying the codes.
    """


class WorkspaceViolation(UnreachableError, SafetyError):
    """A commanded pose lies outside the configured workspace box.

    It is an :class:`UnreachableError` (the routine reports the trial as unreachable without
    moving) and a :class:`SafetyError`.
    """


class ResetError(RmrlError):
    """The autonomous reset could not put the plate at the requested pose."""


class CalibrationError(ConfigError):
    """A calibration could not be computed (too few views, board not found) or a file is invalid."""


class IncompatibleEnvError(RmrlError, ValueError):
    """The env's spaces are not those the rmrl agents need (Dict image+pose, MultiDiscrete)."""


class DatasetError(RmrlError, ValueError):
    """An on-disk trial log or role-model dataset is corrupt, incomplete or incompatible."""
