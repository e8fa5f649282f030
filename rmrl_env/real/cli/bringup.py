"""``rmrl bringup``: the staged bring-up of a real cell (:mod:`rmrl_env.real.bringup`).

::

    rmrl bringup --config cell.toml [--yes] [--out DIR] [--speed-scale 0.25] [--place table|box]
    rmrl bringup --twin [--config cell.toml] ...   rehearse on the MuJoCo twin (emulated controller)

Each stage is announced and waits for "y" (``--yes`` runs them all). Exit code 0 when every
stage passed, 1 when one failed or the operator stopped, 2 for a mistake on the command line
or in the config (checked before anything connects).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rmrl_env.errors import ConfigError
from rmrl_env.real.bringup import SPEED_SCALE, TABLE, Bringup


def _ask(line: str) -> bool:
    try:
        return input(f"{line}\n  go ahead? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


@contextlib.contextmanager
def twin_rehearsal(config: Any, folder: Path) -> Iterator[tuple[Any, Any]]:
    """Start the MuJoCo twin (an emulated controller and a software D435) set up as a lab would
    be; yields the config pointed at it and the :class:`~rmrl_env.twin.backend.TwinCell`."""
    from rmrl_env.perception.calibration import save_calibration
    from rmrl_env.sim.error_sources import ErrorSources
    from rmrl_env.twin.backend import TWIN_GRIPPER, initial_pose, measure_calibration, start_twin, twin_config

    errors = ErrorSources()
    model = TWIN_GRIPPER["model"] if config is None else config.gripper.model
    twin = start_twin(errors, time_scale=1.0, folder=folder / "twin", gripper_model=str(model), lifetime_s=3600.0)
    try:
        calibration_file = twin.folder / "calibration.json"
        cfg = twin_config(twin, config, calibration_file)
        save_calibration(calibration_file, measure_calibration(twin, errors))
        twin.put_plate(initial_pose(cfg, None), cfg.layout.table_z_m)
        yield cfg, twin
    finally:
        twin.close()


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bringup`` to the ``rmrl`` parser (the ``rmrl.commands`` plug-in protocol)."""
    parser = subparsers.add_parser("bringup", help="staged bring-up of the real cell, one device at a time, slowly")
    _fill(parser)
    parser.set_defaults(func=run)
    return parser


def _fill(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="the cell's TOML file (required without --twin)")
    parser.add_argument("--yes", action="store_true", help="run every stage without asking")
    parser.add_argument("--out", type=Path, help="folder for bringup.json and the camera image (default: bringup-DATE)")
    parser.add_argument(
        "--speed-scale", type=float, default=SPEED_SCALE, help="fraction of the config's speeds (default %(default)g)"
    )
    parser.add_argument(
        "--place", default=TABLE, help="where the pick-and-place puts the plate: table (the reset area) or a receptacle"
    )
    parser.add_argument("--twin", action="store_true", help="rehearse on the MuJoCo twin instead of the real cell")


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``bringup`` command."""
    from rmrl_env.real.config import load_config

    try:
        if args.config is None and not args.twin:
            raise ConfigError("--config is required: the cell's TOML file (or --twin to rehearse on the twin)")
        if not 0.0 < args.speed_scale <= 1.0:
            raise ConfigError(f"--speed-scale must be in (0, 1], got {args.speed_scale}")
        cfg = None if args.config is None else load_config(args.config)
        if cfg is not None and args.place != TABLE:
            cfg.layout.receptacle(args.place)
    except ConfigError as err:
        print(f"rmrl bringup: error: {err}", file=sys.stderr)
        return 2
    out = args.out or Path(time.strftime("bringup-%Y%m%d-%H%M%S"))
    confirm = None if args.yes else _ask
    if not args.twin:
        assert cfg is not None
        return Bringup(cfg, out, confirm=confirm, speed_scale=args.speed_scale, place=args.place).run()
    with twin_rehearsal(cfg, out) as (twin_cfg, twin):
        return Bringup(
            twin_cfg, out, confirm=confirm, speed_scale=args.speed_scale, place=args.place, find_camera=twin.physics.device.find
        ).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rmrl bringup", description=__doc__.split("\n\n")[0])
    _fill(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
