"""Payload and collision sensitivity: set from the config at connect, read back, and a wrong
payload trips collisions in fast moves on the emulator as it would on a real arm."""

from __future__ import annotations

import pytest

from rmrl_env.errors import ControllerCollisionError, HardwareError
from rmrl_env.protocols import ToolPose
from rmrl_env.real.payload import GRIPPER_AND_PLATE_KG, Payload
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox
from rmrl_env.real.xarm_arm import XArmArm
from rmrl_env.twin.xarm_emulator.handlers import Reply

from .firmwares import firmware  # noqa: F401  (each test runs on every firmware)

pytestmark = pytest.mark.real


BOX = WorkspaceBox((0.1, 0.7), (-0.4, 0.4), (0.0, 0.4))
HOME = ToolPose(0.25, 0.0, 0.25, 0.0)
FAR = ToolPose(0.50, 0.0, 0.25, 0.0)


def _arm(emu, payload: Payload, acc_m_s2: float = 5.0, sensitivity: int = 3) -> XArmArm:
    return XArmArm(
        emu.host, BOX, SpeedLimits(0.6, acc_m_s2), HOME, tcp_offset_m=(0.0, 0.0, 0.172),
        payload=payload, collision_sensitivity=sensitivity, motion_timeout_s=10.0,
    )  # fmt: skip


def test_payload_and_sensitivity_are_set_at_connect_and_read_back(emulator):
    arm = _arm(emulator, Payload(0.9, (0.0, 0.01, 0.05)), sensitivity=4)
    try:
        assert emulator.controller.tcp_load == pytest.approx((0.9, 0.0, 10.0, 50.0), abs=1e-4)
        assert emulator.controller.collision_sensitivity == 4
        assert arm.api.tcp_load[0] == pytest.approx(0.9) and arm.api.collision_sensitivity == 4
    finally:
        arm.close()


def test_a_controller_that_ignores_the_payload_is_a_named_error(emulator):
    emulator.handlers.table[36] = lambda session, request: Reply()  # SET_LOAD answered, not applied
    with pytest.raises(HardwareError, match=r"reports payload .* after being set to \[1.5 kg"):
        _arm(emulator, Payload(1.5))
    emulator.handlers.table.pop(36)


@pytest.mark.parametrize(
    ("payload_kg", "acc_m_s2", "collides"),
    [(3.0, 5.0, True), (3.0, 0.3, False), (GRIPPER_AND_PLATE_KG, 8.0, False), (0.0, 8.0, True), (0.0, 1.0, False)],
)
def test_a_payload_far_from_the_real_one_trips_collisions_in_fast_moves(emulator, payload_kg, acc_m_s2, collides):
    """3 kg set for a gripper and plate of 0.78 kg: fast moves look like collisions (C31),
    slow ones do not; with the right payload fast moves run. No payload set (0 kg, the
    controller's factory setting) trips only the fastest moves."""
    arm = _arm(emulator, Payload(payload_kg), acc_m_s2=acc_m_s2)
    try:
        if collides:
            with pytest.raises(ControllerCollisionError, match="C31"):
                arm.move_to(FAR, 0.5)
            assert emulator.controller.state == 4
        else:
            arm.move_to(FAR, 0.5)
            arm.move_to(HOME, 0.5)
            assert emulator.controller.error_code == 0
    finally:
        arm.close()
