"""rmrl_env: the cell-plate placement MDP on a MuJoCo twin and on a real xArm 6 cell.

Importing the package registers the Gymnasium ids::

    CellPlatePlace-sim-v0    plate into the target box (3 mm clearance per side), MuJoCo twin
    CellPlateShelf-sim-v0    plate onto the shelf slot (1.5 mm clearance per side), MuJoCo twin
    CellPlatePlace-real-v0   the same on a real xArm 6 cell (``config=PATH``; ``dry_run=True``
    CellPlateShelf-real-v0   builds the spaces without hardware)
    CellPlatePlace-twin-v0   the real cell's drivers, config and safety against an emulated xArm
    CellPlateShelf-twin-v0   controller and the MuJoCo cell (rehearse a lab's config: ``config=PATH``)
"""

from __future__ import annotations

import os

# Headless rendering by default (CI and servers have no display); a user's choice wins.
os.environ.setdefault("MUJOCO_GL", "egl")

from gymnasium.envs.registration import register, registry

from rmrl_env.cell import PLATE_HEIGHT_M, PLATE_LENGTH_M, PLATE_WIDTH_M
from rmrl_env.grid import CandidateGrid
from rmrl_env.protocols import PlanarPose, ToolPose
from rmrl_env.reward import reward_for_error_mm
from rmrl_env.vector import make_vec

__version__ = "0.1.0"

_SIM_IDS = {
    "CellPlatePlace-sim-v0": "rmrl_env.make:make_sim_place",
    "CellPlateShelf-sim-v0": "rmrl_env.make:make_sim_shelf",
}
# Gymnasium's passive checker would reset and step on first use: on hardware that is a real
# pick-and-place, so the real and twin ids skip it (the spaces are the sim's, which are checked).
_REAL_IDS = {
    "CellPlatePlace-real-v0": "rmrl_env.make:make_real_place",
    "CellPlateShelf-real-v0": "rmrl_env.make:make_real_shelf",
    "CellPlatePlace-twin-v0": "rmrl_env.make:make_twin_place",
    "CellPlateShelf-twin-v0": "rmrl_env.make:make_twin_shelf",
}
for _ids, _skip_checker in ((_SIM_IDS, False), (_REAL_IDS, True)):
    for _id, _entry in _ids.items():
        if _id not in registry:
            register(id=_id, entry_point=_entry, disable_env_checker=_skip_checker)

__all__ = [
    "PLATE_HEIGHT_M",
    "PLATE_LENGTH_M",
    "PLATE_WIDTH_M",
    "CandidateGrid",
    "PlanarPose",
    "ToolPose",
    "make_vec",
    "reward_for_error_mm",
]
