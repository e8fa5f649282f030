"""Every safety check of the real cell, in one place.

* :class:`WorkspaceBox`: the box every commanded TCP position must lie in (checked before a
  command is sent, never after).
* :class:`SpeedLimits`: the highest linear speed (m/s) and acceleration (m/s²) a motion may
  ask for.
* :data:`CONTROLLER_ERRORS` / :data:`CONTROLLER_WARNINGS` / :data:`API_CODES`: what the
  xArm's codes mean and what to do about them; :func:`explain_controller_error` and friends
  turn them into sentences.
* :func:`stop_on_failure`: a context manager that stops the arm when a KeyboardInterrupt
  (Ctrl-C) or any exception leaves a motion command, then re-raises.

Units: metres, metres per second, radians, unless a name says otherwise (the SDK's own
millimetres and degrees never leave :mod:`rmrl_env.real.xarm_arm`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rmrl_env.errors import ConfigError, SafetyError, WorkspaceViolation
from rmrl_env.protocols import ToolPose

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Workspace and speeds
# ---------------------------------------------------------------------------------------------


def _check_interval(name: str, bounds: Sequence[float]) -> tuple[float, float]:
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be [low, high] in metres, got {bounds!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError(f"{name} must be finite with low < high (metres), got {[low, high]}")
    return low, high


@dataclass(frozen=True)
class WorkspaceBox:
    """An axis-aligned box in the robot base frame that the TCP must stay inside (metres)."""

    x_m: tuple[float, float]
    y_m: tuple[float, float]
    z_m: tuple[float, float]

    def __post_init__(self) -> None:
        for axis in ("x_m", "y_m", "z_m"):
            object.__setattr__(self, axis, _check_interval(f"safety.workspace.{axis}", getattr(self, axis)))

    def contains(self, pose: ToolPose) -> bool:
        """Whether the TCP position of ``pose`` lies inside the box (bounds included)."""
        return (
            self.x_m[0] <= pose.x_m <= self.x_m[1]
            and self.y_m[0] <= pose.y_m <= self.y_m[1]
            and self.z_m[0] <= pose.z_m <= self.z_m[1]
        )

    def check(self, pose: ToolPose, what: str = "commanded pose") -> None:
        """Raise :class:`WorkspaceViolation` naming the axis if ``pose`` is outside the box."""
        values = (pose.x_m, pose.y_m, pose.z_m, pose.yaw_rad)
        if not all(math.isfinite(v) for v in values):
            raise WorkspaceViolation(f"{what} {values} is not finite: refusing to send it", pose)
        for axis, value in (("x_m", pose.x_m), ("y_m", pose.y_m), ("z_m", pose.z_m)):
            low, high = getattr(self, axis)
            if not low <= value <= high:
                raise WorkspaceViolation(
                    f"{what} has {axis[0]} = {value * 1000:.1f} mm, outside the workspace box "
                    f"[{low * 1000:.1f}, {high * 1000:.1f}] mm (safety.workspace.{axis}); nothing was sent. "
                    "Check the calibration and the poses in the config, or widen the box if the cell allows it.",
                    pose,
                )


@dataclass(frozen=True)
class SpeedLimits:
    """The fastest motions the real arm is allowed (TCP linear speed m/s, acceleration m/s²).

    No defaults here: the config's ``[safety]`` section holds them (one place).
    """

    max_speed_m_s: float
    max_acceleration_m_s2: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_speed_m_s) and 0 < self.max_speed_m_s <= 1.0):
            raise ConfigError(f"safety.max_speed_m_s must be in (0, 1.0] m/s, got {self.max_speed_m_s!r}")
        if not (math.isfinite(self.max_acceleration_m_s2) and 0 < self.max_acceleration_m_s2 <= 10.0):
            raise ConfigError(f"safety.max_acceleration_m_s2 must be in (0, 10] m/s², got {self.max_acceleration_m_s2!r}")

    def check_speed(self, speed_m_s: float) -> float:
        """Return ``speed_m_s`` if it is allowed, else raise :class:`SafetyError`."""
        if not (math.isfinite(speed_m_s) and speed_m_s > 0):
            raise SafetyError(f"a motion asked for speed {speed_m_s!r} m/s: speeds must be positive and finite")
        if speed_m_s > self.max_speed_m_s + 1e-12:
            raise SafetyError(
                f"a motion asked for {speed_m_s:.3f} m/s, above the limit safety.max_speed_m_s = "
                f"{self.max_speed_m_s:.3f} m/s; nothing was sent. Lower the [motion] speeds in the config."
            )
        return speed_m_s


# ---------------------------------------------------------------------------------------------
# What the xArm's codes mean (written for this cell; unknown codes fall back to the SDK's table)
# ---------------------------------------------------------------------------------------------

_REENABLE = "then run the recovery (XArmArm.recover(), or restart the env, which runs it on connect)"
_RESTART = "power-cycle the arm with the controller's emergency-stop button; if it repeats, contact UFactory support"

#: Controller error codes: code → (meaning, what to do).
CONTROLLER_ERRORS: dict[int, tuple[str, str]] = {
    1: ("the emergency-stop button on the controller is pressed", f"release the button, {_REENABLE}"),
    2: ("the controller's emergency-stop input (EI) is triggered", f"close the emergency circuit, {_REENABLE}"),
    3: ("the emergency-stop button of the three-state switch is pressed", f"release it, {_REENABLE}"),
    10: ("a servo motor reports an error", _RESTART),
    **{10 + j: (f"servo motor of joint {j} reports an error", _RESTART) for j in range(1, 8)},
    18: ("the force-torque sensor does not answer", "check the sensor cable, then restart the arm"),
    19: (
        "the end-effector (gripper) does not answer",
        "check the gripper cable and the end-effector baud rate, then restart the arm",
    ),
    21: (
        "kinematic error: the pose has no inverse-kinematics solution",
        f"check the target poses and the calibration, {_REENABLE}",
    ),
    22: ("self-collision predicted", f"move the arm back by hand in manual mode, check the poses, {_REENABLE}"),
    23: ("a joint angle exceeds its limit", f"send the arm to its initial position from UFactory Studio, {_REENABLE}"),
    24: ("speed exceeds the limit", f"lower [motion] speeds / safety.max_acceleration_m_s2 in the config, {_REENABLE}"),
    25: ("motion planning error", f"lower the speed or change the path, {_REENABLE}"),
    27: ("command reply error", f"retry; if it repeats, {_RESTART}"),
    28: ("end-module communication error", _RESTART),
    30: ("feedback speed exceeds the limit", _RESTART),
    31: (
        "collision detected (abnormal current)",
        f"look for the collision, check the payload and collision sensitivity settings, {_REENABLE}",
    ),
    33: ("controller GPIO error", _RESTART),
    35: (
        "the arm reached the controller's safety boundary",
        f"move the arm back inside the boundary in manual mode, {_REENABLE}",
    ),
    38: ("abnormal joint angle", _RESTART),
    40: ("no error-free joint trajectory to the pose", f"change the target pose or its yaw, {_REENABLE}"),
    60: (
        "linear speed exceeded the limit in servo mode",
        f"this driver never uses servo mode: check other programs on the controller, {_REENABLE}",
    ),
}

#: Controller error codes that mean a collision (the SDK's table: C22 "self-collision error",
#: C31 "collision caused abnormal current"); they become :class:`ControllerCollisionError`.
COLLISION_ERROR_CODES: frozenset[int] = frozenset({22, 31})

#: Controller warning codes: code → (meaning, what to do).
CONTROLLER_WARNINGS: dict[int, tuple[str, str]] = {
    11: ("the controller's command buffer is full", "wait for motions to finish; this driver sends one motion at a time"),
    12: ("a command parameter is invalid", "check the poses and speeds in the config"),
    13: ("the command does not exist", "update the controller firmware or xarm-python-sdk"),
    14: ("the command has no solution (pose out of reach)", "check the target poses and the calibration"),
    15: ("Modbus command buffer is full", "slow down gripper commands"),
}

#: Return codes of the SDK's calls (not the controller's): code → (meaning, what to do).
API_CODES: dict[int, tuple[str, str]] = {
    -1: ("the connection to the arm is lost", "check the Ethernet cable and that the controller is on, then restart the env"),
    -2: ("the arm is not enabled or not in the ready state", "run the recovery (XArmArm.recover())"),
    -3: ("the SDK raised an exception (probably a bad parameter)", "check the poses and speeds sent"),
    -6: ("the pose exceeds the Cartesian limits", "check the poses and the workspace box"),
    -7: ("a joint angle exceeds its limit", "check the poses"),
    -8: ("a value is out of range", "check the poses and speeds"),
    -9: ("the arm is in emergency stop", "release the emergency stop, then run the recovery"),
    1: ("the controller has an uncleared error", "see the controller error code"),
    2: ("the controller has an uncleared warning", "see the controller warning code"),
    3: ("the controller did not answer in time", "check the network; the controller may be overloaded"),
    9: ("the arm is not ready to move", "run the recovery (XArmArm.recover())"),
    100: (
        "waiting for the motion to finish timed out",
        "check that nothing blocks the arm; raise the motion timeout if moves are slow",
    ),
    102: ("the end-effector (gripper) has an error", "check the gripper; its error code is read by BioGripper"),
    103: ("the end-effector (gripper) is not enabled", "BioGripper enables it on start; check its cable"),
}


def _sdk_fallback(code: int, table_name: str) -> tuple[str, str] | None:
    """Look an unknown code up in the SDK's own English table, if the SDK is installed."""
    try:  # pragma: no cover - depends on the SDK's internals
        from xarm.core.config import x_code

        entry = getattr(x_code, table_name).get(code, {}).get("en")
        if entry:
            return entry.get("title", "unknown"), entry.get("desc") or _RESTART
    except Exception:
        pass
    return None


def explain_controller_error(code: int) -> str:
    """A sentence saying what controller error ``code`` means and what to do."""
    meaning = CONTROLLER_ERRORS.get(code) or _sdk_fallback(code, "ControllerErrorCodeMap")
    if meaning is None:
        meaning = ("unknown controller error", f"look it up in the xArm manual; {_RESTART}")
    return f"controller error C{code}: {meaning[0]}. What to do: {meaning[1]}."


def explain_controller_warning(code: int) -> str:
    """A sentence saying what controller warning ``code`` means and what to do."""
    meaning = CONTROLLER_WARNINGS.get(code) or _sdk_fallback(code, "ControllerWarnCodeMap")
    if meaning is None:
        meaning = ("unknown controller warning", "look it up in the xArm manual")
    return f"controller warning W{code}: {meaning[0]}. What to do: {meaning[1]}."


def explain_api_code(code: int) -> str:
    """A sentence saying what an SDK return code means and what to do."""
    meaning = API_CODES.get(code, ("unknown SDK return code", "see xarm-python-sdk's API code documentation"))
    return f"SDK code {code}: {meaning[0]}. What to do: {meaning[1]}."


# ---------------------------------------------------------------------------------------------
# Stopping on Ctrl-C or an exception
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def stop_on_failure(stop: Callable[[], None], what: str = "motion") -> Iterator[None]:
    """Run a device command; if it is interrupted (Ctrl-C) or raises, call ``stop`` and re-raise.

    ``stop`` must bring the device to a halt and leave it safe (for the xArm: stop state, motors
    holding, gripper untouched so a held plate is not dropped). A failure of ``stop`` itself is
    logged and does not hide the original exception.
    """
    try:
        yield
    except BaseException as err:
        kind = "Ctrl-C" if isinstance(err, KeyboardInterrupt) else type(err).__name__
        logger.error("%s interrupted by %s: stopping the arm", what, kind)
        try:
            stop()
        except Exception as stop_err:
            logger.critical("stopping the arm after %s failed too: %s. Press the emergency-stop button.", kind, stop_err)
        raise
