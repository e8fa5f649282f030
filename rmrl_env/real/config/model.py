"""The whole real-cell config: the sections, the cross-field checks, and the value types built from them."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, StrictInt, ValidationError, ValidationInfo, field_validator, model_validator

from rmrl_env.cell import CellLayout
from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid
from rmrl_env.protocols import ToolPose
from rmrl_env.real.config.cell_sections import CellConfig, EnvConfig, GridConfig, MotionConfig, ResetConfig
from rmrl_env.real.config.describe import config_error
from rmrl_env.real.config.sections import CameraConfig, GripperConfig, PerceptionConfig, RobotConfig, SafetyConfig, Section
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox

SCHEMA_VERSION = 1

#: Keyword overrides accepted by ``gym.make(..., config=PATH, **overrides)``: name → TOML path.
OVERRIDE_PATHS = {
    "robot_ip": ("robot", "ip"),
    "robot_port": ("robot", "port"),
    "camera_serial": ("camera", "serial"),
    "calibration_file": ("calibration_file",),
    "localiser": ("perception", "localiser"),
    "device": ("perception", "device"),
    "detector": ("perception", "detector"),
    "segmenter": ("perception", "segmenter"),
}
OVERRIDE_KEYS = tuple(OVERRIDE_PATHS)


class RealCellConfig(Section):
    """A real cell's config (one TOML file per robot cell), validated.

    Sections hold the file's units (metres, degrees); the properties ``layout``, ``workspace``,
    ``speeds``, ``grid`` and ``env_kwargs`` give the metre-and-radian value types the backend uses.
    """

    schema_version: StrictInt = Field(default=SCHEMA_VERSION, description="Version of this file's layout.")
    calibration_file: Path | None = Field(
        default=None,
        examples=["calibration.json"],
        description="The calibration file `rmrl calibrate` writes and the env reads, relative to this file; "
        '"" or unset: none (a dry run only).',
    )
    robot: RobotConfig
    gripper: GripperConfig = GripperConfig()
    camera: CameraConfig = CameraConfig()
    perception: PerceptionConfig = PerceptionConfig()
    safety: SafetyConfig
    cell: CellConfig
    motion: MotionConfig = MotionConfig()
    reset: ResetConfig
    grid_section: GridConfig = Field(default=GridConfig(), alias="grid")
    env: EnvConfig = EnvConfig()

    _source: Path | None = PrivateAttr(None)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"= {value} is not supported: this rmrl reads version {SCHEMA_VERSION}")
        return value

    @field_validator("calibration_file", mode="before")
    @classmethod
    def _calibration_path(cls, value: Any, info: ValidationInfo) -> Path | None:
        if value is None or isinstance(value, Path):
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be a path string, got {value!r}")
        if not value:
            return None
        path = Path(value).expanduser()
        base_dir = (info.context or {}).get("base_dir")
        if path.is_absolute() or base_dir is None:
            return path
        inside = (Path(base_dir) / path).resolve()
        if not inside.is_relative_to(Path(base_dir).resolve()):
            raise ValueError(
                f"= {value!r} leaves the config's folder ({base_dir}): give a path inside it, or an absolute path "
                "if the calibration must live elsewhere"
            )
        return Path(base_dir) / path

    # -- the value types the backend uses ----------------------------------------------------
    @cached_property
    def layout(self) -> CellLayout:
        """The cell's geometry and the routine's motion plan (metres, radians)."""
        receptacles = {name: r.receptacle(name, self.cell.table_z_m) for name, r in self.cell.receptacles.items()}
        return CellLayout(
            table_z_m=self.cell.table_z_m,
            home=self.cell.home.pose(),
            reset_region=self.reset.region,
            receptacles=receptacles,
            motion=self.motion.plan(),
        )

    @cached_property
    def workspace(self) -> WorkspaceBox:
        ws = self.safety.workspace
        return WorkspaceBox(ws.x_m, ws.y_m, ws.z_m)

    @cached_property
    def speeds(self) -> SpeedLimits:
        return SpeedLimits(self.safety.max_speed_m_s, self.safety.max_acceleration_m_s2)

    @cached_property
    def grid(self) -> CandidateGrid:
        """The candidate grid of the ``[grid]`` section."""
        return self.grid_section.candidates()

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """The ``[env]`` keywords that are set (the others keep CellPlateEnv's defaults)."""
        return self.env.model_dump(exclude_none=True)

    @property
    def source(self) -> Path | None:
        """The file this config was loaded from, if any."""
        return self._source

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: Path | None = None, source: Path | None = None) -> RealCellConfig:
        """Validate a parsed config (the TOML's dict).

        Args:
            data: the parsed file.
            base_dir: directory that a relative ``calibration_file`` is resolved against.
            source: the file it came from (kept as ``cfg.source``).

        Raises:
            ConfigError: naming every invalid field (``robot.ip ...; camera.width ...``).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"the config must be a table of sections, got {type(data).__name__}")
        try:
            cfg = cls.model_validate(dict(data), context={"base_dir": base_dir})
        except ValidationError as exc:
            raise config_error(exc, cls) from None
        cfg._source = source
        return cfg

    def with_overrides(self, **overrides: Any) -> RealCellConfig:
        """A copy with keyword overrides (:data:`OVERRIDE_KEYS`) applied and validated like the file.

        Raises:
            ConfigError: an unknown key (naming the valid ones) or an invalid value (naming the field).
        """
        unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
        if unknown:
            raise ConfigError(
                f"unknown override(s) {unknown}; valid ones are {list(OVERRIDE_KEYS)} (env options go under [env] or as CellPlateEnv keywords)"
            )
        if not overrides:
            return self
        data = self.model_dump(by_alias=True)
        for key, value in overrides.items():
            *tables, name = OVERRIDE_PATHS[key]
            node = data
            for table in tables:
                node = node[table]
            node[name] = value if key in ("robot_ip", "robot_port", "localiser") else str(value or "")
        try:
            return type(self).from_dict(data, source=self.source)
        except ConfigError as err:
            raise ConfigError(f"keyword override(s) {sorted(overrides)}: {err}") from None

    # -- cross-field checks: every pose the routine will command lies in the workspace box ----
    @model_validator(mode="after")
    def _consistent(self) -> RealCellConfig:
        box, layout = self.workspace, self.layout
        if not box.contains(layout.home):
            raise ConfigError(f"cell.home {layout.home} lies outside safety.workspace: move home or widen the box")
        grasp_z = layout.grasp_z_m(layout.table_z_m)
        if not box.z_m[0] <= grasp_z:
            raise ConfigError(
                f"safety.workspace.z_m starts at {box.z_m[0]} m, above the grasp height {grasp_z:.4f} m on the table "
                "(cell.table_z_m + half the plate height): lower it"
            )
        if not layout.motion.transit_z_m <= box.z_m[1]:
            raise ConfigError(
                f"motion.transit_z_m = {layout.motion.transit_z_m} m is above safety.workspace.z_m's top {box.z_m[1]} m"
            )
        for name, rec in layout.receptacles.items():
            probe = ToolPose(rec.pose.x_m, rec.pose.y_m, layout.grasp_z_m(rec.floor_z_m), rec.pose.yaw_rad)
            if not box.contains(probe):
                raise ConfigError(f"cell.receptacles.{name} (its place pose {probe}) lies outside safety.workspace")
        reach = self.grid.max_xy_mm / 1000.0
        region = layout.reset_region
        for x in region.x_m:
            for y in region.y_m:
                if not box.contains(ToolPose(x, y, grasp_z, 0.0)):
                    raise ConfigError(
                        f"the reset area corner ({x}, {y}) m lies outside safety.workspace: shrink [reset] or widen the box"
                    )
                if not all(box.contains(ToolPose(x + d, y + d, grasp_z, 0.0)) for d in (-reach, reach)):
                    raise ConfigError(
                        f"the reset area corner ({x}, {y}) m plus the grid's ±{self.grid.max_xy_mm:g} mm adjustment leaves "
                        "safety.workspace: shrink [reset] or widen the box"
                    )
        for name, speed in self.motion.model_dump().items():
            if name.endswith("_m_s") and speed > self.safety.max_speed_m_s:
                raise ConfigError(f"motion.{name} = {speed} m/s exceeds safety.max_speed_m_s = {self.safety.max_speed_m_s} m/s")
        return self
