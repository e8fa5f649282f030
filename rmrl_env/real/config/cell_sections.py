"""The sections of the real cell's TOML file that describe the cell and the MDP: ``[cell]`` (home,
receptacles), ``[motion]``, ``[reset]``, ``[grid]`` and ``[env]``; the devices' sections and the
shared field types are in :mod:`.sections`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from pydantic import (
    AfterValidator,
    Field,
    StrictInt,
    model_validator,
)

from rmrl_env.cell import MotionPlan, Receptacle, Region
from rmrl_env.env_settings import check_reward_length_m, check_scene_jitter_m, check_scene_jitter_rad
from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid
from rmrl_env.protocols import PlanarPose, ToolPose
from rmrl_env.real.config.sections import IntervalDeg, IntervalM, Number, Section, YawDeg, list_of
from rmrl_env.real.stager import RESET_ATTEMPTS, RESET_TOLERANCE_DEG, RESET_TOLERANCE_M


class HomeConfig(Section):
    """[cell.home] The arm's parking pose, out of the camera's view (TCP, top-down)."""

    x_m: Number = Field(description="TCP x, metres.")
    y_m: Number = Field(description="TCP y, metres.")
    z_m: Number = Field(description="TCP z, metres.")
    yaw_deg: YawDeg = Field(default=0.0, description="Tool yaw, degrees.")

    def pose(self) -> ToolPose:
        return ToolPose(self.x_m, self.y_m, self.z_m, math.radians(self.yaw_deg))


class ReceptacleConfig(Section):
    """[cell.receptacles.NAME] A place the plate is put down (box: CellPlatePlace, shelf: CellPlateShelf)."""

    x_m: Number = Field(description="Slot centre x (the taught place pose), metres.")
    y_m: Number = Field(description="Slot centre y, metres.")
    yaw_deg: YawDeg = Field(default=0.0, description="Slot yaw, degrees.")
    floor_z_m: Annotated[Number, Field(ge=-1.0, le=1.0)] | None = Field(
        default=None, examples=[0.06], description="Height of the surface the plate rests on, metres; unset: the table height."
    )
    clearance_m: Number = Field(default=0.002, ge=0.0, le=0.05, description="Free space between plate and wall per side, metres.")

    def receptacle(self, name: str, table_z_m: float) -> Receptacle:
        floor = table_z_m if self.floor_z_m is None else self.floor_z_m
        return Receptacle(name, PlanarPose(self.x_m, self.y_m, math.radians(self.yaw_deg)), floor, self.clearance_m)


def _has_box(value: dict[str, ReceptacleConfig]) -> dict[str, ReceptacleConfig]:
    if "box" not in value:
        raise ConfigError("cell.receptacles.box is missing: the place task needs the target box pose")
    return value


class CellConfig(Section):
    """[cell] Where things are: table height, home pose, receptacles (robot base frame)."""

    table_z_m: Number = Field(default=0.0, ge=-1.0, le=1.0, description="Height of the table top, metres.")
    home: HomeConfig
    home_joints_deg: Annotated[tuple[Number, Number, Number, Number, Number, Number], list_of(6, "deg")] | None = Field(
        default=None,
        examples=[[0.0, -30.0, -40.0, 0.0, 70.0, 0.0]],
        description="Joint angles J1-J6 of the home pose, degrees, for a joint-space move home; unset: the home pose "
        "above by inverse kinematics. Their forward kinematics must land on the home pose (checked at connect).",
    )
    receptacles: Annotated[dict[str, ReceptacleConfig], AfterValidator(_has_box)] = Field(
        description="The receptacles by name; `box` is required, `shelf` for CellPlateShelf."
    )


class MotionConfig(Section):
    """[motion] The pick-and-place routine's heights (m) and speeds (m/s) on the real cell.

    Slower than the sim's free transport (the defaults of ``rmrl_env.cell.MotionPlan``).
    """

    approach_height_m: Number = Field(
        default=0.05, ge=0.0, le=2.0, description="Last stretch above a grasp or release, travelled slowly, m."
    )
    transit_z_m: Number = Field(
        default=0.14, ge=0.0, le=2.0, description="TCP height of the transport between pick and place, m."
    )
    release_gap_m: Number = Field(
        default=0.002, ge=0.0, le=2.0, description="Plate bottom above the floor when the jaws open, m."
    )
    approach_speed_m_s: Number = Field(default=0.25, gt=0.0, le=2.0, description="Free-space moves, m/s.")
    descend_speed_m_s: Number = Field(
        default=0.10, gt=0.0, le=2.0, description="The slow final approach to a grasp or release, m/s."
    )
    lift_speed_m_s: Number = Field(
        default=0.15, gt=0.0, le=2.0, description="Vertical moves to and from the approach height, m/s."
    )
    transport_speed_m_s: Number = Field(default=0.40, gt=0.0, le=2.0, description="The horizontal carry at transit height, m/s.")

    def plan(self) -> MotionPlan:
        return MotionPlan(**self.model_dump())


class ResetConfig(Section):
    """[reset] The autonomous reset: the area of initial plate poses, and when to leave a plate alone."""

    x_m: IntervalM = Field(description="Reset area [low, high] along x, metres.")
    y_m: IntervalM = Field(description="Reset area [low, high] along y, metres.")
    yaw_deg: IntervalDeg = Field(default=(0.0, 0.0), description="Initial yaw [low, high], degrees.")
    tolerance_m: Number = Field(
        default=RESET_TOLERANCE_M, ge=0.0, le=0.02, description="A plate this close to the requested position is not moved, m."
    )
    tolerance_deg: Number = Field(default=RESET_TOLERANCE_DEG, ge=0.0, le=10.0, description="... and this close in yaw, degrees.")
    attempts: StrictInt = Field(
        default=RESET_ATTEMPTS, ge=1, le=10, description="Transfers tried per reset (a missed grasp is retried)."
    )

    @property
    def region(self) -> Region:
        """The reset area in metres and radians."""
        return Region(self.x_m, self.y_m, (math.radians(self.yaw_deg[0]), math.radians(self.yaw_deg[1])))

    @property
    def tolerance_rad(self) -> float:
        return math.radians(self.tolerance_deg)


_GRID = CandidateGrid()


class GridConfig(Section):
    """[grid] The candidate grid of pose adjustments (the action space)."""

    max_xy_mm: Number = Field(default=_GRID.max_xy_mm, ge=0.0, le=100.0, description="Δx and Δy range ±, millimetres.")
    step_xy_mm: Number = Field(default=_GRID.step_xy_mm, gt=0.0, le=100.0, description="Δx and Δy step, millimetres.")
    max_yaw_deg: Number = Field(default=_GRID.max_yaw_deg, ge=0.0, le=89.0, description="Δψ range ±, degrees.")
    step_yaw_deg: Number = Field(default=_GRID.step_yaw_deg, gt=0.0, le=89.0, description="Δψ step, degrees.")

    @model_validator(mode="after")
    def _whole_steps(self) -> GridConfig:
        try:
            self.candidates()
        except ConfigError as err:
            raise ValueError(f"is invalid: {err}") from None
        return self

    def candidates(self) -> CandidateGrid:
        return CandidateGrid(**self.model_dump())


def _env_check(check: Callable[[object, str], float]) -> AfterValidator:
    """The env's own check of a setting (:mod:`rmrl_env.env_settings`), naming the file's key."""
    name = check.__name__.removeprefix("check_")
    return AfterValidator(lambda value: check(value, f"env.{name}"))


class EnvConfig(Section):
    """[env] Further CellPlateEnv keywords; an unset one keeps the env's default (the action grid is [grid])."""

    image_size: Annotated[tuple[StrictInt, StrictInt], list_of(2, "pixels")] | None = Field(
        default=None, examples=[[120, 160]], description="Observation image [height, width], pixels."
    )
    reward_length_m: Annotated[Number, _env_check(check_reward_length_m)] | None = Field(
        default=None, examples=[0.1], description="Length scale of the reward, metres."
    )
    scene_jitter_m: Annotated[Number, _env_check(check_scene_jitter_m)] | None = Field(
        default=None, examples=[0.001], description="Jitter of a repeated scene's pose, metres."
    )
    scene_jitter_rad: Annotated[Number, _env_check(check_scene_jitter_rad)] | None = Field(
        default=None, examples=[0.0087], description="Jitter of a repeated scene's yaw, radians."
    )
