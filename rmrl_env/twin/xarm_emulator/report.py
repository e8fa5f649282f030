"""The "rich" report the controller streams on port 30002, in the layout the SDK parses.

Each report starts with its own length (u32, big-endian); the emulator sends 494 bytes, which
covers every field up to the axis-angle pose. Byte offsets (floats little-endian):

====================  =======================================================================
4                     state (low nibble) and mode (high nibble)
5-6                   number of queued commands (u16)
7-34 / 35-58          joint angles (7 × f32, rad) / TCP pose (6 × f32, mm and rad)
59-86                 joint torques (7 × f32)
87 / 88               motor brake bits / motor enable bits (one bit per joint)
89 / 90               error code / warning code
91-114 / 115-130      TCP offset (6 × f32) / TCP load (mass kg, centre of mass mm)
131 / 132             collision / teach sensitivity
133-144               gravity direction (3 × f32)
145-150               arm type, axis count, master id, slave id, motor tid, motor fid
181-200 / 201-220     TCP jerk, min/max acc, min/max speed / the same for the joints (f32)
221-228               rotation jerk, max rotation acceleration
229-244               servo status and error code pairs
245-251               joint temperatures (int8, °C)
252-283               TCP speed and 7 joint speeds (f32)
284-287 / 288-311     counter (u32) / world offset (6 × f32)
314                   simulation-robot flag (0: a real arm, so the SDK talks to the gripper)
482-493               axis-angle orientation (3 × f32)
====================  =======================================================================
"""

from __future__ import annotations

import struct

import mujoco
import numpy as np

from rmrl_env.twin.xarm_emulator.controller import ROT_ACC_RAD_S2, ROT_JERK, Controller
from rmrl_env.twin.xarm_emulator.framing import f32
from rmrl_env.twin.xarm_emulator.handlers import (
    MAX_JOINT_ACC_RAD_S2,
    MAX_JOINT_SPEED_RAD_S,
    MAX_TCP_ACC_MM_S2,
    MAX_TCP_SPEED_MM_S,
)
from rmrl_env.twin.xarm_emulator.kinematics import rpy_to_matrix

REPORT_BYTES = 494
XARM6_TYPE, XARM6_AXES = 6, 6


def _axis_angle(roll: float, pitch: float, yaw: float) -> list[float]:
    """Rotation vector (rad) of a roll-pitch-yaw orientation."""
    quat = np.empty(4)
    mujoco.mju_mat2Quat(quat, rpy_to_matrix(roll, pitch, yaw).flatten())
    vel = np.empty(3)
    mujoco.mju_quat2Vel(vel, quat, 1.0)
    return [float(v) for v in vel]


def build_report(ctl: Controller) -> bytes:
    """One rich report of the controller's current state."""
    with ctl.lock:
        state, mode, cmd_num = ctl.state, ctl.mode, ctl.cmd_num
        joints = [*ctl.q.tolist(), 0.0]
        pose = ctl.kin.forward(ctl.q)
        offset = ctl.kin.tcp_offset
        motors = 0x3F if ctl.motors_enabled else 0
        err, warn = ctl.error_code, ctl.warn_code
        load = list(ctl.tcp_load)
        sens = (ctl.collision_sensitivity, ctl.teach_sensitivity)
        speeds = [ctl.tcp_speed_mm_s, *ctl.joint_speeds_rad_s.tolist(), 0.0]
    parts = [
        struct.pack(">IBH", REPORT_BYTES, (state & 0x0F) | (mode << 4), cmd_num),
        f32(joints),
        f32(pose),
        f32([0.0] * 7),
        bytes([motors, motors, err, warn]),
        f32(offset),
        f32(load),
        bytes(sens),
        f32([0.0, 0.0, -1.0]),
        bytes([XARM6_TYPE, XARM6_AXES, 0, 0, 0, 0]),
        bytes(30),
        f32([10000.0, 1.0, MAX_TCP_ACC_MM_S2, 0.1, MAX_TCP_SPEED_MM_S]),
        f32([500.0, 0.01, MAX_JOINT_ACC_RAD_S2, 0.0001, MAX_JOINT_SPEED_RAD_S]),
        f32([ROT_JERK, ROT_ACC_RAD_S2]),
        bytes(16),
        bytes([30] * 7),
        f32(speeds),
        struct.pack(">I", 0),
        f32([0.0] * 6),
    ]
    head = b"".join(parts)
    tail = f32(_axis_angle(*pose[3:]))
    body = head + bytes(REPORT_BYTES - len(head) - len(tail)) + tail
    assert len(body) == REPORT_BYTES
    return body
