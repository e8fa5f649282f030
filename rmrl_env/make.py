"""The ``gym.make`` entry points: one place that routes keyword arguments to the env and a backend.

``gym.make("CellPlatePlace-sim-v0", **kwargs)`` lands in :func:`make_sim_env`, the real ids in
:func:`make_real_env`. Each keyword goes to exactly one of:

* the env (:class:`~rmrl_env.env.CellPlateEnv`): :data:`ENV_KWARGS`, and :data:`GRID_KWARGS`
  (``grid_max_xy_mm=...`` changes one field of the candidate grid);
* the sim backend: :data:`SIM_KWARGS` and any :class:`~rmrl_env.sim.error_sources.ErrorSources`
  field by name;
* the real backend: the config overrides of :data:`rmrl_env.real.config.OVERRIDE_KEYS`, and the
  injection points of :data:`HARDWARE_KWARGS`.

An unknown keyword is a ``TypeError`` that lists the valid ones. The backends are imported
lazily, so making a sim env never imports the xArm SDK and vice versa.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmrl_env.env import TASK_RECEPTACLES, CellPlateEnv
from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid

if TYPE_CHECKING:
    from rmrl_env.backend import Backend
    from rmrl_env.real.config import RealCellConfig
    from rmrl_env.sim.error_sources import ErrorSources

#: Keywords that configure the env itself (any backend).
ENV_KWARGS = (
    "image_size",
    "grid",
    "reward_length_m",
    "scene_jitter_m",
    "scene_jitter_rad",
    "render_mode",
    "action_type",
    "plate_crop",
)
#: Keywords that change one field of the candidate grid: ``grid_<field>``.
GRID_KWARGS = {f"grid_{f.name}": f.name for f in fields(CandidateGrid)}
#: Keywords of the sim backend (besides the error-source fields by name).
SIM_KWARGS = ("errors", "cell_seed", "simulate_free_space", "motion", "plate_mix", "position_method")
#: Keywords of the twin backend (besides the sim's error sources: ``errors``, ``cell_seed`` and the
#: :class:`~rmrl_env.sim.error_sources.ErrorSources` fields by name).
TWIN_KWARGS = ("time_scale", "twin_folder", "plate_seed", "reset_log", "before_connect", "calibration_marker")
#: Injection points of the real backend, for tests and other hardware: an SDK object factory, a
#: RealSense device, a ready localiser, where to log resets.
HARDWARE_KWARGS = ("api_factory", "camera_device", "localiser_instance", "reset_log")


def _check_task(task: str) -> None:
    if task not in TASK_RECEPTACLES:
        raise ConfigError(f"task must be one of {sorted(TASK_RECEPTACLES)}, got {task!r}")


def _reject_unknown(kwargs: dict[str, Any], valid: set[str], backend: str) -> None:
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        raise TypeError(f"unknown keyword argument(s) {unknown} for the {backend} env; valid: {sorted(valid)}")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    return float(value)


def flag(name: str, value: Any) -> bool:
    """A boolean keyword: ``True``/``False`` only (the string ``"false"`` would be truthy)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false (a boolean), got {value!r} ({type(value).__name__})")
    return value


def grid_from(value: Any) -> CandidateGrid:
    """A :class:`CandidateGrid`, or one built from a dict of its fields (what JSON ``--env-kwargs`` gives)."""
    if isinstance(value, CandidateGrid):
        return value
    if isinstance(value, dict):
        names = [f.name for f in fields(CandidateGrid)]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ConfigError(f"grid has unknown field(s) {unknown}; its fields are {names}")
        return CandidateGrid(**{k: _number(f"grid.{k}", v) for k, v in value.items()})
    raise ConfigError(f"grid must be a CandidateGrid or a dict of its fields, got {type(value).__name__}")


def env_kwargs_from(kwargs: dict[str, Any], base_grid: CandidateGrid | None = None) -> dict[str, Any]:
    """The :class:`CellPlateEnv` keywords among ``gym.make`` keywords.

    ``grid_*`` keywords change single fields of ``base_grid`` (default: the default grid) and
    cannot be combined with a whole ``grid=CandidateGrid(...)``.
    """
    env_kwargs = {k: kwargs[k] for k in ENV_KWARGS if k in kwargs}
    if "grid" in env_kwargs:
        env_kwargs["grid"] = grid_from(env_kwargs["grid"])
    grid_changes = {GRID_KWARGS[k]: _number(k, kwargs[k]) for k in GRID_KWARGS if k in kwargs}
    if grid_changes and "grid" in env_kwargs:
        raise ConfigError("give either grid=CandidateGrid(...) or grid_* keyword arguments, not both")
    if "grid" not in env_kwargs and (grid_changes or base_grid is not None):
        env_kwargs["grid"] = replace(base_grid or CandidateGrid(), **grid_changes)
    return env_kwargs


def _cell_errors(kwargs: dict[str, Any]) -> ErrorSources:
    """The simulated cell's error sources from ``errors``, ``cell_seed`` and error-source fields by name."""
    from rmrl_env.sim.backend import resolve_error_sources
    from rmrl_env.sim.error_sources import ErrorSources

    fields_given = {k: kwargs[k] for k in ErrorSources.field_names() if k in kwargs}
    return resolve_error_sources(kwargs.get("errors"), kwargs.get("cell_seed"), fields_given)


def _loaded(config: str | Path | RealCellConfig) -> RealCellConfig:
    from rmrl_env.real.config import RealCellConfig, load_config

    return config if isinstance(config, RealCellConfig) else load_config(config)


def _check_receptacle(cfg: RealCellConfig, task: str) -> None:
    if TASK_RECEPTACLES[task] not in cfg.layout.receptacles:
        raise ConfigError(f"the {task!r} task needs cell.receptacles.{TASK_RECEPTACLES[task]} in the config")


def _env_over(backend: Backend, task: str, env_kwargs: dict[str, Any]) -> CellPlateEnv:
    """The env over ``backend``; the backend's devices are released if the env cannot be built."""
    try:
        return CellPlateEnv(backend, task, **env_kwargs)
    except BaseException:
        backend.close()
        raise


def make_sim_env(task: str = "place", **kwargs: Any) -> CellPlateEnv:
    """Create the simulated env; ``kwargs`` override the defaults.

    Env: ``image_size``, ``reward_length_m``, ``scene_jitter_m``, ``scene_jitter_rad``,
    ``render_mode``, ``action_type`` (``"grid"`` or ``"continuous"``), ``plate_crop`` (``True`` or
    ``(along_m, across_m)``: add the plate-centred crop observation), and the candidate grid as ``grid=CandidateGrid(...)`` or
    ``grid_max_xy_mm``, ``grid_step_xy_mm``, ``grid_max_yaw_deg``, ``grid_step_yaw_deg``.
    Sim: ``errors=ErrorSources(...)`` (or a dict of its fields) or any of its fields by name
    (e.g. ``tcp_offset_mm=(0, 0, 0)``), ``cell_seed`` (draw a whole cell with
    :meth:`ErrorSources.sample`), ``simulate_free_space``, ``motion=MotionPlan(...)``,
    ``plate_mix={"standard": 0.5, "deep_well": 0.5}`` (share of each plate type per scene),
    ``position_method="centroid"`` or ``"bbox"`` (how the localiser reduces the plate's mask).
    """
    from rmrl_env.sim.backend import make_sim_backend
    from rmrl_env.sim.error_sources import ErrorSources

    _check_task(task)
    _reject_unknown(kwargs, set(ENV_KWARGS) | set(GRID_KWARGS) | set(SIM_KWARGS) | set(ErrorSources.field_names()), "sim")
    env_kwargs = env_kwargs_from(kwargs)
    backend = make_sim_backend(
        _cell_errors(kwargs),
        simulate_free_space=flag("simulate_free_space", kwargs.get("simulate_free_space", False)),
        motion=kwargs.get("motion"),
        plate_mix=kwargs.get("plate_mix"),
        position_method=kwargs.get("position_method", "centroid"),
    )
    return CellPlateEnv(backend, task, **env_kwargs)


def make_real_env(
    task: str = "place", config: str | Path | RealCellConfig | None = None, dry_run: bool = False, **kwargs: Any
) -> CellPlateEnv:
    """Create the real-cell env.

    Args:
        task: ``"place"`` or ``"shelf"``.
        config: path of the cell's TOML config (or a loaded :class:`RealCellConfig`); optional
            with ``dry_run``.
        dry_run: build env and spaces without hardware.
        kwargs: config overrides (:data:`rmrl_env.real.config.OVERRIDE_KEYS`: ``robot_ip``,
            ``robot_port``, ``camera_serial``, ``calibration_file``, ``localiser``, ``device``,
            ``detector``, ``segmenter``), env keywords (:data:`ENV_KWARGS`, ``grid_*``), and the
            injection points :data:`HARDWARE_KWARGS`.
    """
    from rmrl_env.real.backend import make_real_backend
    from rmrl_env.real.config import OVERRIDE_KEYS
    from rmrl_env.twin.config import default_config

    _check_task(task)
    _reject_unknown(kwargs, set(OVERRIDE_KEYS) | set(ENV_KWARGS) | set(GRID_KWARGS) | set(HARDWARE_KWARGS), "real")
    if config is None and not dry_run:
        raise ConfigError(
            "the real env needs config=PATH to the cell's TOML file (see examples/real_cell.toml); dry_run=True works without"
        )
    cfg = (default_config() if config is None else _loaded(config)).with_overrides(
        **{k: kwargs[k] for k in OVERRIDE_KEYS if k in kwargs}
    )
    _check_receptacle(cfg, task)
    env_kwargs = {**cfg.env_kwargs, **env_kwargs_from(kwargs, base_grid=cfg.grid)}
    backend = make_real_backend(cfg, dry_run=dry_run, **{k: kwargs[k] for k in HARDWARE_KWARGS if k in kwargs})
    return _env_over(backend, task, env_kwargs)


def make_twin_env(task: str = "place", config: str | Path | RealCellConfig | None = None, **kwargs: Any) -> CellPlateEnv:
    """Create the twin env: the real cell's drivers, config, safety and stager against an xArm
    controller emulator and the MuJoCo cell (:mod:`rmrl_env.twin.backend`).

    Args:
        task: ``"place"`` or ``"shelf"``.
        config: a lab's TOML config to rehearse (default: the twin's generated one).
        kwargs: the sim's cell (``errors``, ``cell_seed``, error-source fields by name), the twin's
            :data:`TWIN_KWARGS` (``time_scale``: controller seconds per wall second, default 1;
            ``twin_folder``: where the generated config and calibration are written, default a
            temporary folder removed at ``close``; ``plate_seed``: where the plate starts;
            ``reset_log``; ``before_connect``: called with the twin before the drivers connect;
            ``calibration_marker``: the hand-eye calibration board on the gripper, default False),
            config overrides (:data:`rmrl_env.real.config.OVERRIDE_KEYS` but the
            robot's address and the calibration file, which are the twin's) and env keywords.
    """
    from rmrl_env.real.config import OVERRIDE_KEYS
    from rmrl_env.sim.error_sources import ErrorSources
    from rmrl_env.twin.backend import make_twin_backend

    _check_task(task)
    owned = {"robot_ip", "robot_port", "calibration_file", "camera_serial"}
    overrides = {k: kwargs[k] for k in OVERRIDE_KEYS if k in kwargs}
    taken = sorted(owned & set(overrides))
    if taken:
        raise ConfigError(f"{taken} are the twin's own (its emulator's address, its calibration and camera); drop them")
    valid = set(OVERRIDE_KEYS) | set(ENV_KWARGS) | set(GRID_KWARGS) | set(TWIN_KWARGS) | {"errors", "cell_seed"}
    _reject_unknown(kwargs, valid | set(ErrorSources.field_names()), "twin")
    lab = None if config is None else _loaded(config)
    if lab is not None:  # the twin's own config has every receptacle
        _check_receptacle(lab, task)
    backend, cfg = make_twin_backend(
        _cell_errors(kwargs),
        lab,
        time_scale=_number("time_scale", kwargs.get("time_scale", 1.0)),
        folder=kwargs.get("twin_folder"),
        plate_seed=kwargs.get("plate_seed"),
        reset_log=kwargs.get("reset_log"),
        overrides=overrides,
        before_connect=kwargs.get("before_connect"),
        calibration_marker=kwargs.get("calibration_marker", False),
    )
    return _env_over(backend, task, {**cfg.env_kwargs, **env_kwargs_from(kwargs, base_grid=cfg.grid)})


def make_sim_place(**kwargs: Any) -> CellPlateEnv:
    """``CellPlatePlace-sim-v0``: the plate into the target box (3 mm clearance per side)."""
    return make_sim_env("place", **kwargs)


def make_sim_shelf(**kwargs: Any) -> CellPlateEnv:
    """``CellPlateShelf-sim-v0``: the plate onto the shelf slot (1.5 mm clearance per side)."""
    return make_sim_env("shelf", **kwargs)


def make_real_place(**kwargs: Any) -> CellPlateEnv:
    """``CellPlatePlace-real-v0``: the plate into the target box."""
    return make_real_env("place", **kwargs)


def make_real_shelf(**kwargs: Any) -> CellPlateEnv:
    """``CellPlateShelf-real-v0``: the plate onto the shelf slot."""
    return make_real_env("shelf", **kwargs)


def make_twin_place(**kwargs: Any) -> CellPlateEnv:
    """``CellPlatePlace-twin-v0``: the real drivers on the emulated controller and the MuJoCo cell, into the box."""
    return make_twin_env("place", **kwargs)


def make_twin_shelf(**kwargs: Any) -> CellPlateEnv:
    """``CellPlateShelf-twin-v0``: the same, onto the shelf slot."""
    return make_twin_env("shelf", **kwargs)
