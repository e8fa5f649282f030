"""The emulated controller's collision detection as a wrong payload disturbs it (a model, inferred).

The controller predicts the joint currents for the payload it was told (``set_tcp_load``); a
payload error of Δm kilograms leaves a force the model does not explain at the tool: Δm times
the tool's acceleration, plus part of Δm·g (the detector follows slow changes, so most of the
steady gravity error is absorbed; :data:`GRAVITY_SHARE` is what is left while moving). A
collision (C31) is latched during a motion when that force exceeds the threshold of the
collision sensitivity. With the right payload nothing trips; with one far from the real one,
fast moves do and slow moves do not, as on a real arm.
"""

from __future__ import annotations

GRAVITY_M_S2 = 9.81
#: Share of the steady gravity error the detector still sees while the arm moves (assumed).
GRAVITY_SHARE = 0.2
#: Unexplained tool force that counts as a collision, N, by sensitivity (1 least to 5 most
#: sensitive; 0 turns detection off). Assumed values, ordered as the controller's levels are.
THRESHOLD_N = {1: 12.0, 2: 9.0, 3: 6.0, 4: 4.5, 5: 3.0}


def payload_error_force_n(true_kg: float, set_kg: float, tool_acc_m_s2: float) -> float:
    """The tool force the controller's model does not explain, N."""
    return abs(true_kg - set_kg) * (abs(tool_acc_m_s2) + GRAVITY_SHARE * GRAVITY_M_S2)


def detects_collision(sensitivity: int, force_n: float) -> bool:
    """Whether a force of ``force_n`` unexplained newtons trips collision detection."""
    threshold = THRESHOLD_N.get(int(sensitivity))
    return threshold is not None and force_n > threshold
