"""The UFactory BIO gripper (original and G2) behind the controller's end-effector RS-485 tunnel.

The SDK sends Modbus-RTU frames to slave 0x08 through the controller (register 124, the
controller adds the CRC); this module answers them from a register model:

========  ===========================================================================
0x0000    status word: bits 0-1 motion (0 stopped, 1 moving, 2 caught an object, 3 fault),
          bits 2-3 enable (0 off, 2 enabled)
0x000F    error code (writing 0 clears a fault)
0x0100    enable (write 1 / 0)
0x010A    control mode (G2 only; 1 = positions in pulses, ``mm * 3.7342 - 265.13``)
0x0303    speed (pulses/s)
0x0506    force 1-100 (G2 only), percent of the maximum gripping force
0x0700    target position, int32 over two registers (G2: pulses; original: 130 open, 50 closed)
0x0702    current position, int32 (G2 only, pulses)
0x0801    firmware version, three registers
0x0B10    serial number, 16 registers (G2 only: the SDK tells the models apart by it)
0x0C00    G2 combined move: 5 registers (1, speed, force, position int32)
========  ===========================================================================

A register the model does not have answers with Modbus exception 2 (illegal data address),
which is how the SDK recognises an original BIO gripper. Jaw travel: the jaws move at
``speed * MM_PER_S_PER_SPEED`` mm/s (an assumption: the SDK does not reveal the real rate)
and stop on an object of the configured width.
"""

from __future__ import annotations

import struct
from typing import Protocol

#: Jaw speed per unit of the speed register, mm/s (2000 → 100 mm/s, an assumption).
MM_PER_S_PER_SPEED = 0.05
#: Jaw opening range of the G2, mm (the SDK clamps positions to it).
G2_MIN_MM, G2_MAX_MM = 71.0, 150.0
#: Original BIO positions for open and closed and the openings they stand for, mm.
BIO_OPEN_POS, BIO_CLOSED_POS = 130, 50
SLAVE_ID = 0x08


def g2_pulses(mm: float) -> int:
    """G2 position register value (pulses) of a jaw opening in mm."""
    return int(mm * 3.7342 - 265.13)


def g2_mm(pulses: int) -> float:
    """Jaw opening (mm) of a G2 position register value."""
    return (pulses + 265.13) / 3.7342


class Jaws(Protocol):
    """Physical jaws the register model drives instead of its own kinematic ones (the twin's)."""

    def drive(self, target_mm: float | None, speed_mm_s: float, force_pct: int) -> None:
        """Move toward opening ``target_mm`` at ``speed_mm_s``, gripping with ``force_pct`` percent of
        the gripper's maximum force; ``None`` holds still (disabled or faulted)."""

    def opening_mm(self) -> float:
        """The jaws' opening now, mm."""

    def stalled(self) -> bool:
        """Whether the jaws have stopped moving (on an object, or at their target)."""


#: With physical jaws: a closing jaw that stalls this far (mm) short of its target has caught something,
#: and one within this distance of its target has arrived.
CAUGHT_MARGIN_MM = 2.0


class BioGripperModel:
    """Register model and jaw motion of one BIO gripper.

    Args:
        model: ``"bio"`` (original) or ``"bio_g2"``.
        object_width_mm: width of the object between the jaws (None: nothing to catch); not used
            with ``jaws``.
        jaws: physical jaws to drive (the MuJoCo twin's); by default the jaws are kinematic and
            stop on ``object_width_mm``.
    """

    def __init__(self, model: str = "bio_g2", object_width_mm: float | None = None, jaws: Jaws | None = None) -> None:
        if model not in ("bio", "bio_g2"):
            raise ValueError(f"gripper model must be 'bio' or 'bio_g2', got {model!r}")
        self.model = model
        self.object_width_mm = object_width_mm
        self.enabled = False
        self.error_code = 0
        self.speed = 2000
        self.force = 50
        self.opening_mm = G2_MAX_MM
        self.target_mm = G2_MAX_MM
        self.target_register = BIO_OPEN_POS if model == "bio" else g2_pulses(G2_MAX_MM)
        self.caught = False
        self.jaws = jaws
        if jaws is not None:
            self.opening_mm = self.target_mm = jaws.opening_mm()

    @property
    def is_g2(self) -> bool:
        return self.model == "bio_g2"

    # -- physics ------------------------------------------------------------------------------
    @property
    def moving(self) -> bool:
        arrived_mm = 1e-6 if self.jaws is None else CAUGHT_MARGIN_MM
        return self.enabled and not self.error_code and not self.caught and abs(self.opening_mm - self.target_mm) > arrived_mm

    def advance(self, dt_s: float) -> None:
        """Move the jaws for ``dt_s`` seconds towards the target; stop on the object."""
        if self.jaws is not None:
            self._advance_physical()
            return
        if not self.moving:
            return
        step = max(self.speed, 1) * MM_PER_S_PER_SPEED * dt_s
        if self.target_mm < self.opening_mm:
            new = max(self.target_mm, self.opening_mm - step)
            if self.object_width_mm is not None and new <= self.object_width_mm < self.opening_mm:
                new, self.caught = self.object_width_mm, True
        else:
            new = min(self.target_mm, self.opening_mm + step)
        self.opening_mm = new

    def _advance_physical(self) -> None:
        """Physical jaws: drive them, read their opening back, and call a stall short of a closing target a catch."""
        assert self.jaws is not None
        active = self.enabled and not self.error_code
        # The G2 grips with its force register; the original BIO has no force setting and grips with its maximum.
        force_pct = min(max(self.force, 1), 100) if self.is_g2 else 100
        self.jaws.drive(self.target_mm if active else None, max(self.speed, 1) * MM_PER_S_PER_SPEED, force_pct)
        self.opening_mm = self.jaws.opening_mm()
        closing_short = self.opening_mm - self.target_mm > CAUGHT_MARGIN_MM
        if active and not self.caught and closing_short and self.jaws.stalled():
            self.caught = True

    def inject_fault(self, code: int) -> None:
        """Latch a gripper fault (status 3, ``code`` in the error register); the jaws stop."""
        self.error_code = int(code)

    def _status(self) -> int:
        motion = 3 if self.error_code else 1 if self.moving else 2 if self.caught else 0
        return motion | ((2 if self.enabled else 0) << 2)

    def _move_to(self, target_mm: float) -> None:
        if self.error_code or not self.enabled:
            return
        self.caught = False
        self.target_mm = min(max(target_mm, G2_MIN_MM), G2_MAX_MM)

    # -- registers ----------------------------------------------------------------------------
    def _read(self, address: int, count: int) -> list[int] | None:
        regs: dict[int, int] = {
            0x0000: self._status(),
            0x000F: self.error_code,
            0x0100: int(self.enabled),
            0x0303: self.speed,
            0x0700: (self.target_register >> 16) & 0xFFFF,
            0x0701: self.target_register & 0xFFFF,
            0x0801: 1,
            0x0802: 2 if self.is_g2 else 0,
            0x0803: 0,
        }
        if self.is_g2:
            pulses = g2_pulses(self.opening_mm) & 0xFFFFFFFF
            regs.update({0x010A: 1, 0x0506: self.force, 0x0702: pulses >> 16, 0x0703: pulses & 0xFFFF})
            sn = b"BIOG2EMULATED001"
            regs.update({0x0B10 + i: sn[i] for i in range(16)})
        values = [regs.get(address + i) for i in range(count)]
        return None if any(v is None for v in values) else [int(v) for v in values if v is not None]

    def _write(self, address: int, values: list[int]) -> bool:
        if address == 0x0100:
            self.enabled = bool(values[0])
        elif address == 0x000F:
            self.error_code = 0 if values[0] == 0 else self.error_code
        elif address == 0x0303:
            self.speed = values[0]
        elif address == 0x0506 and self.is_g2:
            self.force = values[0]
        elif address in (0x0607, 0x110A) and self.is_g2:
            pass  # soft reboot / control-mode change: the model keeps pulse mode
        elif address == 0x0700 and len(values) == 2:
            self.target_register = struct.unpack(">i", struct.pack(">HH", *values))[0]
            if self.is_g2:
                self._move_to(g2_mm(self.target_register))
            else:
                self._move_to(G2_MAX_MM if self.target_register > (BIO_OPEN_POS + BIO_CLOSED_POS) / 2 else G2_MIN_MM)
        elif address == 0x0C00 and self.is_g2 and len(values) == 5:
            self.speed, self.force = values[1], values[2]
            self.target_register = struct.unpack(">i", struct.pack(">HH", values[3], values[4]))[0]
            self._move_to(g2_mm(self.target_register))
        else:
            return False
        return True

    def handle(self, frame: bytes) -> bytes:
        """The Modbus-RTU response (without CRC) to a request ``frame`` (without CRC)."""
        if len(frame) < 2 or frame[0] != SLAVE_ID:
            return b""  # another slave: no answer on the bus
        func = frame[1]
        if func == 0x03 and len(frame) >= 6:
            address, count = struct.unpack(">HH", frame[2:6])
            values = self._read(address, count)
            if values is not None:
                return bytes([SLAVE_ID, func, 2 * count]) + struct.pack(f">{count}H", *values)
        elif func == 0x06 and len(frame) >= 6:
            address, value = struct.unpack(">HH", frame[2:6])
            if self._write(address, [value]):
                return bytes(frame[:6])
        elif func == 0x10 and len(frame) >= 7:
            address, count = struct.unpack(">HH", frame[2:6])
            data = frame[7 : 7 + 2 * count]
            if len(data) == 2 * count and self._write(address, list(struct.unpack(f">{count}H", data))):
                return bytes(frame[:6])
        else:
            return bytes([SLAVE_ID, func | 0x80, 1])  # illegal function
        return bytes([SLAVE_ID, func | 0x80, 2])  # illegal data address
