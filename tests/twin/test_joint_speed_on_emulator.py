"""Joint-space moves of the real :class:`XArmArm` through the SDK against the emulator: the
tool's peak speed and every joint's speed stay within the configured limits (audit defect 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmrl_env.errors import ConfigError
from rmrl_env.protocols import ToolPose
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox
from rmrl_env.real.xarm_arm import XArmArm

pytestmark = [pytest.mark.real, pytest.mark.slow]

BOX = WorkspaceBox((0.1, 0.7), (-0.45, 0.45), (0.0, 0.45))
HOME = ToolPose(0.25, 0.0, 0.25, 0.0)
TCP_OFFSET_M = (0.0, 0.0, 0.172)


def peak_speeds(emu, since_s: float) -> tuple[float, float]:
    """The tool's peak speed (m/s) and the fastest joint's peak speed (deg/s) since ``since_s``."""
    times, q = emu.sink.samples()
    keep = times >= since_s
    times, q = times[keep], q[keep]
    tool_mm = np.array([emu.controller.kin.forward(qi)[:3] for qi in q])
    dt = np.diff(times)
    ok = dt > 1e-4
    tool = np.linalg.norm(np.diff(tool_mm, axis=0), axis=1)[ok] / dt[ok] / 1000.0
    joints = np.degrees(np.max(np.abs(np.diff(q, axis=0)), axis=1)[ok] / dt[ok])
    return float(tool.max()), float(joints.max())


@pytest.mark.parametrize(("tool_limit_m_s", "joint_limit_deg_s"), [(0.25, 30.0), (0.25, 10.0)])
def test_joint_space_moves_keep_the_tool_and_joints_within_their_limits(emulator, tool_limit_m_s, joint_limit_deg_s):
    arm = XArmArm(
        emulator.host, BOX, SpeedLimits(tool_limit_m_s, 1.0), HOME, home_speed_m_s=tool_limit_m_s,
        max_joint_speed_deg_s=joint_limit_deg_s, tcp_offset_m=TCP_OFFSET_M, motion_timeout_s=30.0,
    )  # fmt: skip
    try:
        arm.go_home()
        for target in (ToolPose(0.55, -0.35, 0.10, math.radians(40)), ToolPose(0.30, 0.35, 0.30, 0.0)):
            since = emulator.controller.clock()
            arm.move_to(target, tool_limit_m_s, linear=False)
            reached = arm.tool_pose()
            assert (reached.x_m, reached.y_m, reached.z_m) == pytest.approx((target.x_m, target.y_m, target.z_m), abs=1e-3)
            tool_peak, joint_peak = peak_speeds(emulator, since)
            assert tool_peak <= 1.02 * tool_limit_m_s, f"tool peak {tool_peak:.3f} m/s"
            assert joint_peak <= 1.02 * joint_limit_deg_s, f"joint peak {joint_peak:.1f} deg/s"
        since = emulator.controller.clock()
        arm.go_home()
        tool_peak, joint_peak = peak_speeds(emulator, since)
        assert tool_peak <= 1.02 * tool_limit_m_s and joint_peak <= 1.02 * joint_limit_deg_s
    finally:
        arm.close()


def test_home_joints_are_used_and_must_agree_with_the_home_pose(emulator):
    probe = XArmArm(emulator.host, BOX, SpeedLimits(0.25, 1.0), HOME, tcp_offset_m=TCP_OFFSET_M)
    try:
        home_deg = probe._solve_ik(HOME)
    finally:
        probe.close()
    arm = XArmArm(emulator.host, BOX, SpeedLimits(0.25, 1.0), HOME, home_joints_deg=home_deg, tcp_offset_m=TCP_OFFSET_M)
    try:
        arm.move_to(ToolPose(0.45, 0.2, 0.15, 0.0), 0.2, linear=False)
        arm.go_home()
        assert np.degrees(emulator.controller.q) == pytest.approx(home_deg, abs=0.05)
    finally:
        arm.close()
    wrong = [home_deg[0] + 20.0, *home_deg[1:]]
    with pytest.raises(ConfigError, match="home_joints_deg"):
        XArmArm(emulator.host, BOX, SpeedLimits(0.25, 1.0), HOME, home_joints_deg=wrong, tcp_offset_m=TCP_OFFSET_M)
