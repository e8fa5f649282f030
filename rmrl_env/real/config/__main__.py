"""``python -m rmrl_env.real.config``: the example config, the JSON schema, or a check of a file.

::

    python -m rmrl_env.real.config example [--output PATH]   the commented example (examples/real_cell.toml)
    python -m rmrl_env.real.config schema  [--output PATH]   the file's JSON schema
    python -m rmrl_env.real.config check   PATH              validate a cell's file (exit code 2 if invalid)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rmrl_env.errors import ConfigError
from rmrl_env.real.config.loading import load_config
from rmrl_env.real.config.model import RealCellConfig


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rmrl_env.real.config", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("example", "the commented example config"), ("schema", "the config's JSON schema")):
        p = sub.add_parser(name, help=f"write {what}")
        p.add_argument("--output", type=Path, help="file to write (default: standard output)")
    check = sub.add_parser("check", help="validate a real-cell config file")
    check.add_argument("path", type=Path)
    args = parser.parse_args(argv)

    if args.command == "check":
        try:
            cfg = load_config(args.path)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"{args.path}: valid (robot {cfg.robot.ip}, receptacles {sorted(cfg.cell.receptacles)})")
        return 0
    if args.command == "example":
        from rmrl_env.twin.config import example_toml  # the example is the twin's cell

        text = example_toml()
    else:
        text = json.dumps(RealCellConfig.model_json_schema(), indent=2) + "\n"
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
