"""Wire format of the xArm controller's command port (502), as the xArm SDK speaks it.

Every frame is Modbus-TCP-like::

    transaction id (u16, big-endian) | protocol id (u16) | length (u16) | register (u8) | payload

``length`` counts the bytes after itself (register + payload). The SDK sends protocol id 2,
and 3 once it knows the firmware is at least 1.8.6; a reply echoes the request's transaction
and protocol ids and register, then a status byte, then the register's data. Status bits:

* ``0x40`` the controller has an uncleared error (the SDK returns code 1),
* ``0x20`` it has an uncleared warning (code 2),
* ``0x10`` it is not ready to move (state 4/5, motors off or error; code 9 for motions),
* ``0x08`` the command's result is invalid (code 10).

Floats in payloads are IEEE-754 single precision, little-endian; 16/32-bit integers are
big-endian. A frame with register ``0xFF`` sent by the controller is a motion feedback frame
(see :func:`feedback_frame`). Protocol id 1 is the SDK's optional heartbeat; it gets no reply.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

FLAG_ERROR = 0x40
FLAG_WARNING = 0x20
FLAG_NOT_READY = 0x10
FLAG_INVALID = 0x08

HEARTBEAT_PROTOCOL = 1
FEEDBACK_REGISTER = 0xFF
HEADER_BYTES = 7


@dataclass(frozen=True)
class Request:
    """One command frame from the SDK."""

    transaction_id: int
    protocol_id: int
    register: int
    payload: bytes


def split_frames(buffer: bytes) -> tuple[list[Request], bytes]:
    """Cut the complete frames off the front of ``buffer``; return them and the unused rest.

    Raises:
        ValueError: a header declares a length of 0 (the stream cannot be re-synchronised).
    """
    frames: list[Request] = []
    while len(buffer) >= 6:
        tid, pid, length = struct.unpack(">HHH", buffer[:6])
        if length == 0:
            raise ValueError(f"frame with length 0 (transaction {tid}): the client is not an xArm SDK")
        end = 6 + length
        if len(buffer) < end:
            break
        frames.append(Request(tid, pid, buffer[6], bytes(buffer[7:end])))
        buffer = buffer[end:]
    return frames, buffer


def reply_frame(request: Request, status: int, data: bytes = b"") -> bytes:
    """The reply to ``request``: its ids and register, the status byte, then ``data``."""
    return struct.pack(">HHHBB", request.transaction_id, request.protocol_id, len(data) + 2, request.register, status) + data


def feedback_frame(transaction_id: int, protocol_id: int, status: int, feedback_type: int, code: int) -> bytes:
    """A motion feedback frame for the command sent with ``transaction_id``.

    The SDK reads the feedback type at byte 8 and the result code (0 success, 1 failure,
    2 discarded) at byte 12 of the frame; bytes 9-11 are not read and sent as zero (the
    firmware's use of them is not visible in the SDK).
    """
    body = bytes([FEEDBACK_REGISTER, status, feedback_type, 0, 0, 0, code])
    return struct.pack(">HHH", transaction_id, protocol_id, len(body)) + body


def f32(values: list[float] | tuple[float, ...]) -> bytes:
    """Little-endian float32s."""
    return struct.pack(f"<{len(values)}f", *values)


def read_f32(payload: bytes, count: int, offset: int = 0) -> list[float]:
    """``count`` little-endian float32s from ``payload`` at byte ``offset``.

    Raises:
        ValueError: the payload is too short.
    """
    end = offset + 4 * count
    if len(payload) < end:
        raise ValueError(f"payload of {len(payload)} bytes is too short for {count} floats at byte {offset}")
    return list(struct.unpack(f"<{count}f", payload[offset:end]))
