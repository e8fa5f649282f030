"""The pick-and-place routine over the real drivers (:class:`XArmArm`, :class:`BioGripper`)
and the unmodified SDK against the controller emulator: faults the fake SDK cannot show."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rmrl_env.errors import CollisionError, ControllerError
from rmrl_env.protocols import CameraIntrinsics, PlanarPose, PlateDetection, RGBDFrame
from rmrl_env.real.bio_gripper import BioGripper
from rmrl_env.real.xarm_arm import XArmArm
from rmrl_env.routine import Drivers, Failure, PickAndPlace
from rmrl_env.twin.config import default_config

pytestmark = [pytest.mark.real, pytest.mark.slow]

INTRINSICS = CameraIntrinsics(64, 48, 60.0, 60.0, 31.5, 23.5)


class StillCamera:
    """A camera that returns one blank frame (the localiser below does not look at it)."""

    intrinsics = INTRINSICS

    def capture(self) -> RGBDFrame:
        return RGBDFrame(np.zeros((48, 64, 3), np.uint8), np.zeros((48, 64), np.float32), INTRINSICS, 0.0)


class CountingLocaliser:
    """Reports the plate at a fixed pose and counts how often it was asked."""

    def __init__(self, pose: PlanarPose) -> None:
        self.pose = pose
        self.calls = 0

    def localise(self, frame: Any) -> PlateDetection:
        self.calls += 1
        return PlateDetection(self.pose, 0.012, np.zeros((0, 0), bool), (0, 0, 0, 0), 0.5)


def make_routine(emu) -> tuple[PickAndPlace, XArmArm, CountingLocaliser]:
    cfg = default_config()
    layout = cfg.layout
    arm = XArmArm(
        emu.host, cfg.workspace, cfg.speeds, layout.home, home_speed_m_s=0.2,
        tcp_offset_m=cfg.robot.tcp_offset_m, motion_timeout_s=20.0,
    )  # fmt: skip
    gripper = BioGripper(arm, model="bio_g2", open_width_m=0.15, timeout_s=5.0)
    pick = PlanarPose(float(np.mean(layout.reset_region.x_m)), float(np.mean(layout.reset_region.y_m)), 0.0)
    localiser = CountingLocaliser(pick)
    return PickAndPlace(Drivers(arm, gripper, StillCamera(), localiser), layout), arm, localiser


def test_a_collision_mid_motion_takes_the_routines_collision_path_and_the_next_trial_runs(emulator_factory):
    """Audit defect 2: C31 mid-motion must reach the routine as a CollisionError (also a
    ControllerError), the arm recovered from its stop, sent home, the plate re-localised, and
    the next trial must run normally."""
    emu = emulator_factory(gripper_model="bio_g2", object_width_mm=90.0)
    routine, arm, localiser = make_routine(emu)
    try:
        pick = localiser.pose
        box = routine.layout.receptacle("box")
        emu.error_mid_motion(31, fraction=0.4)
        outcome = routine.run(pick, box)
        assert outcome.failure == Failure.COLLISION
        assert "C31" in outcome.message
        assert localiser.calls == 1 and outcome.seen is not None  # re-localised after the collision
        assert emu.controller.error_code == 0 and emu.controller.state in (1, 2)
        home = arm.tool_pose()
        assert (home.x_m, home.y_m, home.z_m) == pytest.approx(
            (routine.layout.home.x_m, routine.layout.home.y_m, routine.layout.home.z_m), abs=1e-3
        )
        assert emu.controller.gripper.opening_mm > 140.0  # let go
        again = routine.run(pick, box)
        assert again.failure is None, again.message
        reached = arm.tool_pose()
        assert (reached.x_m, reached.y_m) == pytest.approx((routine.layout.home.x_m, routine.layout.home.y_m), abs=1e-3)
    finally:
        arm.close()


@pytest.mark.parametrize("code", [22, 31])
def test_collision_codes_raise_an_error_that_is_both_a_collision_and_a_controller_error(emulator_factory, code):
    emu = emulator_factory()
    _routine, arm, _ = make_routine(emu)
    try:
        start = arm.tool_pose()
        emu.error_mid_motion(code, fraction=0.3)
        with pytest.raises(CollisionError, match=f"C{code}") as err:
            arm.move_to(start.__class__(start.x_m + 0.05, start.y_m, start.z_m - 0.05, start.yaw_rad), 0.1)
        assert isinstance(err.value, ControllerError) and err.value.error_code == code
    finally:
        arm.close()
