"""The real cell's config file: one TOML file per robot cell, validated by pydantic models.

Every default is written once, on its section's model (:mod:`.sections`); every error names
the file, the field's TOML path (``robot.ip``), the value and what is valid. Lengths in the
file are metres (keys end in ``_m``), angles degrees (``_deg``); ``cfg.layout``,
``cfg.workspace``, ``cfg.speeds`` and ``cfg.grid`` give metres and radians like the rest of
rmrl. ``examples/real_cell.toml`` is generated from the models (:mod:`.writer`, applied to the
MuJoCo twin's cell by :mod:`rmrl_env.twin.config`; ``dry_run`` envs use that cell's
:func:`~rmrl_env.twin.config.default_config`);
``RealCellConfig.model_json_schema()`` is the file's JSON schema.

Layout of the file::

    schema_version = 1
    calibration_file = "calibration.json"  # relative to the config file
    [robot]        ip, port, connect_timeout_s, motion_timeout_s, tcp_offset_m, arrival_tolerance_m
    [gripper]      model ("bio" | "bio_g2"), open_width_m, speed, force, timeout_s
    [camera]       serial, width, height, fps, frame_timeout_s, reconnect_attempts, undistort, warmup_frames
    [perception]   localiser ("foundation" | "classical"), detector, segmenter, prompt, ...
    [safety]       max_speed_m_s, max_acceleration_m_s2, max_joint_speed_deg_s; [safety.workspace] x_m, y_m, z_m
    [cell]         table_z_m, home_joints_deg; [cell.home] x_m, y_m, z_m, yaw_deg
    [cell.receptacles.box] / [cell.receptacles.shelf]  x_m, y_m, yaw_deg, floor_z_m, clearance_m
    [motion]       the routine's heights and speeds (MotionPlan)
    [reset]        x_m, y_m, yaw_deg: the reset area of initial poses; tolerances, attempts
    [grid]         max_xy_mm, step_xy_mm, max_yaw_deg, step_yaw_deg
    [env]          further CellPlateEnv keywords (image_size, reward_length_m, ...)
"""

from __future__ import annotations

from rmrl_env.real.config.cell_sections import CellConfig, EnvConfig, GridConfig, MotionConfig, ResetConfig
from rmrl_env.real.config.loading import OVERRIDE_KEYS, apply_overrides, config_from_dict, load_config
from rmrl_env.real.config.model import SCHEMA_VERSION, RealCellConfig
from rmrl_env.real.config.sections import CameraConfig, GripperConfig, PerceptionConfig, RobotConfig, SafetyConfig

__all__ = [
    "OVERRIDE_KEYS",
    "SCHEMA_VERSION",
    "CameraConfig",
    "CellConfig",
    "EnvConfig",
    "GridConfig",
    "GripperConfig",
    "MotionConfig",
    "PerceptionConfig",
    "RealCellConfig",
    "ResetConfig",
    "RobotConfig",
    "SafetyConfig",
    "apply_overrides",
    "config_from_dict",
    "load_config",
]
