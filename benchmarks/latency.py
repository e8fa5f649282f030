"""Shared by the latency benchmarks (``agents_speed.py``, ``rl100_speed.py``): one way to time a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


def time_ms(fn: Callable[[], object], repeats: int, warmup: int = 3) -> tuple[float, float, float]:
    """(median, p10, p90) wall time of ``fn()`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    q = np.percentile(samples, [10, 90])
    return statistics.median(samples), float(q[0]), float(q[1])
