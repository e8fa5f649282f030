"""Build the simulated cell's backend and env (the ``*-sim-v0`` entry points)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from rmrl_env.backend import Backend
from rmrl_env.cell import MotionPlan
from rmrl_env.env import ENV_KWARGS, GRID_KWARGS, CellPlateEnv, env_kwargs_from
from rmrl_env.errors import ConfigError
from rmrl_env.perception.classical import ClassicalLocaliser
from rmrl_env.protocols import PlateDetection
from rmrl_env.routine import Drivers, PickAndPlace
from rmrl_env.sim.arm import SimArm
from rmrl_env.sim.camera import SimCamera, believed_camera_to_base
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.gripper import SimGripper
from rmrl_env.sim.hand import SimGroundTruth, SimHand
from rmrl_env.sim.world import SimWorld

SIM_KWARGS = ("errors", "cell_seed", "simulate_free_space", "motion")
#: Seed of the sensor noise while the target is measured, once, at construction.
TARGET_MEASUREMENT_SEED = 20240917


def make_sim_backend(
    errors: ErrorSources | None = None, *, simulate_free_space: bool = False, motion: MotionPlan | None = None
) -> Backend:
    """Build the MuJoCo cell: world, drivers, hand, ground truth, and the measured targets."""
    errors = errors or ErrorSources()
    world = SimWorld(errors)
    layout = world.layout(motion=motion)
    arm = SimArm(world, layout.home, simulate_free_space=simulate_free_space)
    gripper = SimGripper(world)
    camera = SimCamera(world, errors)
    localiser = ClassicalLocaliser(believed_camera_to_base(camera.true_camera_to_base(), errors))
    drivers = Drivers(arm=arm, gripper=gripper, camera=camera, localiser=localiser)
    hand = SimHand(world, arm, gripper, surface_z_m=layout.table_z_m)
    routine = PickAndPlace(drivers, layout)

    camera.seed(TARGET_MEASUREMENT_SEED)
    targets: dict[str, PlateDetection] = {}
    for name, receptacle in layout.receptacles.items():
        hand.put(receptacle.pose, receptacle.floor_z_m)
        _, targets[name] = routine.localise()

    return Backend(
        name="sim",
        drivers=drivers,
        layout=layout,
        stager=hand,
        targets=targets,
        ground_truth=SimGroundTruth(world),
        seed_fn=camera.seed,
        close_fn=lambda: None,
        description={"errors": asdict(errors), "simulate_free_space": simulate_free_space},
    )


def make_sim_env(task: str = "place", **kwargs: Any) -> CellPlateEnv:
    """Create the simulated env; ``kwargs`` override the defaults.

    Env: ``image_size``, ``reward_length_m``, ``scene_jitter_m``, ``scene_jitter_rad``,
    ``render_mode``, and the candidate grid as ``grid=CandidateGrid(...)`` or
    ``grid_max_xy_mm``, ``grid_step_xy_mm``, ``grid_max_yaw_deg``, ``grid_step_yaw_deg``.
    Sim: ``errors=ErrorSources(...)`` or any of its fields by name (e.g.
    ``tcp_offset_mm=(0, 0, 0)``), ``cell_seed`` (draw a cell with :meth:`ErrorSources.sample`),
    ``simulate_free_space``, ``motion=MotionPlan(...)``.
    """
    valid = set(ENV_KWARGS) | set(GRID_KWARGS) | set(SIM_KWARGS) | set(ErrorSources.field_names())
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        raise TypeError(f"unknown keyword argument(s) {unknown} for the sim env; valid: {sorted(valid)}")

    env_kwargs = env_kwargs_from(kwargs)

    errors = kwargs.get("errors")
    if errors is not None and not isinstance(errors, ErrorSources):
        if isinstance(errors, dict):
            errors = ErrorSources().replace(**errors)
        else:
            raise ConfigError(f"errors must be an ErrorSources or a dict of its fields, got {type(errors).__name__}")
    if kwargs.get("cell_seed") is not None:
        if errors is not None:
            raise ConfigError("give either errors or cell_seed, not both")
        errors = ErrorSources.sample(np.random.default_rng(int(kwargs["cell_seed"])))
    overrides = {k: kwargs[k] for k in ErrorSources.field_names() if k in kwargs}
    errors = (errors or ErrorSources()).replace(**overrides) if overrides else errors

    backend = make_sim_backend(
        errors, simulate_free_space=bool(kwargs.get("simulate_free_space", False)), motion=kwargs.get("motion")
    )
    return CellPlateEnv(backend, task, **env_kwargs)


def make_place_env(**kwargs: Any) -> CellPlateEnv:
    """``CellPlatePlace-sim-v0``: the plate into the target box (3 mm clearance per side)."""
    return make_sim_env("place", **kwargs)


def make_shelf_env(**kwargs: Any) -> CellPlateEnv:
    """``CellPlateShelf-sim-v0``: the plate onto the shelf slot (1.5 mm clearance per side)."""
    return make_sim_env("shelf", **kwargs)
