"""The tool's payload and the controller's collision sensitivity, set at connect and read back.

The xArm's collision detection compares the joint currents with what its dynamic model
predicts for the payload it was told about (``set_tcp_load``). A payload far from the real one
makes fast moves look like collisions (false C31) or hides real ones; the sensitivity
(``set_collision_sensitivity``, 0 = off, 1 least to 5 most sensitive) sets how large a
difference counts as a collision. Both are lost on a controller reboot unless saved, so the
driver sets them on every connect and checks that the report stream carries them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rmrl_env.errors import ConfigError, HardwareError

#: The BIO gripper with its fingers (0.7 kg in the twin's model, assets/xarm6_bio.xml) plus a
#: cell plate (0.08 kg), kilograms: what the arm carries during a pick-and-place.
GRIPPER_AND_PLATE_KG = 0.78
#: Their centre of mass from the flange in the tool frame [x, y, z], metres.
GRIPPER_AND_PLATE_COM_M = (0.0, 0.0, 0.06)
#: The controller's default collision sensitivity (UFactory Studio's "3").
COLLISION_SENSITIVITY = 3
#: How long the report stream may take to carry the new values, seconds.
READ_BACK_S = 2.0


@dataclass(frozen=True)
class Payload:
    """What hangs on the flange: mass (kg) and centre of mass in the tool frame (m)."""

    mass_kg: float = GRIPPER_AND_PLATE_KG
    com_m: tuple[float, float, float] = GRIPPER_AND_PLATE_COM_M

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mass_kg) and 0.0 <= self.mass_kg <= 5.0):
            raise ConfigError(f"robot.payload_kg must be in [0, 5] kg (the xArm 6's payload), got {self.mass_kg!r}")
        com = tuple(float(v) for v in self.com_m)
        if len(com) != 3 or not all(math.isfinite(v) and abs(v) <= 0.5 for v in com):
            raise ConfigError(f"robot.payload_com_m must be 3 numbers within 0.5 m of the flange, got {list(self.com_m)}")
        object.__setattr__(self, "com_m", com)


def apply_payload(api: Any, check: Any, payload: Payload, sensitivity: int, ip: str) -> None:
    """Set the payload and the collision sensitivity on the controller and read them back.

    ``check`` turns an SDK return code into a value or an exception (``XArmLink._check``).
    Raises a HardwareError when the report stream does not show the values within
    :data:`READ_BACK_S` (a controller that ignores them would misjudge collisions).
    """
    if not (isinstance(sensitivity, int) and 0 <= sensitivity <= 5):
        raise ConfigError(f"robot.collision_sensitivity must be an integer 0-5, got {sensitivity!r}")
    com_mm = [1000.0 * v for v in payload.com_m]
    check(api.set_tcp_load(payload.mass_kg, com_mm), "set_tcp_load")
    check(api.set_collision_sensitivity(sensitivity), "set_collision_sensitivity")
    check(api.set_state(0), "set_state(0) after setting the payload")
    deadline = time.monotonic() + READ_BACK_S
    while True:
        load, sens = read_payload(api)
        if sens == sensitivity and _same_load(load, payload.mass_kg, com_mm):
            return
        if time.monotonic() > deadline:
            raise HardwareError(
                f"the xArm at {ip} reports payload {load} and collision sensitivity {sens} after being set to "
                f"[{payload.mass_kg:g} kg, {[round(v, 1) for v in com_mm]} mm] and {sensitivity}: collision detection "
                "would misjudge the tool. Check the firmware version and set them in UFactory Studio (Settings > "
                "Motion > TCP payload / collision sensitivity)"
            )
        time.sleep(0.05)


def read_payload(api: Any) -> tuple[list[Any], int | None]:
    """``([mass kg, [x, y, z] mm], sensitivity)`` the controller reports (public SDK properties)."""
    load = api.tcp_load
    sens = api.collision_sensitivity
    return list(load) if load is not None else [], None if sens is None else int(sens)


def _same_load(load: Sequence[Any], mass_kg: float, com_mm: list[float]) -> bool:
    if len(load) != 2:
        return False
    mass, com = load
    return math.isclose(float(mass), mass_kg, abs_tol=1e-3) and all(
        math.isclose(float(a), b, abs_tol=0.1) for a, b in zip(com, com_mm, strict=True)
    )
