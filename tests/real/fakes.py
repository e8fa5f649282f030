"""A fake ``XArmAPI``: records calls, moves instantly, can inject error codes and dropped links.

Units follow the SDK: millimetres and degrees. Only the calls the real driver uses exist, with
the SDK's signatures and return conventions (``code`` or ``(code, value)``), including the
controller's status in the codes of ``clean_error`` / ``clean_warn`` (1: an error is latched,
2: a warning is latched), which the SDK passes on unmapped.

Kinematics: a stand-in where the "joint angles" are the TCP pose scaled,
``[x/10, y/10, z/10, roll, pitch, yaw]`` (mm → "degrees"), so IK, FK and joint moves agree
and a joint-space path is a straight line at the tool.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


class FakeXArmAPI:
    """Stand-in for ``xarm.wrapper.XArmAPI``.

    Attributes:
        calls: ``(name, args, kwargs)`` of every call, in order.
        fail: method name → return code injected on its next call (then cleared).
        controller_error / controller_warn: what ``get_err_warn_code`` reports.
        drop_connection_on: method name whose next call drops the connection.
        reach_mm: radius (from the base z axis) within which IK succeeds.
        on_move: called with the new ``[x, y, z, roll, pitch, yaw]`` after each motion.
        on_close: decides whether a gripper close catches something (default: never).
        on_open: called after the gripper opened.
        interrupt_on_move: raise KeyboardInterrupt inside the next motion call.
    """

    def __init__(self, port: str = "127.0.0.1", is_radian: bool = False, **kwargs: Any) -> None:
        self.port = port
        self.calls: list[tuple[str, tuple, dict]] = []
        self.connected = True
        self.position = [200.0, 0.0, 300.0, 180.0, 0.0, 0.0]
        self.state = 0
        self.mode = 0
        self.enabled = False
        self.tcp_offset = [0.0] * 6
        self.tcp_load: list[Any] = [0.0, [0.0, 0.0, 0.0]]
        self.collision_sensitivity = 3
        self.error_code = 0
        self.warn_code = 0
        self.fail: dict[str, int] = {}
        self.drop_connection_on: str | None = None
        self.reach_mm = 750.0
        self.on_move: Callable[[list[float]], None] | None = None
        self.on_close: Callable[[], bool] = lambda: False
        self.on_open: Callable[[], None] = lambda: None
        self.interrupt_on_move = False
        self.gripper_enabled = False
        self.gripper_state = 0
        self.gripper_error = 0
        self.gripper_opening_mm = 0.0

    # -- plumbing -----------------------------------------------------------------------------
    def _call(self, name: str, args: tuple, kwargs: dict) -> int | None:
        self.calls.append((name, args, kwargs))
        if self.drop_connection_on == name:
            self.connected = False
        if not self.connected:
            return -1
        if name in self.fail:
            return self.fail.pop(name)
        return None

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    # -- arm ----------------------------------------------------------------------------------
    def get_err_warn_code(self, show: bool = False, lang: str = "en") -> tuple[int, list[int]]:
        self.calls.append(("get_err_warn_code", (), {}))
        return (0 if self.connected else -1), [self.error_code, self.warn_code]

    def _status_code(self) -> int:
        """The code the SDK passes on from a reply's status: 1 error latched, 2 warning latched."""
        return 1 if self.error_code else 2 if self.warn_code else 0

    def clean_error(self) -> int:
        code = self._call("clean_error", (), {})
        if code is not None:
            return code
        if self.error_code not in (1, 2, 3):  # an emergency stop cannot be cleared by software
            self.error_code = 0
        return self._status_code()

    def clean_warn(self) -> int:
        code = self._call("clean_warn", (), {})
        if code is not None:
            return code
        self.warn_code = 0
        return self._status_code()

    def motion_enable(self, enable: bool = True, servo_id: int | None = None) -> int:
        code = self._call("motion_enable", (), {"enable": enable})
        if code is None:
            self.enabled = enable
        return code or 0

    def set_mode(self, mode: int = 0, detection_param: int = 0) -> int:
        code = self._call("set_mode", (mode,), {})
        if code is None:
            self.mode = mode
        return code or 0

    def set_state(self, state: int = 0) -> int:
        code = self._call("set_state", (state,), {})
        if code is None:
            self.state = state
        return code or 0

    def set_tcp_offset(self, offset: list[float], is_radian: bool | None = None, wait: bool = True, **kwargs: Any) -> int:
        code = self._call("set_tcp_offset", (list(offset),), {})
        if code is None:
            self.tcp_offset = list(offset)
        return code or 0

    def set_tcp_load(self, weight: float, center_of_gravity: list[float], wait: bool = False, **kwargs: Any) -> int:
        code = self._call("set_tcp_load", (weight, list(center_of_gravity)), {})
        if code is None:
            self.tcp_load = [float(weight), [float(v) for v in center_of_gravity]]
        return code or 0

    def set_collision_sensitivity(self, value: int, wait: bool = True) -> int:
        code = self._call("set_collision_sensitivity", (value,), {})
        if code is None:
            self.collision_sensitivity = int(value)
        return code or 0

    def get_position(self, is_radian: bool | None = None) -> tuple[int, list[float]]:
        code = self._call("get_position", (), {})
        return code or 0, list(self.position)

    def _ready(self) -> bool:
        return self.enabled and self.mode == 0 and self.state == 0 and self.error_code == 0

    def set_position(
        self,
        x=None,
        y=None,
        z=None,
        roll=None,
        pitch=None,
        yaw=None,
        speed=None,
        mvacc=None,
        is_radian=None,
        wait=False,
        timeout=None,
        **kwargs: Any,
    ) -> int:
        code = self._call("set_position", (x, y, z, roll, pitch, yaw), {"speed": speed, "mvacc": mvacc, "wait": wait, **kwargs})
        return self._move(code, [x, y, z, roll, pitch, yaw])

    def _move(self, code: int | None, pose: list[float]) -> int:
        if code is not None:
            return code
        if self.interrupt_on_move:
            self.interrupt_on_move = False
            raise KeyboardInterrupt
        if self.error_code:
            return 1
        if not self._ready():
            return 9
        self.position = [float(v) for v in pose]
        if self.on_move is not None:
            self.on_move(list(self.position))
        return 0

    @staticmethod
    def forward(angles: list[float]) -> list[float]:
        """The stand-in kinematics: "joint angles" → TCP pose (mm, degrees)."""
        return [10.0 * angles[0], 10.0 * angles[1], 10.0 * angles[2], *(float(a) for a in angles[3:6])]

    def get_servo_angle(self, servo_id=None, is_radian=None, is_real=False) -> tuple[int, list[float]]:
        code = self._call("get_servo_angle", (), {})
        p = self.position
        return code or 0, [p[0] / 10.0, p[1] / 10.0, p[2] / 10.0, *p[3:6], 0.0]

    def get_forward_kinematics(self, angles, input_is_radian=None, return_is_radian=None) -> tuple[int, list[float]]:
        code = self._call("get_forward_kinematics", (list(angles),), {})
        return (code, []) if code is not None else (0, self.forward(list(angles)))

    def set_servo_angle(self, servo_id=None, angle=None, speed=None, mvacc=None, mvtime=None, relative=False,
                        is_radian=None, wait=False, timeout=None, radius=None, **kwargs: Any) -> int:  # fmt: skip
        code = self._call("set_servo_angle", (list(angle),), {"speed": speed, "mvacc": mvacc, "wait": wait, **kwargs})
        return self._move(code, self.forward(list(angle)))

    def get_inverse_kinematics(self, pose, input_is_radian=None, return_is_radian=None, **kwargs: Any) -> tuple[int, list[float]]:
        code = self._call("get_inverse_kinematics", (list(pose),), {})
        if code is not None:
            return code, []
        if math.hypot(pose[0], pose[1]) > self.reach_mm or pose[2] < -50:
            return 1, []
        return 0, [pose[0] / 10.0, pose[1] / 10.0, pose[2] / 10.0, *(float(v) for v in pose[3:6])]

    def is_joint_limit(self, joint, is_radian=None) -> tuple[int, bool]:
        code = self._call("is_joint_limit", (list(joint),), {})
        return (code, None) if code is not None else (0, False)

    def emergency_stop(self) -> None:
        self._call("emergency_stop", (), {})
        self.state = 4

    def disconnect(self) -> None:
        self.calls.append(("disconnect", (), {}))
        self.connected = False

    # -- BIO gripper --------------------------------------------------------------------------
    def set_bio_gripper_enable(self, enable: bool = True, wait: bool = True, timeout: float = 3, **kwargs: Any) -> int:
        code = self._call("set_bio_gripper_enable", (enable,), {})
        if code is None:
            self.gripper_enabled = enable
        return code or 0

    def set_bio_gripper_force(self, force: int, **kwargs: Any) -> int:
        return self._call("set_bio_gripper_force", (force,), {}) or 0

    def open_bio_gripper(self, speed: int = 0, wait: bool = True, timeout: float = 5, **kwargs: Any) -> int:
        code = self._call("open_bio_gripper", (), {"speed": speed})
        if code is None:
            self.gripper_state = 0
            self.gripper_opening_mm = 130.0
            self.on_open()
        return code or 0

    def close_bio_gripper(self, speed: int = 0, wait: bool = True, timeout: float = 5, **kwargs: Any) -> int:
        code = self._call("close_bio_gripper", (), {"speed": speed})
        if code is None:
            self.gripper_state = 2 if self.on_close() else 0
            self.gripper_opening_mm = 85.5 if self.gripper_state == 2 else 0.0
        return code or 0

    def get_bio_gripper_status(self) -> tuple[int, int]:
        code = self._call("get_bio_gripper_status", (), {})
        enabled = 2 if self.gripper_enabled else 0
        return code or 0, (enabled << 2) | (3 if self.gripper_error else self.gripper_state)

    def get_bio_gripper_error(self) -> tuple[int, int]:
        return 0, self.gripper_error

    def get_bio_gripper_g2_position(self, **kwargs: Any) -> tuple[int, float]:
        code = self._call("get_bio_gripper_g2_position", (), {})
        return code or 0, self.gripper_opening_mm


def fake_factory(**settings: Any) -> tuple[Callable[..., FakeXArmAPI], list[FakeXArmAPI]]:
    """A factory for ``XArmArm(api_factory=...)`` and the list of fakes it made (attributes pre-set)."""
    made: list[FakeXArmAPI] = []

    def factory(port: str, is_radian: bool = False, **kwargs: Any) -> FakeXArmAPI:
        api = FakeXArmAPI(port, is_radian=is_radian, **kwargs)
        for key, value in settings.items():
            setattr(api, key, value)
        made.append(api)
        return api

    return factory, made
