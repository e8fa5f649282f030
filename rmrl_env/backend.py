"""What a backend (sim or real) hands to the env: the one routine over its drivers, the cell's
geometry, and a few services.

Layers, bottom up: :mod:`~rmrl_env.protocols` and value types; perception, cell, grid, reward;
the :mod:`~rmrl_env.routine`; this :class:`Backend`, which owns *the one*
:class:`~rmrl_env.routine.PickAndPlace` of an env; the env (:mod:`rmrl_env.env`, the MDP only).
The backends (:mod:`rmrl_env.sim`, :mod:`rmrl_env.real`) build a Backend and never import the
env; :mod:`rmrl_env.make` joins the two for ``gym.make``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from rmrl_env.cell import CellLayout, Receptacle
from rmrl_env.protocols import PlanarPose, PlateDetection, PlateStager, RigidTransform, wrap_half_turn
from rmrl_env.routine import Drivers, PickAndPlace


@runtime_checkable
class SeatingJudge(Protocol):
    """Decides whether a placed plate is seated in its receptacle."""

    def is_seated(self, receptacle: Receptacle, target: PlateDetection, final: PlateDetection) -> bool:
        """``target`` is the plate as seen seated at the receptacle; ``final`` as seen now."""


@runtime_checkable
class GroundTruth(Protocol):
    """Privileged state only a simulator knows."""

    def plate_pose(self) -> PlanarPose:
        """The plate's true pose (yaw wrapped to [-pi/2, pi/2))."""

    def plate_seated(self, receptacle: Receptacle) -> bool:
        """Whether the plate truly rests flat inside the receptacle."""

    def slot_pose(self, receptacle: Receptacle) -> PlanarPose:
        """The receptacle's true slot (its taught place pose may differ by the arm's error)."""

    def plate_type(self) -> str:
        """The type of the plate on the table (a key of :data:`rmrl_env.cell.PLATE_TYPES`)."""

    def plate_tilt_rad(self) -> float:
        """The angle between the plate's normal and the vertical (0 flat, pi upside down)."""


@dataclass(frozen=True)
class PerceivedSeating:
    """Judge seating from the camera alone (the real cell's judge).

    A plate is seated when its measured centre is within the receptacle's clearance of the
    measured seated pose, its yaw within ``max_yaw_rad``, and its top face no higher than
    ``max_height_error_m`` above where a seated plate's is (a plate on a rim sits higher).
    """

    max_yaw_rad: float = math.radians(1.5)
    max_height_error_m: float = 0.003

    def is_seated(self, receptacle: Receptacle, target: PlateDetection, final: PlateDetection) -> bool:
        dx = final.pose.x_m - target.pose.x_m
        dy = final.pose.y_m - target.pose.y_m
        dyaw = abs(wrap_half_turn(final.pose.yaw_rad - target.pose.yaw_rad))
        return (
            math.hypot(dx, dy) <= receptacle.clearance_m
            and dyaw <= self.max_yaw_rad
            and final.top_z_m - target.top_z_m <= self.max_height_error_m
        )


@dataclass
class Backend:
    """Everything the env needs from a backend.

    Attributes:
        name: ``"sim"``, ``"real"`` or ``"twin"``.
        routine: the one pick-and-place routine over the backend's drivers and cell layout;
            trials, re-localisation and autonomous resets all go through it (so its
            ``localise_attempts`` holds everywhere).
        stager: puts the plate at an initial pose (reset).
        targets: the plate as localised when seated in each receptacle, by receptacle name
            (the paper's P^target: measured by the same camera, once).
        judge: decides seating (task success).
        ground_truth: the simulator's privileged state, ``None`` on the real cell.
        seed_fn: reseeds the backend's own randomness (sensor noise, hand jitter).
        close_fn: releases devices.
        description: what configures the backend beyond the layout (the sim's error sources,
            the real cell's config), JSON-able; hashed into the env's ``config_hash``.
        handles: objects a backend exposes to tools and tests by name (the twin's
            :class:`~rmrl_env.twin.backend.TwinCell` as ``"twin"``, for fault injection).
        camera_to_base: the believed camera-to-base extrinsics the localiser uses (from the
            calibration); the env's ``plate_crop`` projects the table through them.
    """

    name: str
    routine: PickAndPlace
    stager: PlateStager
    targets: dict[str, PlateDetection]
    judge: SeatingJudge = field(default_factory=PerceivedSeating)
    ground_truth: GroundTruth | None = None
    seed_fn: Callable[[int | None], None] | None = None
    close_fn: Callable[[], None] | None = None
    description: dict[str, Any] = field(default_factory=dict)
    handles: dict[str, Any] = field(default_factory=dict)
    camera_to_base: RigidTransform | None = None

    @property
    def drivers(self) -> Drivers:
        """Arm, gripper, camera and localiser (those of :attr:`routine`)."""
        return self.routine.drivers

    @property
    def layout(self) -> CellLayout:
        """The cell's geometry (that of :attr:`routine`)."""
        return self.routine.layout

    def seed(self, seed: int | None) -> None:
        if self.seed_fn is not None:
            self.seed_fn(seed)

    def close(self) -> None:
        if self.close_fn is not None:
            self.close_fn()
