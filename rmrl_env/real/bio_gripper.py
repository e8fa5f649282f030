"""The UFactory BIO gripper on the xArm's tool flange (implements :class:`~rmrl_env.protocols.Gripper`).

It is driven through the arm's ``XArmAPI`` object (the gripper hangs on the arm's end-effector
bus). ``model="bio"`` is the original BIO gripper (open/close only, no position read-out);
``"bio_g2"`` the BIO gripper G2, which also reports its jaw opening in millimetres.

Status word (``get_bio_gripper_status``): bits 0-1 are the motion state (0 stopped, 1 moving,
2 caught an object, 3 error), bits 2-3 the enable state (0 off, 1 enabling, 2 enabled).
"""

from __future__ import annotations

import logging
from typing import Any

from rmrl_env.cell import PLATE_WIDTH_M
from rmrl_env.errors import HardwareError
from rmrl_env.real.safety import stop_on_failure
from rmrl_env.real.xarm_arm import XArmArm
from rmrl_env.real.xarm_connect import interruptible

logger = logging.getLogger(__name__)

STATE_STOPPED, STATE_MOVING, STATE_CAUGHT, STATE_ERROR = 0, 1, 2, 3
ENABLED = 2
#: SDK return code of an open/close that ended with the gripper in its fault state.
END_EFFECTOR_HAS_FAULT = 102


#: The G2's force setting, percent of the BIO gripper's maximum gripping force (20 N): the full
#: force the sim grips with (:data:`rmrl_env.sim.gripper.BIO_MAX_GRIP_FORCE_N`); much less lets a
#: plate twist in the jaws.
DEFAULT_FORCE_PCT = 100


class BioGripper:
    """Open and close the BIO gripper, report whether it holds something.

    Args:
        arm: the connected arm (its ``api`` and error handling are reused).
        model: ``"bio"`` or ``"bio_g2"``.
        open_width_m: jaw opening when fully open, metres.
        speed: SDK speed value (pulses/s); 0 keeps the gripper's own setting (read at enable).
        force: gripping force, percent 1-100 of the gripper's maximum (G2 only); the default,
            :data:`DEFAULT_FORCE_PCT`, grips with the full 20 N the sim grips with.
        timeout_s: longest an open/close may take, seconds.
        held_width_m: what :meth:`opening_m` reports while holding a plate on a gripper without
            position read-out (the plate's width).
    """

    def __init__(
        self,
        arm: XArmArm,
        model: str = "bio",
        open_width_m: float = 0.13,
        speed: int = 0,
        force: int = DEFAULT_FORCE_PCT,
        timeout_s: float = 5.0,
        held_width_m: float = PLATE_WIDTH_M,
    ) -> None:
        if model not in ("bio", "bio_g2"):
            raise ValueError(f"gripper model must be 'bio' or 'bio_g2', got {model!r}")
        self.arm = arm
        self.model = model
        self.open_width_m = float(open_width_m)
        self.speed = int(speed)
        self.force = int(force)
        self.timeout_s = float(timeout_s)
        self.held_width_m = float(held_width_m)
        self._opening_m = 0.0
        self._move_speed = self.speed
        self.enable()

    @property
    def api(self) -> Any:
        """The arm's SDK object (the gripper hangs on its end-effector bus; a reconnect replaces it)."""
        return self.arm.api

    def _stop_on_ctrl_c(self) -> None:
        self.arm.stop()  # the jaws are left as they are, so a held plate is not dropped

    def _check(self, result: object, what: str) -> Any:
        return self.arm._check(result, f"BIO gripper: {what}")

    @interruptible
    def clear_fault(self) -> None:
        """Clear a latched gripper fault and enable again (after its cause is fixed)."""
        self._check(self.api.clean_bio_gripper_error(), "clear the gripper error")
        self.enable()

    @interruptible
    def enable(self) -> None:
        """Enable the gripper (idempotent) and, on a G2, set its force."""
        self._check(self.api.set_bio_gripper_enable(True, wait=True, timeout=self.timeout_s), "enable")
        if self.model == "bio_g2":
            self._check(self.api.set_bio_gripper_force(self.force), f"set force {self.force}")
        self._move_speed = self.speed if self.speed > 0 else self._read_speed_register()
        _state, enabled = self.status()
        if enabled != ENABLED:
            raise HardwareError(
                f"the BIO gripper did not enable (enable state {enabled}): check its cable and the "
                "end-effector settings (baud rate) in UFactory Studio"
            )

    def _read_speed_register(self) -> int:
        """The speed the gripper is set to (register 0x0303), so that speed 0 keeps it.

        The SDK's wrapper has no speed getter; the register is read through its RS-485 call.
        Returns 0 (the SDK then uses its default, 2000) when the SDK has no such call.
        """
        send = getattr(self.api, "set_rs485_data", None)
        if send is None:
            return 0
        response = self._check(send([0x08, 0x03, 0x03, 0x03, 0x00, 0x01], min_res_len=5), "read speed")
        return int(response[3]) * 256 + int(response[4]) if response and len(response) >= 5 else 0

    def _motion_kwargs(self) -> dict[str, Any]:
        """Arguments of the SDK's open/close: without an explicit speed and force the SDK writes
        speed 2000 and force 50 to the gripper, overwriting its settings."""
        return {"speed": self._move_speed, "force": self.force, "wait": True, "timeout": self.timeout_s}

    @interruptible
    def status(self) -> tuple[int, int]:
        """``(motion_state, enable_state)`` from the status word (see the module docstring)."""
        word = int(self._check(self.api.get_bio_gripper_status(), "read status") or 0)
        return word & 0x03, (word >> 2) & 0x03

    def _check_motion(self, result: object, what: str, doing: str) -> None:
        """Like ``_check``, but a gripper fault (SDK code 102) is reported with the gripper's own code."""
        if result == END_EFFECTOR_HAS_FAULT:
            self._raise_if_error(STATE_ERROR, doing)
        self._check(result, what)

    def _raise_if_error(self, state: int, what: str) -> None:
        if state != STATE_ERROR:
            return
        code = self.api.get_bio_gripper_error()
        detail = code[1] if isinstance(code, tuple) and code[0] == 0 else "unknown"
        raise HardwareError(
            f"the BIO gripper reports an error (code {detail}) after {what}: clear it with "
            "`clean_bio_gripper_error` / UFactory Studio, check that nothing jams the jaws, then re-enable"
        )

    # -- Gripper protocol ---------------------------------------------------------------------
    @interruptible
    def open(self) -> None:
        """Open fully; return when open."""
        with stop_on_failure(self.arm.stop, "gripper open"):
            self._check_motion(self.api.open_bio_gripper(**self._motion_kwargs()), "open", "opening")
        state, _ = self.status()
        self._raise_if_error(state, "opening")
        self._opening_m = self.open_width_m

    @interruptible
    def close(self) -> bool:
        """Close; True when the jaws stopped on an object."""
        with stop_on_failure(self.arm.stop, "gripper close"):
            self._check_motion(self.api.close_bio_gripper(**self._motion_kwargs()), "close", "closing")
        state, _ = self.status()
        self._raise_if_error(state, "closing")
        caught = state == STATE_CAUGHT
        self._opening_m = self.held_width_m if caught else 0.0
        return caught

    @interruptible
    def opening_m(self) -> float:
        """Jaw opening, metres (read from a G2; the last commanded state otherwise)."""
        if self.model == "bio_g2":
            pos_mm = self._check(self.api.get_bio_gripper_g2_position(), "read position")
            return float(pos_mm) / 1000.0
        return self._opening_m
