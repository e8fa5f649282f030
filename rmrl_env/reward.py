"""The reward of the MDP (paper eq. 9-11) with an explicit length scale.

``e_trans = ‖t_final − t_target‖₂`` (m), ``e_rot = 1 − cos(ψ_final − ψ_target)`` and
``r = exp(−(e_trans / L + e_rot))``. The paper writes ``exp(−(e_trans + e_rot))``; its tables
are consistent with translation errors expressed in units of L = 0.1 m (2.1 mm → 0.979,
3.0 mm → 0.970, 5.8 mm → 0.944), so L is a parameter with that default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rmrl_env.protocols import PlanarPose, wrap_half_turn


@dataclass(frozen=True)
class PlacementError:
    """Error of a final pose against the target.

    Attributes:
        e_trans_m: Euclidean distance of the centres, metres.
        e_yaw_rad: signed yaw difference wrapped to [-pi/2, pi/2) (a plate looks the same after
            a half turn), radians.
    """

    e_trans_m: float
    e_yaw_rad: float

    @property
    def e_rot(self) -> float:
        """``1 − cos(Δψ)`` (dimensionless, eq. 10)."""
        return 1.0 - math.cos(self.e_yaw_rad)

    @property
    def e_trans_mm(self) -> float:
        return 1000.0 * self.e_trans_m

    @property
    def e_rot_deg(self) -> float:
        """The absolute yaw error in degrees (what the paper's tables call e_rot)."""
        return math.degrees(abs(self.e_yaw_rad))


def placement_error(final: PlanarPose, target: PlanarPose) -> PlacementError:
    return PlacementError(
        e_trans_m=math.hypot(final.x_m - target.x_m, final.y_m - target.y_m),
        e_yaw_rad=wrap_half_turn(final.yaw_rad - target.yaw_rad),
    )


def reward(error: PlacementError, length_scale_m: float = 0.1) -> float:
    """``exp(−(e_trans / L + e_rot))`` in (0, 1]."""
    return math.exp(-(error.e_trans_m / length_scale_m + error.e_rot))


def reward_for_error_mm(e_trans_mm: float, e_rot_deg: float = 0.0, length_scale_m: float = 0.1) -> float:
    """The reward of a given error (handy for thresholds such as τ)."""
    return reward(PlacementError(e_trans_mm / 1000.0, math.radians(e_rot_deg)), length_scale_m)
