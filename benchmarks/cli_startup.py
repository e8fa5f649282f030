"""Start-up time of the ``rmrl`` command line: ``rmrl --help`` and ``rmrl train --help``.

Usage: ``python benchmarks/cli_startup.py [--repeats N]``

Each is run as a fresh process (the median of N), beside two references measured in the same
run: a bare interpreter (``python -c pass``, the floor) and ``python -c "import torch"`` (what the
CLI loaded before its heavy imports were made lazy). The ratios to the bare interpreter are
printed with the absolute times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _median_s(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "rmrl --help": [str(BIN / "rmrl"), "--help"],
        "rmrl train --help": [str(BIN / "rmrl"), "train", "--help"],
    }
    floor = None
    print(f"{'command':28s} {'median s':>9s} {'x bare python':>14s}")
    for name, cmd in rows.items():
        t = _median_s(cmd, args.repeats)
        floor = floor or t
        print(f"{name:28s} {t:9.3f} {t / floor:14.1f}")


if __name__ == "__main__":
    main()
