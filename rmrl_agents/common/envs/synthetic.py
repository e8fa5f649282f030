"""A fast synthetic stand-in for the cell-plate env, for tests and quick checks.

``SyntheticPlateEnv`` has the spaces, reset options, reward and info of
``CellPlatePlace-sim-v0`` — it uses the env's own candidate grid, reward and plate size from
:mod:`rmrl_env` — but no physics: the plate's true pose is the estimated pose P^e plus a known,
smooth correction ``c(P^e)`` (a stand-in for calibration / perception error), so the optimal
action is a known function of the observed pose::

    a*(P^e) = nearest grid action to c(P^e),   c = [3 mm + 0.04·(x - 0.4 m),
                                                    -2 mm + 0.03·y,
                                                    1.5° + 0.05·ψ]

After picking at P^e + a, the plate lands at target + (P^e + a - true), so the placement error
is ``a - c(P^e)`` and ``r = exp(-(e_trans / L + 1 - cos e_ψ))`` as in the real env. The image
(default 32×32) is a top view with the plate drawn at its true pose. One step takes well under
a millisecond.

Nothing is registered on import: :func:`register_synthetic_env` registers
``rmrl_agents/SyntheticPlate-v0`` (tests, benchmarks and ``rmrl --env`` call it when they need it).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rmrl_env.actions import ActionType, adjustment_space
from rmrl_env.cell import PLATE_LENGTH_M, PLATE_WIDTH_M, Region
from rmrl_env.grid import CandidateGrid
from rmrl_env.make import grid_from
from rmrl_env.protocols import PlanarPose
from rmrl_env.reward import placement_error, reward
from rmrl_env.scenes import parse_reset_options

SYNTHETIC_ENV_ID = "rmrl_agents/SyntheticPlate-v0"
#: estimated poses of new scenes: x, y in metres, ψ in radians
RESET_REGION = Region(x_m=(0.30, 0.50), y_m=(-0.10, 0.10), yaw_rad=(-0.35, 0.35))
#: the field of view of the synthetic overhead image, metres: (low, high) in x and in y
VIEW_X_M = (0.20, 0.60)
VIEW_Y_M = (-0.20, 0.20)
#: where the plate is placed, [x m, y m, yaw rad]
TARGET = PlanarPose(0.40, 0.25, 0.0)


def correction(pose: np.ndarray) -> np.ndarray:
    """c(P^e) = true pose - estimated pose, [m, m, rad], for P^e = [x m, y m, ψ rad]."""
    x, y, yaw = (float(v) for v in pose)
    return np.array([0.003 + 0.04 * (x - 0.4), -0.002 + 0.03 * y, math.radians(1.5) + 0.05 * yaw])


def estimate_for(true_pose: np.ndarray) -> np.ndarray:
    """The estimated pose P^e whose plate truly lies at ``true_pose`` (the inverse of P^e + c(P^e))."""
    x, y, yaw = (float(v) for v in true_pose)
    return np.array([(x - 0.003 + 0.016) / 1.04, (y + 0.002) / 1.03, (yaw - math.radians(1.5)) / 1.05])


class SyntheticPlateEnv(gym.Env[dict[str, Any], np.ndarray]):
    """One-step synthetic cell-plate env with a known optimal action (see module docstring).

    :param image_size: (H, W) of the observation image (default (32, 32)).
    :param grid: the candidate grid, or a dict of its fields (default: the env's, ±10 mm in 1 mm,
        ±5° in 0.5°: MultiDiscrete([21, 21, 21])).
    :param reward_length_m: L of the reward (default 0.1 m).
    :param scene_jitter_m, scene_jitter_rad: jitter of a ``{"scene": "same"}`` reset.
    :param success_mm: success if e_trans below this and e_rot below 1° (default 3 mm).
    :param fail_beyond_mm: a placement further than this from the target fails and scores 0, as a
        plate that lands on the box's rim does in the sim (``failure="not_flat"``); None (default):
        never (the reward then falls smoothly with the error).
    :param measurement_noise_mm: sd of the noise on the measured final x and y (the camera's),
        from which e_trans and the reward are computed (default 0: the truth); the truth stays
        under ``info["privileged"]``.
    :param action_type: "grid" (default, the grid's MultiDiscrete indices) or "continuous"
        (``Box(-1, 1, (3,))`` scaled to the grid's ranges), as ``gym.make(..., action_type=...)``
        of the real envs.

    Reset options as the real env: ``{"scene": "new" | "same"}`` or ``{"initial_pose": [x m,
    y m, yaw rad]}`` (the plate's true pose, inside :data:`RESET_REGION`). Sim-only ground truth
    is under ``info["privileged"]``, as in the sim env.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        image_size: tuple[int, int] = (32, 32),
        grid: CandidateGrid | dict[str, float] | None = None,
        reward_length_m: float = 0.1,
        scene_jitter_m: float = 0.0005,
        scene_jitter_rad: float = math.radians(0.1),
        success_mm: float = 3.0,
        fail_beyond_mm: float | None = None,
        measurement_noise_mm: float = 0.0,
        render_mode: str | None = None,
        action_type: ActionType = "grid",
    ) -> None:
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.grid = grid_from(grid) if grid is not None else CandidateGrid()
        self.reset_region = RESET_REGION
        self.actions = adjustment_space(action_type, self.grid)
        self.action_space = self.actions.space()
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (*self.image_size, 3), np.uint8),
                "pose": spaces.Box(-np.inf, np.inf, (3,), np.float32),
            }
        )
        self.reward_length_m = reward_length_m
        self.scene_jitter_m, self.scene_jitter_rad = scene_jitter_m, scene_jitter_rad
        self.success_mm = success_mm
        if fail_beyond_mm is not None and not fail_beyond_mm > 0:
            raise ValueError(f"fail_beyond_mm must be > 0 mm or None, got {fail_beyond_mm!r}")
        if not measurement_noise_mm >= 0:
            raise ValueError(f"measurement_noise_mm must be >= 0, got {measurement_noise_mm!r}")
        self.fail_beyond_mm = fail_beyond_mm
        self.measurement_noise_mm = float(measurement_noise_mm)
        self.render_mode = render_mode
        h, w = self.image_size
        # pixel centres in metres (image rows along x, columns along y)
        self._px = VIEW_X_M[0] + (np.arange(h) + 0.5) / h * (VIEW_X_M[1] - VIEW_X_M[0])
        self._py = VIEW_Y_M[0] + (np.arange(w) + 0.5) / w * (VIEW_Y_M[1] - VIEW_Y_M[0])
        self._scene_id = -1
        self._estimate: np.ndarray | None = None
        self._scene_estimate: np.ndarray | None = None
        self._true = np.zeros(3)
        self._image = np.zeros((*self.image_size, 3), np.uint8)
        self.target = TARGET.as_array()

    # -- the grid ---------------------------------------------------------------------------------
    def action_to_adjustment(self, action: Any) -> np.ndarray:
        """Action (grid indices or continuous) → [dx m, dy m, dψ rad]; ``ValueError`` if invalid."""
        return self.actions.to_adjustment(action)

    def adjustment_to_action(self, dx_m: float, dy_m: float, dpsi_rad: float, clip: bool = False) -> np.ndarray:
        """Nearest action to an adjustment [m, m, rad]; beyond the action range (by more than half a grid
        step) a ``ValueError`` naming it, unless ``clip``."""
        return self.actions.to_action(dx_m, dy_m, dpsi_rad, clip)

    def optimal_action(self, pose: np.ndarray) -> np.ndarray:
        """The best action for an estimated pose P^e: nearest to c(P^e)."""
        dx, dy, dpsi = correction(pose)
        return self.adjustment_to_action(dx, dy, dpsi, clip=True)

    # -- Gymnasium API ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        scene, initial = self._parse_options(options)
        rng = self.np_random
        if initial is not None:
            estimate = estimate_for(initial)
        elif scene == "same" and self._scene_estimate is not None:
            jitter = rng.uniform(-1, 1, 3) * [self.scene_jitter_m, self.scene_jitter_m, self.scene_jitter_rad]
            estimate = self._scene_estimate + jitter
        else:
            scene = "new"
            region = self.reset_region
            estimate = np.array([rng.uniform(*region.x_m), rng.uniform(*region.y_m), rng.uniform(*region.yaw_rad)])
        if scene == "new":
            self._scene_estimate = estimate
            self._scene_id += 1
        self._estimate = estimate
        self._true = estimate + correction(estimate)
        self._image = self._draw(self._true)
        obs: dict[str, np.ndarray] = {"image": self._image.copy(), "pose": estimate.astype(np.float32)}
        truth = {"true_pose": self._true.copy(), "requested_pose": self._true.copy()}
        return obs, {"scene": scene, "scene_id": self._scene_id, "privileged": truth}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._estimate is None:
            raise RuntimeError("call reset() before step(): every episode is one trial")
        estimate, self._estimate = self._estimate, None
        adjustment = self.action_to_adjustment(action)
        offset = estimate + adjustment - self._true  # grasp offset carried to the placement
        final = PlanarPose.from_array(self.target + offset)
        truth = placement_error(final, TARGET)
        noise = np.zeros(3)
        if self.measurement_noise_mm:
            noise[:2] = self.np_random.normal(0.0, self.measurement_noise_mm / 1000.0, 2)
        measured = PlanarPose.from_array(final.as_array() + noise)
        error = placement_error(measured, TARGET)
        failed = self.fail_beyond_mm is not None and truth.e_trans_mm > self.fail_beyond_mm
        r = 0.0 if failed else reward(error, self.reward_length_m)
        info: dict[str, Any] = {
            "e_trans_mm": error.e_trans_mm,
            "e_rot_deg": error.e_rot_deg,
            "success": bool(not failed and error.e_trans_mm < self.success_mm and error.e_rot_deg < 1.0),
            "failure": "not_flat" if failed else None,
            "final_pose": measured.as_array(),
            "adjustment": adjustment,
            # no perception here: with measurement_noise_mm = 0 the env measures the truth
            "privileged": {
                "true_pose": self._true.copy(),
                "requested_pose": self._true.copy(),
                "true_final_pose": final.as_array(),
                "true_e_trans_mm": truth.e_trans_mm,
                "true_e_rot_deg": truth.e_rot_deg,
            },
        }
        obs: dict[str, np.ndarray] = {"image": self._image.copy(), "pose": estimate.astype(np.float32)}
        return obs, r, True, False, info

    def render(self) -> np.ndarray | None:
        return self._image.copy() if self.render_mode == "rgb_array" else None

    # -- internals ----------------------------------------------------------------------------------
    def _parse_options(self, options: dict[str, Any] | None) -> tuple[str, np.ndarray | None]:
        """(scene, the requested true pose or None), checked as the cell env checks them."""
        scene, pose = parse_reset_options(options, self.reset_region)
        return scene, None if pose is None else pose.as_array()

    def _draw(self, pose: np.ndarray) -> np.ndarray:
        """Top view: light table, dark plate (rotated rectangle) at ``pose``, a little noise."""
        dx = self._px[:, None] - pose[0]
        dy = self._py[None, :] - pose[1]
        c, s = math.cos(pose[2]), math.sin(pose[2])
        u, v = c * dx + s * dy, -s * dx + c * dy
        inside = (np.abs(u) <= PLATE_LENGTH_M / 2.0) & (np.abs(v) <= PLATE_WIDTH_M / 2.0)
        image = np.full((*self.image_size, 3), 200, np.uint8)
        image[inside] = (30, 30, 40)
        noise = self.np_random.integers(0, 8, size=image.shape, dtype=np.uint8)
        return image + noise


def register_synthetic_env() -> str:
    """Register ``rmrl_agents/SyntheticPlate-v0`` with Gymnasium (idempotent); returns the id."""
    if SYNTHETIC_ENV_ID not in gym.registry:
        gym.register(SYNTHETIC_ENV_ID, entry_point="rmrl_agents.common.envs.synthetic:SyntheticPlateEnv")
    return SYNTHETIC_ENV_ID
