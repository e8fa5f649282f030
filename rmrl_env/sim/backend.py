"""Build the simulated cell's :class:`~rmrl_env.backend.Backend` (the env is joined to it by
:mod:`rmrl_env.make`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import cv2
import numpy as np

from rmrl_env.backend import Backend
from rmrl_env.cell import MotionPlan, Receptacle
from rmrl_env.errors import ConfigError, PlateNotFoundError
from rmrl_env.perception.classical import ClassicalLocaliser
from rmrl_env.protocols import PlateDetection, RGBDFrame
from rmrl_env.routine import Drivers, PickAndPlace
from rmrl_env.sim.arm import SimArm
from rmrl_env.sim.camera import SimCamera, believed_camera_to_base
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.gl import check_gl_usable, note_gl_context
from rmrl_env.sim.gripper import SimGripper
from rmrl_env.sim.hand import SimGroundTruth, SimHand
from rmrl_env.sim.kinematics import ArmKinematics
from rmrl_env.sim.teaching import TrueArm, teach
from rmrl_env.sim.world import SimWorld

#: Seed of the sensor noise while the target is measured, once, at construction.
TARGET_MEASUREMENT_SEED = 20240917


class SimLocaliser:
    """The classical localiser, its "plate not found" naming what causes it in the sim: the real
    camera's advice (check the lighting) does not apply to a rendered bench, and this message is
    logged during training whenever a trial loses the plate."""

    def __init__(self, localiser: ClassicalLocaliser) -> None:
        self.localiser = localiser

    def localise(self, frame: RGBDFrame) -> PlateDetection:
        try:
            return self.localiser.localise(frame)
        except PlateNotFoundError as err:
            found = str(err).split(". ", 1)[0]  # what the image shows, without the real camera's advice
            raise PlateNotFoundError(
                f"{found}: in the sim the plate has left the camera's view (dropped off the bench or carried away) "
                "or is hidden under the arm"
            ) from None


def make_sim_backend(
    errors: ErrorSources | None = None,
    *,
    simulate_free_space: bool = False,
    motion: MotionPlan | None = None,
    plate_mix: Mapping[str, float] | None = None,
    position_method: str = "centroid",
) -> Backend:
    """Build the MuJoCo cell: world, drivers, hand, ground truth, and the measured targets.

    The arm's controller plans on the nominal kinematics; the place poses are taught on the true
    arm (the commanded pose that puts the grasp centre over each true slot, as a lab teaches
    them by jogging); the targets are measured by the camera with a plate seated by hand in each
    true slot: a standard plate (key ``"box"``) and every other type of the mix
    (``"box:deep_well"``), as a lab measures each plate type it uses. ``plate_mix``: share of each plate type among staged plates.

    Sets OpenCV to one worker thread for the whole process (``cv2.setNumThreads(1)``; call it again
    after making the env to change it): on frames this size its threads cost CPU time without
    saving wall time (``benchmarks/sim_speed.py``: CPU time 1.57× the physics with one thread,
    1.67–1.70× with two, wall time the same), and the benchmark's workers already fill the cores.
    The frames and detections do not depend on it.
    """
    errors = errors or ErrorSources()
    check_gl_usable()
    cv2.setNumThreads(1)
    world = SimWorld(errors)
    kin = ArmKinematics()
    arm = SimArm(world, kin=kin, simulate_free_space=simulate_free_space)
    slots = world.slots()
    untaught = world.layout(arm.home, slots, motion=motion)
    true_arm = TrueArm(world)
    taught = {name: teach(true_arm, kin, slot, untaught.grasp_z_m(slot.floor_z_m)) for name, slot in slots.items()}
    layout = world.layout(arm.home, taught, motion=motion)
    gripper = SimGripper(world)
    camera = SimCamera(world, errors)
    note_gl_context()
    camera_to_base = believed_camera_to_base(camera.true_camera_to_base(), errors)
    localiser = SimLocaliser(ClassicalLocaliser(camera_to_base, position_method=position_method))
    drivers = Drivers(arm=arm, gripper=gripper, camera=camera, localiser=localiser)
    hand = SimHand(world, arm, gripper, surface_z_m=layout.table_z_m, plate_mix=plate_mix)
    routine = PickAndPlace(drivers, layout)

    targets = _measure_targets(world, camera, hand, routine, slots)

    def seed(value: int | None) -> None:
        camera.seed(value)
        hand.seed(value)

    return Backend(
        name="sim",
        routine=routine,
        stager=hand,
        targets=targets,
        ground_truth=SimGroundTruth(world),
        seed_fn=seed,
        close_fn=lambda: None,
        camera_to_base=camera_to_base,
        description={
            "errors": asdict(errors),
            "simulate_free_space": simulate_free_space,
            "plate_mix": hand.plate_mix,
            "position_method": position_method,
        },
    )


def _measure_targets(
    world: SimWorld, camera: SimCamera, hand: SimHand, routine: PickAndPlace, slots: Mapping[str, Receptacle]
) -> dict[str, PlateDetection]:
    """The targets as the camera measures them, a plate of each type of the mix seated by hand in
    each true slot (``"box"`` for the standard plate, ``"box:deep_well"`` for another type)."""
    camera.seed(TARGET_MEASUREMENT_SEED)
    targets: dict[str, PlateDetection] = {}
    for name, slot in slots.items():
        for plate in ("standard", *sorted(set(hand.plate_mix) - {"standard"})):
            world.set_plate_type(plate)
            hand.put(slot.pose, slot.floor_z_m)
            key = name if plate == "standard" else f"{name}:{plate}"
            targets[key] = routine.localise().detection
    world.set_plate_type("standard")
    return targets


def resolve_error_sources(
    errors: ErrorSources | Mapping[str, Any] | None, cell_seed: int | None, overrides: Mapping[str, Any]
) -> ErrorSources:
    """The error sources of a cell from ``gym.make``'s sim keywords.

    Args:
        errors: a whole :class:`ErrorSources`, or a dict of some of its fields (the rest default).
        cell_seed: draw a whole cell with :meth:`ErrorSources.sample` (not with ``errors``).
        overrides: single fields by name, applied last (``tcp_offset_mm=(0, 0, 0)``).
    """
    if errors is not None and not isinstance(errors, ErrorSources):
        if not isinstance(errors, Mapping):
            raise ConfigError(f"errors must be an ErrorSources or a dict of its fields, got {type(errors).__name__}")
        errors = ErrorSources().replace(**errors)
    if cell_seed is not None:
        if isinstance(cell_seed, bool) or not isinstance(cell_seed, (int, np.integer)) or cell_seed < 0:
            raise ConfigError(f"cell_seed must be a whole number >= 0, got {cell_seed!r}")
        if errors is not None:
            raise ConfigError("give either errors or cell_seed, not both")
        errors = ErrorSources.sample(np.random.default_rng(int(cell_seed)))
    errors = errors or ErrorSources()
    return errors.replace(**overrides) if overrides else errors
