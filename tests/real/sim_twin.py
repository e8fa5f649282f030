"""The MuJoCo twin as the "physical world" behind the real drivers in end-to-end tests.

The fake ``XArmAPI`` reports its motions here; a gripper close catches the sim's plate when the
jaws are around it (the plate self-centres across the jaws and squares to them, as a parallel
gripper does), the plate follows the tool while held and is set down when the gripper opens.
After every change the twin re-renders its overhead camera into the RealSense software device.
"""

from __future__ import annotations

import math

import numpy as np

from rmrl_env.cell import PLATE_HEIGHT_M, PLATE_LENGTH_M, PLATE_WIDTH_M
from rmrl_env.protocols import PlanarPose, ToolPose, wrap_half_turn
from rmrl_env.sim.arm import SimArm
from rmrl_env.sim.camera import SimCamera
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.world import SimWorld
from rmrl_env.twin.software_d435 import SoftwareD435

from .fakes import FakeXArmAPI

JAW_OPEN_M = 0.13


class SimTwin:
    def __init__(self) -> None:
        errors = ErrorSources.ideal()
        self.world = SimWorld(errors)
        SimArm(self.world, ToolPose(0.20, 0.0, 0.30, 0.0))  # parks the sim's own arm out of view
        self.camera = SimCamera(errors=errors, world=self.world)
        self.device = SoftwareD435(self.camera.intrinsics)
        self.api: FakeXArmAPI | None = None
        self.held_offset_m: float | None = None  # plate centre along the jaws' axis, tool frame
        self.grasps = 0

    def camera_to_base(self):
        return self.camera.true_camera_to_base()

    def put(self, pose: PlanarPose, surface_z_m: float = 0.0) -> None:
        self.world.put_plate(pose, surface_z_m)
        self.settle()

    def settle(self) -> None:
        self.world.forward()
        self.world.step(50)
        self.render()

    def render(self) -> None:
        frame = self.camera.capture()
        self.device.set_frame(frame.color, frame.depth_m)

    # -- hooks of the fake arm ----------------------------------------------------------------
    def attach(self, api: FakeXArmAPI) -> None:
        self.api = api
        api.on_move = self.on_move
        api.on_close = self.on_close
        api.on_open = self.on_open

    def _tool(self) -> tuple[float, float, float, float]:
        x, y, z, _, _, yaw = self.api.position  # type: ignore[union-attr]
        return x / 1000.0, y / 1000.0, z / 1000.0, math.radians(yaw)

    def on_close(self) -> bool:
        x, y, z, yaw = self._tool()
        plate = self.world.plate_pose()
        dx, dy = plate.x_m - x, plate.y_m - y
        along = dx * math.cos(yaw) + dy * math.sin(yaw)  # along the plate's long axis (jaws close across it)
        across = -dx * math.sin(yaw) + dy * math.cos(yaw)
        dyaw = wrap_half_turn(plate.yaw_rad - yaw)
        height_ok = abs(z - self.world.plate_height_z()) < 0.005
        caught = (
            height_ok
            and abs(along) < PLATE_LENGTH_M / 4
            and abs(across) < (JAW_OPEN_M - PLATE_WIDTH_M) / 2
            and abs(dyaw) < math.radians(15)
        )
        if caught:
            self.held_offset_m = along
            self.grasps += 1
        return caught

    def on_move(self, _pos: list[float]) -> None:
        if self.held_offset_m is None:
            return
        x, y, z, yaw = self._tool()
        pose = PlanarPose(x + self.held_offset_m * math.cos(yaw), y + self.held_offset_m * math.sin(yaw), yaw)
        self.world.put_plate(pose, z - PLATE_HEIGHT_M / 2.0)
        self.world.forward()
        self.render()

    def on_open(self) -> None:
        if self.held_offset_m is None:
            return
        self.held_offset_m = None
        plate = self.world.plate_pose()
        self.world.put_plate(plate, self.world.plate_height_z() - PLATE_HEIGHT_M / 2.0 - 0.0015)
        self.settle()

    def close(self) -> None:
        self.device.close()


def camera_to_base_json(twin: SimTwin) -> dict:
    t = twin.camera_to_base()
    return {"rotation": np.asarray(t.rotation).tolist(), "translation_m": np.asarray(t.translation).tolist()}
