"""The real cell's config file: one TOML file per robot cell, validated on load.

Every error names the field (``[section] key``) and what is wrong with it. Lengths in the file
are metres (keys end in ``_m``), angles degrees (keys end in ``_deg``); the loaded dataclasses
hold metres and radians like the rest of rmrl. ``examples/real_cell.toml`` is a complete,
commented example; :func:`default_config` returns the same values without reading a file.

Layout of the file::

    schema_version = 1
    calibration_file = "calibration.json"  # relative to the config file
    [robot]        ip, connect_timeout_s, motion_timeout_s, tcp_offset_m = [x, y, z]
    [gripper]      model ("bio" | "bio_g2"), open_width_m, speed, force, timeout_s
    [camera]       serial, width, height, fps, frame_timeout_s, reconnect_attempts, undistort
    [perception]   localiser ("foundation" | "classical"), detector, segmenter, prompt, ...
    [safety]       max_speed_m_s, max_acceleration_m_s2, [safety.workspace] x_m, y_m, z_m
    [cell]         table_z_m, home = {x_m, y_m, z_m, yaw_deg}
    [cell.receptacles.box] / [cell.receptacles.shelf]  x_m, y_m, yaw_deg, floor_z_m, clearance_m
    [motion]       the routine's heights and speeds (MotionPlan)
    [reset]        x_m, y_m, yaw_deg: the reset area of initial poses; tolerances
    [grid]         max_xy_mm, step_xy_mm, max_yaw_deg, step_yaw_deg
    [env]          further keyword arguments of CellPlateEnv (image_size, reward_length_m, ...)
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmrl_env.cell import PLATE_WIDTH_M, CellLayout, MotionPlan, Receptacle, Region
from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid
from rmrl_env.protocols import PlanarPose, ToolPose
from rmrl_env.real.safety import SpeedLimits, WorkspaceBox

SCHEMA_VERSION = 1
LOCALISERS = ("foundation", "classical")
GRIPPER_MODELS = ("bio", "bio_g2")


@dataclass(frozen=True)
class RobotConfig:
    """The xArm controller.

    Attributes:
        ip: controller address (IPv4/IPv6 or host name).
        port: TCP port checked for reachability before the SDK connects (xArm: 502).
        connect_timeout_s: how long the reachability check waits, seconds.
        motion_timeout_s: longest a single motion may take before it is treated as failed.
        tcp_offset_m: tool centre point relative to the flange, metres (set on the controller).
    """

    ip: str
    port: int = 502
    connect_timeout_s: float = 5.0
    motion_timeout_s: float = 30.0
    tcp_offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class GripperConfig:
    """The UFactory BIO gripper (``model="bio"``) or BIO gripper G2 (``"bio_g2"``).

    Attributes:
        open_width_m: jaw opening when open (also what ``opening_m`` reports when open on a
            gripper without position read-out).
        speed: gripper speed in the SDK's units (pulses/s); 0 keeps the controller's setting.
        force: gripping force 1-100 (percent; G2 only, ignored by the original BIO).
        timeout_s: longest an open/close may take, seconds.
    """

    model: str = "bio"
    open_width_m: float = 0.13
    speed: int = 0
    force: int = 50
    timeout_s: float = 5.0


@dataclass(frozen=True)
class CameraConfig:
    """The overhead RealSense D435.

    Attributes:
        serial: the camera's serial number; empty means the only connected camera.
        width / height / fps: colour and depth stream format (pixels, frames/s).
        frame_timeout_s: how long to wait for one frame, seconds.
        reconnect_attempts: restarts of the pipeline after a frame time-out before giving up.
        undistort: remove the calibrated lens distortion from colour and depth.
    """

    serial: str = ""
    width: int = 640
    height: int = 480
    fps: int = 30
    frame_timeout_s: float = 1.0
    reconnect_attempts: int = 2
    undistort: bool = True


@dataclass(frozen=True)
class PerceptionConfig:
    """Which localiser finds the plate, and its models.

    Attributes:
        localiser: ``"foundation"`` (Grounding DINO + SAM) or ``"classical"``.
        detector / segmenter: a local directory or a Hugging Face hub id.
        prompt: the text prompt of the detector.
        box_threshold / text_threshold: detection score thresholds (0-1).
        device: ``"auto"`` (GPU when present), ``"cpu"`` or ``"cuda[:N]"``.
        localise_attempts: captures tried before a missing plate is reported.
    """

    localiser: str = "foundation"
    detector: str = "IDEA-Research/grounding-dino-tiny"
    segmenter: str = "facebook/sam-vit-base"
    prompt: str = "black cell plate"
    box_threshold: float = 0.3
    text_threshold: float = 0.25
    device: str = "auto"
    localise_attempts: int = 3


@dataclass(frozen=True)
class ResetConfig:
    """The autonomous reset.

    Attributes:
        region: the reset area (initial plate poses drawn for new scenes).
        tolerance_m / tolerance_rad: a plate already this close to the requested pose is left
            where it is (no motion).
    """

    region: Region
    tolerance_m: float = 0.002
    tolerance_rad: float = math.radians(1.0)


@dataclass(frozen=True)
class RealCellConfig:
    """A validated real-cell config (metres and radians)."""

    robot: RobotConfig
    gripper: GripperConfig
    camera: CameraConfig
    perception: PerceptionConfig
    workspace: WorkspaceBox
    speeds: SpeedLimits
    layout: CellLayout
    reset: ResetConfig
    grid: CandidateGrid
    calibration_file: Path | None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def with_overrides(self, **overrides: Any) -> RealCellConfig:
        """A copy with the keyword overrides of :data:`OVERRIDE_KEYS` applied.

        Raises:
            ConfigError: an unknown key (naming the valid ones) or an invalid value.
        """
        return apply_overrides(self, overrides)


# ---------------------------------------------------------------------------------------------
# Field readers: each names the field it reads
# ---------------------------------------------------------------------------------------------


class _Section:
    """A TOML table being read; every accessor knows the field's full name for errors."""

    def __init__(self, data: Mapping[str, Any], name: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"[{name}] must be a table, got {type(data).__name__}")
        self.data = dict(data)
        self.name = name
        self.used: set[str] = set()

    def field_name(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ..., required: bool = False) -> Any:
        self.used.add(key)
        if key in self.data:
            return self.data[key]
        if required or default is ...:
            raise ConfigError(f"{self.field_name(key)} is missing: add it to the config file")
        return default

    def section(self, key: str, required: bool = True) -> _Section:
        value = self.raw(key, required=required, default={} if not required else ...)
        return _Section(value, self.field_name(key))

    def number(self, key: str, default: Any = ..., low: float = -math.inf, high: float = math.inf, unit: str = "") -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{self.field_name(key)} must be a finite number{' in ' + unit if unit else ''}, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"{self.field_name(key)} = {value} is outside [{low}, {high}]{' ' + unit if unit else ''}")
        return float(value)

    def integer(self, key: str, default: Any = ..., low: int = -(2**31), high: int = 2**31) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.field_name(key)} must be an integer, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"{self.field_name(key)} = {value} is outside [{low}, {high}]")
        return int(value)

    def text(self, key: str, default: Any = ..., choices: tuple[str, ...] | None = None) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"{self.field_name(key)} must be a string, got {value!r}")
        if choices is not None and value not in choices:
            raise ConfigError(f"{self.field_name(key)} must be one of {list(choices)}, got {value!r}")
        return value

    def boolean(self, key: str, default: Any = ...) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.field_name(key)} must be true or false, got {value!r}")
        return value

    def vector(self, key: str, n: int, default: Any = ..., unit: str = "") -> tuple[float, ...]:
        value = self.raw(key, default)
        if not isinstance(value, (list, tuple)) or len(value) != n:
            raise ConfigError(
                f"{self.field_name(key)} must be a list of {n} numbers{' (' + unit + ')' if unit else ''}, got {value!r}"
            )
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"{self.field_name(key)} must hold finite numbers, got {value!r}")
            out.append(float(v))
        return tuple(out)

    def interval(self, key: str, default: Any = ..., unit: str = "") -> tuple[float, float]:
        low, high = self.vector(key, 2, default, unit)
        if low > high:
            raise ConfigError(f"{self.field_name(key)} must be [low, high] with low <= high, got {[low, high]}")
        return low, high

    def check_unknown(self, allowed_sections: tuple[str, ...] = ()) -> None:
        unknown = sorted(set(self.data) - self.used - set(allowed_sections))
        if unknown:
            raise ConfigError(
                f"unknown key(s) {[self.field_name(k) for k in unknown]} in the config file; "
                f"valid keys here: {sorted(self.used | set(allowed_sections))}"
            )


def _check_ip(value: str, field_name: str) -> str:
    value = value.strip()
    if not value:
        raise ConfigError(f"{field_name} is empty: set the xArm controller's IP address")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not all(part and (part.replace("-", "").isalnum()) for part in value.split(".")):
            raise ConfigError(f"{field_name} = {value!r} is neither an IP address nor a host name") from None
    return value


def _read_robot(s: _Section) -> RobotConfig:
    cfg = RobotConfig(
        ip=_check_ip(s.text("ip"), s.field_name("ip")),
        port=s.integer("port", 502, 1, 65535),
        connect_timeout_s=s.number("connect_timeout_s", 5.0, 0.1, 14.0, "s"),
        motion_timeout_s=s.number("motion_timeout_s", 30.0, 1.0, 600.0, "s"),
        tcp_offset_m=s.vector("tcp_offset_m", 3, (0.0, 0.0, 0.0), "m"),  # type: ignore[arg-type]
    )
    if any(abs(v) > 0.5 for v in cfg.tcp_offset_m):
        raise ConfigError(f"robot.tcp_offset_m = {list(cfg.tcp_offset_m)} is more than 0.5 m from the flange: give it in metres")
    s.check_unknown()
    return cfg


def _read_gripper(s: _Section) -> GripperConfig:
    cfg = GripperConfig(
        model=s.text("model", "bio", GRIPPER_MODELS),
        open_width_m=s.number("open_width_m", 0.13, PLATE_WIDTH_M + 0.005, 0.2, "m"),
        speed=s.integer("speed", 0, 0, 4500),
        force=s.integer("force", 50, 1, 100),
        timeout_s=s.number("timeout_s", 5.0, 0.5, 30.0, "s"),
    )
    s.check_unknown()
    return cfg


def _read_camera(s: _Section) -> CameraConfig:
    serial = s.raw("serial", "")
    if isinstance(serial, int) and not isinstance(serial, bool):
        serial = str(serial)
    if not isinstance(serial, str):
        raise ConfigError(f"camera.serial must be the serial number as a string, got {serial!r}")
    cfg = CameraConfig(
        serial=serial.strip(),
        width=s.integer("width", 640, 160, 1920),
        height=s.integer("height", 480, 120, 1080),
        fps=s.integer("fps", 30, 1, 90),
        frame_timeout_s=s.number("frame_timeout_s", 1.0, 0.05, 30.0, "s"),
        reconnect_attempts=s.integer("reconnect_attempts", 2, 0, 10),
        undistort=s.boolean("undistort", True),
    )
    s.check_unknown()
    return cfg


def _read_perception(s: _Section) -> PerceptionConfig:
    device = s.text("device", "auto")
    if not (device in ("auto", "cpu") or device.startswith("cuda")):
        raise ConfigError(f"perception.device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    cfg = PerceptionConfig(
        localiser=s.text("localiser", "foundation", LOCALISERS),
        detector=s.text("detector", PerceptionConfig.detector),
        segmenter=s.text("segmenter", PerceptionConfig.segmenter),
        prompt=s.text("prompt", PerceptionConfig.prompt),
        box_threshold=s.number("box_threshold", 0.3, 0.0, 1.0),
        text_threshold=s.number("text_threshold", 0.25, 0.0, 1.0),
        device=device,
        localise_attempts=s.integer("localise_attempts", 3, 1, 20),
    )
    if not cfg.prompt.strip():
        raise ConfigError("perception.prompt is empty: describe the plate, e.g. 'black cell plate'")
    s.check_unknown()
    return cfg


def _read_planar(s: _Section) -> PlanarPose:
    return PlanarPose(
        s.number("x_m", unit="m"), s.number("y_m", unit="m"), math.radians(s.number("yaw_deg", 0.0, -180, 180, "deg"))
    )


def _read_layout(cell: _Section, motion_s: _Section, region: Region) -> CellLayout:
    table_z = cell.number("table_z_m", 0.0, -1.0, 1.0, "m")
    home_s = cell.section("home")
    home = ToolPose(
        home_s.number("x_m", unit="m"),
        home_s.number("y_m", unit="m"),
        home_s.number("z_m", unit="m"),
        math.radians(home_s.number("yaw_deg", 0.0, -180, 180, "deg")),
    )
    home_s.check_unknown()
    rec_s = cell.section("receptacles")
    receptacles: dict[str, Receptacle] = {}
    for name in rec_s.data:
        r = rec_s.section(name)
        receptacles[name] = Receptacle(
            name=name,
            pose=_read_planar(r),
            floor_z_m=r.number("floor_z_m", table_z, -1.0, 1.0, "m"),
            clearance_m=r.number("clearance_m", 0.002, 0.0, 0.05, "m"),
        )
        r.check_unknown()
    if "box" not in receptacles:
        raise ConfigError("cell.receptacles.box is missing: the place task needs the target box pose")
    cell.check_unknown(("receptacles",))

    defaults = MotionPlan()
    values = {}
    for f in dataclasses.fields(MotionPlan):
        unit = "m/s" if f.name.endswith("_m_s") else "m"
        values[f.name] = motion_s.number(f.name, getattr(defaults, f.name), 0.0, 2.0, unit)
    motion_s.check_unknown()
    motion = MotionPlan(**values)
    for f in dataclasses.fields(MotionPlan):
        if f.name.endswith("_m_s") and getattr(motion, f.name) <= 0:
            raise ConfigError(f"motion.{f.name} must be a positive speed in m/s, got {getattr(motion, f.name)}")
    return CellLayout(table_z_m=table_z, home=home, reset_region=region, receptacles=receptacles, motion=motion)


def _read_reset(s: _Section) -> ResetConfig:
    yaw = s.interval("yaw_deg", (0.0, 0.0), "deg")
    region = Region(
        x_m=s.interval("x_m", unit="m"), y_m=s.interval("y_m", unit="m"), yaw_rad=(math.radians(yaw[0]), math.radians(yaw[1]))
    )
    cfg = ResetConfig(
        region=region,
        tolerance_m=s.number("tolerance_m", 0.002, 0.0, 0.02, "m"),
        tolerance_rad=math.radians(s.number("tolerance_deg", 1.0, 0.0, 10.0, "deg")),
    )
    s.check_unknown()
    return cfg


def _read_grid(s: _Section) -> CandidateGrid:
    d = CandidateGrid()
    try:
        grid = CandidateGrid(
            max_xy_mm=s.number("max_xy_mm", d.max_xy_mm, 0.0, 100.0, "mm"),
            step_xy_mm=s.number("step_xy_mm", d.step_xy_mm, 0.0, 100.0, "mm"),
            max_yaw_deg=s.number("max_yaw_deg", d.max_yaw_deg, 0.0, 89.0, "deg"),
            step_yaw_deg=s.number("step_yaw_deg", d.step_yaw_deg, 0.0, 89.0, "deg"),
        )
    except ConfigError as err:
        raise ConfigError(f"[grid]: {err}") from None
    s.check_unknown()
    return grid


def _check_consistency(cfg: RealCellConfig) -> None:
    """Cross-field checks: every pose the routine will command lies in the workspace box."""
    box = cfg.workspace
    layout = cfg.layout
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
    reach = cfg.grid.max_xy_mm / 1000.0
    for name, rec in layout.receptacles.items():
        probe = ToolPose(rec.pose.x_m, rec.pose.y_m, layout.grasp_z_m(rec.floor_z_m), rec.pose.yaw_rad)
        if not box.contains(probe):
            raise ConfigError(f"cell.receptacles.{name} (its place pose {probe}) lies outside safety.workspace")
    region = layout.reset_region
    for x in region.x_m:
        for y in region.y_m:
            probe = ToolPose(x, y, grasp_z, 0.0)
            if not box.contains(probe):
                raise ConfigError(
                    f"the reset area corner ({x}, {y}) m lies outside safety.workspace: shrink [reset] or widen the box"
                )
            for dx in (-reach, reach):
                if not box.contains(ToolPose(x + dx, y + dx, grasp_z, 0.0)):
                    raise ConfigError(
                        f"the reset area corner ({x}, {y}) m plus the grid's ±{cfg.grid.max_xy_mm:g} mm adjustment leaves "
                        "safety.workspace: shrink [reset] or widen the box"
                    )
    for f in dataclasses.fields(MotionPlan):
        if f.name.endswith("_m_s"):
            speed = getattr(layout.motion, f.name)
            if speed > cfg.speeds.max_speed_m_s:
                raise ConfigError(f"motion.{f.name} = {speed} m/s exceeds safety.max_speed_m_s = {cfg.speeds.max_speed_m_s} m/s")


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def config_from_dict(data: Mapping[str, Any], base_dir: Path | None = None, source: Path | None = None) -> RealCellConfig:
    """Validate a parsed config (the TOML's dict) and build a :class:`RealCellConfig`.

    Args:
        data: the parsed file.
        base_dir: directory that a relative ``calibration_file`` is resolved against.
        source: the file it came from (for messages).
    """
    root = _Section(data, "")
    version = root.integer("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ConfigError(f"schema_version = {version} is not supported: this rmrl reads version {SCHEMA_VERSION}")
    calib = root.raw("calibration_file", "")
    if not isinstance(calib, str):
        raise ConfigError(f"calibration_file must be a path string, got {calib!r}")
    calibration_file = None
    if calib:
        calibration_file = Path(calib).expanduser()
        if not calibration_file.is_absolute() and base_dir is not None:
            calibration_file = base_dir / calibration_file

    safety_s = root.section("safety")
    ws = safety_s.section("workspace")
    try:
        workspace = WorkspaceBox(ws.interval("x_m", unit="m"), ws.interval("y_m", unit="m"), ws.interval("z_m", unit="m"))
    except ConfigError:
        raise
    ws.check_unknown()
    speeds = SpeedLimits(
        max_speed_m_s=safety_s.number("max_speed_m_s", 0.25, unit="m/s"),
        max_acceleration_m_s2=safety_s.number("max_acceleration_m_s2", 1.0, unit="m/s²"),
    )
    safety_s.check_unknown(("workspace",))

    reset = _read_reset(root.section("reset"))
    layout = _read_layout(root.section("cell"), root.section("motion", required=False), reset.region)
    env_s = root.section("env", required=False)
    env_kwargs = dict(env_s.data)
    if "image_size" in env_kwargs:
        env_kwargs["image_size"] = tuple(env_kwargs["image_size"])
    if "grid" in env_kwargs:
        raise ConfigError("env.grid is not allowed: set the candidate grid in the [grid] section")

    cfg = RealCellConfig(
        robot=_read_robot(root.section("robot")),
        gripper=_read_gripper(root.section("gripper", required=False)),
        camera=_read_camera(root.section("camera", required=False)),
        perception=_read_perception(root.section("perception", required=False)),
        workspace=workspace,
        speeds=speeds,
        layout=layout,
        reset=reset,
        grid=_read_grid(root.section("grid", required=False)),
        calibration_file=calibration_file,
        env_kwargs=env_kwargs,
        source=source,
    )
    root.check_unknown(("robot", "gripper", "camera", "perception", "safety", "cell", "motion", "reset", "grid", "env"))
    _check_consistency(cfg)
    return cfg


def load_config(path: str | Path) -> RealCellConfig:
    """Read and validate a real-cell TOML config.

    Raises:
        ConfigError: the file is missing, is not TOML, or a field is invalid (the message names it).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"the real-cell config {str(path)!r} does not exist: pass config=PATH to a TOML file (see examples/real_cell.toml)"
        )
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    try:
        return config_from_dict(data, base_dir=path.parent.resolve(), source=path)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


#: The defaults of ``examples/real_cell.toml`` (geometry of the MuJoCo twin's cell).
DEFAULT_CONFIG: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION,
    "calibration_file": "calibration.json",
    "robot": {"ip": "192.168.1.185", "connect_timeout_s": 5.0, "motion_timeout_s": 30.0, "tcp_offset_m": [0.0, 0.0, 0.172]},
    "gripper": {"model": "bio", "open_width_m": 0.13, "speed": 0, "force": 50, "timeout_s": 5.0},
    "camera": {
        "serial": "",
        "width": 640,
        "height": 480,
        "fps": 30,
        "frame_timeout_s": 1.0,
        "reconnect_attempts": 2,
        "undistort": True,
    },
    "perception": {
        "localiser": "foundation",
        "detector": "IDEA-Research/grounding-dino-tiny",
        "segmenter": "facebook/sam-vit-base",
        "prompt": "black cell plate",
        "box_threshold": 0.3,
        "text_threshold": 0.25,
        "device": "auto",
        "localise_attempts": 3,
    },
    "safety": {
        "max_speed_m_s": 0.4,
        "max_acceleration_m_s2": 1.0,
        "workspace": {"x_m": [0.15, 0.75], "y_m": [-0.40, 0.40], "z_m": [0.0, 0.40]},
    },
    "cell": {
        "table_z_m": 0.0,
        "home": {"x_m": 0.20, "y_m": 0.0, "z_m": 0.30, "yaw_deg": 0.0},
        "receptacles": {
            "box": {"x_m": 0.40, "y_m": 0.20, "yaw_deg": 0.0, "floor_z_m": 0.0, "clearance_m": 0.003},
            "shelf": {"x_m": 0.58, "y_m": 0.20, "yaw_deg": 0.0, "floor_z_m": 0.06, "clearance_m": 0.0015},
        },
    },
    "motion": {  # the real cell's own values (slower than the sim's free transport)
        "approach_height_m": 0.05,
        "transit_z_m": 0.14,
        "release_gap_m": 0.002,
        "approach_speed_m_s": 0.25,
        "descend_speed_m_s": 0.10,
        "lift_speed_m_s": 0.15,
        "transport_speed_m_s": 0.40,
    },
    "reset": {"x_m": [0.32, 0.48], "y_m": [-0.26, -0.14], "yaw_deg": [-15.0, 15.0], "tolerance_m": 0.002, "tolerance_deg": 1.0},
    "grid": {"max_xy_mm": 10.0, "step_xy_mm": 1.0, "max_yaw_deg": 5.0, "step_yaw_deg": 0.5},
    "env": {"image_size": [120, 160], "reward_length_m": 0.1},
}


def default_config(**overrides: Any) -> RealCellConfig:
    """The example cell's config (no file needed; the calibration file is not set)."""
    data = copy.deepcopy(DEFAULT_CONFIG)
    data["calibration_file"] = ""
    return apply_overrides(config_from_dict(data), overrides)


#: Keyword overrides accepted by ``gym.make(..., config=PATH, **overrides)``: name → setter.
OVERRIDE_KEYS = ("robot_ip", "robot_port", "camera_serial", "calibration_file", "localiser", "device", "detector", "segmenter")


def apply_overrides(cfg: RealCellConfig, overrides: Mapping[str, Any]) -> RealCellConfig:
    """Apply the keyword overrides in :data:`OVERRIDE_KEYS` (other keys raise ConfigError)."""
    unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown override(s) {unknown}; valid ones are {list(OVERRIDE_KEYS)} (env options go under [env] or as CellPlateEnv keywords)"
        )
    robot, camera, perception, calib = cfg.robot, cfg.camera, cfg.perception, cfg.calibration_file
    if "robot_ip" in overrides:
        robot = dataclasses.replace(robot, ip=_check_ip(str(overrides["robot_ip"]), "robot_ip"))
    if "robot_port" in overrides:
        port = overrides["robot_port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ConfigError(f"robot_port must be a TCP port number 1-65535, got {port!r}")
        robot = dataclasses.replace(robot, port=port)
    if "camera_serial" in overrides:
        camera = dataclasses.replace(camera, serial=str(overrides["camera_serial"]))
    if "calibration_file" in overrides:
        calib = Path(overrides["calibration_file"]).expanduser() if overrides["calibration_file"] else None
    if "localiser" in overrides:
        if overrides["localiser"] not in LOCALISERS:
            raise ConfigError(f"localiser must be one of {list(LOCALISERS)}, got {overrides['localiser']!r}")
        perception = dataclasses.replace(perception, localiser=overrides["localiser"])
    for key in ("device", "detector", "segmenter"):
        if key in overrides:
            perception = dataclasses.replace(perception, **{key: str(overrides[key])})
    return dataclasses.replace(cfg, robot=robot, camera=camera, perception=perception, calibration_file=calib)
