"""The MuJoCo twin's cell as a real-cell config, read from the sim model rather than retyped.

Home pose, reset area, table height and receptacle slots come from
:meth:`rmrl_env.sim.world.SimWorld.layout`; the TCP offset from the MJCF's ``tcp`` site
(relative to the ``flange`` site of the same body). Only what the sim does not have is written
here: the robot's address and the workspace box. Everything else is the sections' defaults.
``dry_run`` envs, :func:`~rmrl_env.real.config.default_config` and the example file use it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

#: The example's controller address: a placeholder in the xArm's factory subnet.
EXAMPLE_ROBOT_IP = "192.168.1.185"
#: The twin's safety box (m): the table in front of the arm, up to 0.40 m above it.
TWIN_WORKSPACE_M = {"x_m": [0.10, 0.75], "y_m": [-0.40, 0.40], "z_m": [0.0, 0.40]}
#: Values read from the model are rounded to a micrometre (and a micro-degree) so files stay readable.
_DIGITS = 6


def _r(value: float) -> float:
    return round(float(value), _DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


@lru_cache(maxsize=1)
def _from_sim() -> tuple[dict[str, Any], tuple[float, float, float]]:
    """The twin's geometry as TOML tables, and its TCP offset from the flange (m)."""
    from rmrl_env.sim.error_sources import ErrorSources
    from rmrl_env.sim.world import SimWorld

    world = SimWorld(ErrorSources.ideal())
    layout = world.layout()
    model = world.model
    tcp, flange = model.site("tcp"), model.site("flange")
    if int(tcp.bodyid[0]) != int(flange.bodyid[0]):
        raise RuntimeError("the MJCF's tcp and flange sites must sit on the same body (link6)")
    tcp_offset = tuple(_r(v) for v in model.site_pos[tcp.id] - model.site_pos[flange.id])
    region = layout.reset_region
    tables: dict[str, Any] = {
        "cell": {
            "table_z_m": _r(layout.table_z_m),
            "home": {
                "x_m": _r(layout.home.x_m),
                "y_m": _r(layout.home.y_m),
                "z_m": _r(layout.home.z_m),
                "yaw_deg": _r(math.degrees(layout.home.yaw_rad)),
            },
            "receptacles": {
                name: {
                    "x_m": _r(rec.pose.x_m),
                    "y_m": _r(rec.pose.y_m),
                    "yaw_deg": _r(math.degrees(rec.pose.yaw_rad)),
                    "floor_z_m": _r(rec.floor_z_m),
                    "clearance_m": _r(rec.clearance_m),
                }
                for name, rec in layout.receptacles.items()
            },
        },
        "reset": {
            "x_m": [_r(v) for v in region.x_m],
            "y_m": [_r(v) for v in region.y_m],
            "yaw_deg": [_r(math.degrees(v)) for v in region.yaw_rad],
        },
    }
    return tables, (tcp_offset[0], tcp_offset[1], tcp_offset[2])


def twin_cell_data(tcp_from_model: bool = True) -> dict[str, Any]:
    """The twin's config as a TOML-shaped dict (only what the sections have no default for, and the TCP).

    Args:
        tcp_from_model: include ``robot.tcp_offset_m`` from the MJCF (the twin's TCP); without
            it the real gripper's default applies.
    """
    tables, tcp_offset = _from_sim()
    robot: dict[str, Any] = {"ip": EXAMPLE_ROBOT_IP}
    if tcp_from_model:
        robot["tcp_offset_m"] = list(tcp_offset)
    return {
        "robot": robot,
        "safety": {"workspace": {k: list(v) for k, v in TWIN_WORKSPACE_M.items()}},
        "cell": {**tables["cell"], "home": dict(tables["cell"]["home"])},
        "reset": dict(tables["reset"]),
    }
