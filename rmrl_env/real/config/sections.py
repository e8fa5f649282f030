"""One pydantic model per section of the real cell's TOML file (the devices and safety here, the
cell and the MDP in :mod:`.cell_sections`); every default is written in these two modules, once.

The models hold the file's own units: metres (names ending in ``_m``), degrees (``_deg``),
seconds (``_s``). :class:`~rmrl_env.real.config.model.RealCellConfig` turns them into the
metre-and-radian value types the drivers use (``CellLayout``, ``WorkspaceBox``, ...).
A validator raises ``ValueError("must be ...")`` with the tail of a sentence (the loader puts
the field's TOML path in front) or :class:`~rmrl_env.errors.ConfigError` with a whole one.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
)

from rmrl_env.cell import PLATE_LENGTH_M, PLATE_WIDTH_M
from rmrl_env.perception.foundation import (
    DEFAULT_BOX_THRESHOLD,
    DEFAULT_DETECTOR,
    DEFAULT_PROMPT,
    DEFAULT_SEGMENTER,
    DEFAULT_TEXT_THRESHOLD,
)
from rmrl_env.real.bio_gripper import DEFAULT_FORCE_PCT
from rmrl_env.real.payload import COLLISION_SENSITIVITY, GRIPPER_AND_PLATE_COM_M, GRIPPER_AND_PLATE_KG
from rmrl_env.real.realsense import D435_COLOUR_FPS
from rmrl_env.real.xarm_arm import ARRIVAL_TOLERANCE_M
from rmrl_env.real.xarm_link import COMMAND_PORT, CONNECT_TIMEOUT_S

#: A finite number; TOML integers are accepted, strings and booleans are not.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def list_of(n: int, unit: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, list | tuple) or len(value) != n:
            raise ValueError(f"must be a list of {n} numbers ({unit}), got {value!r}")
        return value

    return BeforeValidator(check)


def ordered(strictly: bool) -> AfterValidator:
    def check(value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if low > high or (strictly and low == high):
            raise ValueError(f"must be [low, high] with low {'<' if strictly else '<='} high, got {list(value)}")
        return value

    return AfterValidator(check)


#: ``[low, high]`` in metres, ``low <= high``.
IntervalM = Annotated[tuple[Number, Number], list_of(2, "m"), ordered(strictly=False)]
#: ``[low, high]`` in metres, ``low < high`` (a box that has a volume).
StrictIntervalM = Annotated[tuple[Number, Number], list_of(2, "m"), ordered(strictly=True)]
#: ``[low, high]`` in degrees, ``low <= high``.
IntervalDeg = Annotated[tuple[Number, Number], list_of(2, "deg"), ordered(strictly=False)]
YawDeg = Annotated[Number, Field(ge=-180.0, le=180.0)]


class Section(BaseModel):
    """Base of every section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_ip(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("is empty: set the xArm controller's IPv4 address")
    if value == "localhost":
        return value
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(
            f"= {value!r} is not an IPv4 address: the xArm SDK opens a TCP connection only for an IPv4 address or "
            "'localhost' (any other text is opened as a serial port)"
        ) from None
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        raise ValueError(
            f"= {value!r} is not a robot's address (unspecified, broadcast, multicast or reserved): "
            "set the xArm controller's IPv4 address (shown on its control box or in UFactory Studio)"
        )
    return value


def _near_flange(value: tuple[float, float, float]) -> tuple[float, float, float]:
    if any(abs(v) > 0.5 for v in value):
        raise ValueError(f"= {list(value)} is more than 0.5 m from the flange: give it in metres")
    return value


class RobotConfig(Section):
    """[robot] The xArm 6 controller."""

    ip: Annotated[StrictStr, AfterValidator(_check_ip)] = Field(
        description="The controller's IPv4 address (or 'localhost'); host names and IPv6 do not work with the xArm SDK."
    )
    port: StrictInt = Field(
        default=COMMAND_PORT, ge=1, le=65535, description="TCP port of the reachability check before the SDK connects."
    )
    connect_timeout_s: Number = Field(
        default=CONNECT_TIMEOUT_S, ge=0.1, le=14.0, description="How long the reachability check waits, seconds."
    )
    motion_timeout_s: Number = Field(
        default=30.0, ge=1.0, le=600.0, description="Longest single motion before it counts as failed, s."
    )
    tcp_offset_m: Annotated[tuple[Number, Number, Number], list_of(3, "m"), AfterValidator(_near_flange)] = Field(
        default=(0.0, 0.0, 0.172),
        description="Tool centre point (centre between the jaws) from the flange, tool frame [x, y, z], metres. "
        "Default: UFactory's published TCP of the BIO gripper, 172 mm below the flange; the MuJoCo twin's "
        "config uses its own (the `tcp` site of assets/xarm6_bio.xml, 150 mm).",
    )
    arrival_tolerance_m: Number = Field(
        default=ARRIVAL_TOLERANCE_M,
        gt=0.0,
        le=0.02,
        description="A reached TCP position may differ from the commanded one by at most this, metres.",
    )
    payload_kg: Number = Field(
        default=GRIPPER_AND_PLATE_KG,
        ge=0.0,
        le=5.0,
        description="Mass on the flange (gripper, fingers and a plate), kg; set at connect. Weigh yours: a payload "
        "far from the real one makes fast moves trip false collisions (C31) or hides real ones.",
    )
    payload_com_m: Annotated[tuple[Number, Number, Number], list_of(3, "m"), AfterValidator(_near_flange)] = Field(
        default=GRIPPER_AND_PLATE_COM_M,
        description="Centre of mass of the payload from the flange, tool frame [x, y, z], metres; set at connect.",
    )
    collision_sensitivity: StrictInt = Field(
        default=COLLISION_SENSITIVITY,
        ge=0,
        le=5,
        description="Collision detection sensitivity, 1 (least) to 5 (most); 0 turns it off; set at connect.",
    )
    home_on_connect: StrictBool = Field(
        default=False,
        description="Move the arm home while the env is built (gym.make). Default: no motion until the first reset.",
    )


class GripperConfig(Section):
    """[gripper] The UFactory BIO gripper ("bio") or BIO gripper G2 ("bio_g2")."""

    model: Literal["bio", "bio_g2"] = Field(default="bio", description='"bio" (the original BIO gripper) or "bio_g2".')
    open_width_m: Number = Field(
        default=0.13, gt=PLATE_WIDTH_M + 0.005, le=0.2, description="Jaw opening when open, metres (must clear the plate)."
    )
    speed: StrictInt = Field(
        default=0, ge=0, le=4000, description="Gripper speed, SDK units (pulses/s, at most 4000); 0: the SDK's own."
    )
    force: StrictInt = Field(
        default=DEFAULT_FORCE_PCT,
        ge=1,
        le=100,
        description="Gripping force, percent 1-100 of the BIO gripper's 20 N (G2 only; the original BIO grips with its maximum). "
        "100 is what the sim grips a plate with; much less lets a plate twist in the jaws.",
    )
    timeout_s: Number = Field(default=5.0, ge=0.5, le=30.0, description="Longest an open or close may take, seconds.")


def _serial_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"must be the camera's serial number as a string, got {value!r}")
    return value.strip()


_RATES = ", ".join(map(str, D435_COLOUR_FPS))


def _d435_rate(value: int) -> int:
    if value not in D435_COLOUR_FPS:
        raise ValueError(f"= {value} is not a frame rate of the D435's colour stream: use one of {_RATES}")
    return value


class CameraConfig(Section):
    """[camera] The overhead RealSense D435."""

    serial: Annotated[str, BeforeValidator(_serial_text)] = Field(
        default="", description='Serial number (`rs-enumerate-devices` lists it); "" takes the only connected camera.'
    )
    width: StrictInt = Field(default=640, ge=160, le=1920, description="Colour and depth stream width, pixels.")
    height: StrictInt = Field(default=480, ge=120, le=1080, description="Colour and depth stream height, pixels.")
    fps: Annotated[StrictInt, AfterValidator(_d435_rate)] = Field(
        default=30, description=f"Stream rate, frames per second: one of the D435's colour rates {_RATES}."
    )
    frame_timeout_s: Number = Field(default=1.0, ge=0.05, le=30.0, description="How long to wait for one frame, seconds.")
    reconnect_attempts: StrictInt = Field(
        default=2, ge=0, le=10, description="Pipeline restarts after a frame time-out before giving up."
    )
    undistort: StrictBool = Field(default=True, description="Remove the calibrated lens distortion from colour and depth.")
    warmup_frames: StrictInt = Field(
        default=30,
        ge=0,
        le=300,
        description="Frames dropped after a (re)start while auto-exposure settles (librealsense's examples drop 30).",
    )
    reenumeration_timeout_s: Number = Field(
        default=10.0,
        ge=1.0,
        le=60.0,
        description="After a frame time-out the camera is reset (hardware_reset); how long to wait for it to "
        "re-appear on the USB bus, seconds.",
    )


def _check_device(value: str) -> str:
    if not (value in ("auto", "cpu") or value == "cuda" or (value.startswith("cuda:") and value[5:].isdigit())):
        raise ValueError(f"must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {value!r}")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty: describe the plate, e.g. 'black cell plate'")
    return value


class PerceptionConfig(Section):
    """[perception] Which localiser finds the plate, and its models."""

    localiser: Literal["foundation", "classical"] = Field(
        default="foundation", description='"foundation" (Grounding DINO + SAM) or "classical" (no models).'
    )
    detector: StrictStr = Field(
        default=DEFAULT_DETECTOR, description="Grounding DINO: a local directory or a Hugging Face hub id."
    )
    detector_revision: StrictStr = Field(
        default="main",
        description="Hub revision (branch, tag or commit) of the detector; pin a commit for repeatable runs (not applied yet).",
    )
    segmenter: StrictStr = Field(default=DEFAULT_SEGMENTER, description="SAM: a local directory or a Hugging Face hub id.")
    segmenter_revision: StrictStr = Field(default="main", description="Hub revision of the segmenter (not applied yet).")
    prompt: Annotated[StrictStr, AfterValidator(_not_blank)] = Field(
        default=DEFAULT_PROMPT, description="The detector's text prompt."
    )
    box_threshold: Number = Field(
        default=DEFAULT_BOX_THRESHOLD, ge=0.0, le=1.0, description="Detection box score threshold, 0-1."
    )
    text_threshold: Number = Field(
        default=DEFAULT_TEXT_THRESHOLD, ge=0.0, le=1.0, description="Detection text score threshold, 0-1."
    )
    device: Annotated[StrictStr, AfterValidator(_check_device)] = Field(
        default="auto", description='"auto" (the GPU when present), "cpu", "cuda" or "cuda:N".'
    )
    localise_attempts: StrictInt = Field(default=3, ge=1, le=20, description="Captures tried before a missing plate is reported.")
    detection_region_x_m: IntervalM | None = Field(
        default=None,
        examples=[[0.25, 0.65]],
        description="Only detections whose centre lies in this x range of the base frame count, metres; unset: anywhere "
        "(not applied yet).",
    )
    detection_region_y_m: IntervalM | None = Field(
        default=None, examples=[[-0.35, 0.30]], description="The same for y, metres; unset: anywhere (not applied yet)."
    )
    plate_size_m: Annotated[tuple[Number, Number], list_of(2, "m")] = Field(
        default=(PLATE_LENGTH_M, PLATE_WIDTH_M),
        description="Expected plate footprint [length, width], metres (SLAS microplate); detections far off it are "
        "not the plate (not applied yet).",
    )
    plate_size_tolerance: Number = Field(
        default=0.25, gt=0.0, le=1.0, description="Accepted relative deviation from plate_size_m (not applied yet)."
    )


class WorkspaceConfig(Section):
    """[safety.workspace] The box (robot base frame) every commanded TCP position must lie in."""

    x_m: StrictIntervalM = Field(description="[low, high] along x, metres.")
    y_m: StrictIntervalM = Field(description="[low, high] along y, metres.")
    z_m: StrictIntervalM = Field(description="[low, high] along z, metres.")


class SafetyConfig(Section):
    """[safety] Speed limits and the workspace box."""

    max_speed_m_s: Number = Field(
        default=0.4,
        gt=0.0,
        le=1.0,
        description="No motion may ask for a faster TCP speed, m/s (every [motion] speed must be within it).",
    )
    max_acceleration_m_s2: Number = Field(default=1.0, gt=0.0, le=10.0, description="TCP acceleration of every motion, m/s².")
    max_joint_speed_deg_s: Number = Field(
        default=30.0,
        gt=0.0,
        le=180.0,
        description="Limit of every joint's speed in joint-space moves (home, pre-grasp), deg/s; they are slowed "
        "further so the tool stays within the move's TCP speed (30°/s moves a tool 0.7 m from joint 1 at 0.37 m/s).",
    )
    workspace: WorkspaceConfig
