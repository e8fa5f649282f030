"""The rest-to-rest trapezoidal speed profile of an arm's moves, for the sim arm and the emulated controller.

Units: whatever unit the distance, speed and acceleration share (m, m/s, m/s² in the sim; mm,
mm/s, mm/s² or rad, rad/s, rad/s² in the controller emulator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Trapezoid:
    """Rest-to-rest trapezoidal (or triangular, when the cruise speed is never reached) profile.

    Attributes:
        distance: path length (≥ 0).
        speed: cruise speed (> 0).
        acc: acceleration and deceleration (> 0).
    """

    distance: float
    speed: float
    acc: float

    def __post_init__(self) -> None:
        if self.distance < 0 or not math.isfinite(self.distance):
            raise ValueError(f"trapezoid distance must be finite and >= 0, got {self.distance}")
        if self.speed <= 0 or self.acc <= 0:
            raise ValueError(f"trapezoid speed and acceleration must be > 0, got {self.speed}, {self.acc}")

    @cached_property
    def peak_speed(self) -> float:
        """The highest speed reached (the cruise speed, or less on a short move)."""
        return min(self.speed, math.sqrt(self.distance * self.acc))

    @cached_property
    def duration(self) -> float:
        """Total time of the move."""
        if self.distance <= self.speed**2 / self.acc:  # triangular: the cruise speed is never reached
            return 2.0 * math.sqrt(self.distance / self.acc)
        return self.distance / self.speed + self.speed / self.acc

    def position(self, t: float) -> float:
        """Distance covered at time ``t`` after the start (clamped to [0, distance])."""
        v, a, total = self.peak_speed, self.acc, self.duration
        if t <= 0.0 or total == 0.0:
            return 0.0
        if t >= total:
            return self.distance
        t_acc = v / a
        if t <= t_acc:
            return 0.5 * a * t * t
        if t >= total - t_acc:
            rest = total - t
            return self.distance - 0.5 * a * rest * rest
        return 0.5 * a * t_acc * t_acc + v * (t - t_acc)

    def fraction(self, t: float) -> float:
        """Share of the distance covered at time ``t`` (0 to 1)."""
        return min(max(self.position(t) / self.distance, 0.0), 1.0) if self.distance > 0 else 1.0


__all__ = ["Trapezoid"]
