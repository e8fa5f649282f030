"""A fast synthetic stand-in for the cell-plate env, for tests and quick checks.

``SyntheticPlateEnv`` has the spaces, reset options, reward and info of
``CellPlatePlace-sim-v0`` but no physics: the plate's true pose is the estimated pose P^e
plus a known, smooth correction ``c(P^e)`` (a stand-in for calibration / perception error),
so the optimal action is a known function of the observed pose::

    a*(P^e) = nearest grid action to c(P^e),   c = [3 mm + 0.04·(x - 0.4 m),
                                                    -2 mm + 0.03·y,
                                                    1.5° + 0.05·ψ]

After picking at P^e + a, the plate lands at target + (P^e + a - true), so the placement
error is ``a - c(P^e)`` and ``r = exp(-(e_trans / L + 1 - cos e_ψ))`` as in the real env.
The image (default 32×32) is a top view with the plate drawn at its true pose. One step takes
well under a millisecond. Registered as ``rmrl_agents/SyntheticPlate-v0``.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

PLATE_MM = (127.76, 85.48)
#: estimated poses of new scenes: x, y in metres, ψ in radians
WORKSPACE = {"x": (0.30, 0.50), "y": (-0.10, 0.10), "yaw": (-0.35, 0.35)}
#: the field of view of the synthetic overhead image, metres
VIEW = {"x": (0.20, 0.60), "y": (-0.20, 0.20)}


def correction(pose: np.ndarray) -> np.ndarray:
    """c(P^e) = true pose - estimated pose, [m, m, rad], for P^e = [x m, y m, ψ rad]."""
    x, y, yaw = (float(v) for v in pose)
    return np.array([0.003 + 0.04 * (x - 0.4), -0.002 + 0.03 * y, math.radians(1.5) + 0.05 * yaw])


class SyntheticPlateEnv(gym.Env):
    """One-step synthetic cell-plate env with a known optimal action (see module docstring).

    :param image_size: (H, W) of the observation image (default (32, 32)).
    :param max_xy_mm, step_xy_mm, max_yaw_deg, step_yaw_deg: the candidate grid
        (default ±10 mm in 1 mm, ±5° in 0.5°: MultiDiscrete([21, 21, 21])).
    :param reward_length_m: L of the reward (default 0.1 m).
    :param scene_jitter_m, scene_jitter_rad: jitter of a ``{"scene": "same"}`` reset.
    :param success_mm: success if e_trans below this and e_rot below 1° (default 3 mm).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        image_size: tuple[int, int] = (32, 32),
        max_xy_mm: float = 10.0,
        step_xy_mm: float = 1.0,
        max_yaw_deg: float = 5.0,
        step_yaw_deg: float = 0.5,
        reward_length_m: float = 0.1,
        scene_jitter_m: float = 0.0005,
        scene_jitter_rad: float = math.radians(0.1),
        success_mm: float = 3.0,
        render_mode: str | None = None,
    ) -> None:
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.dxy = np.arange(-round(max_xy_mm / step_xy_mm), round(max_xy_mm / step_xy_mm) + 1) * step_xy_mm / 1000.0
        self.dyaw = np.radians(
            np.arange(-round(max_yaw_deg / step_yaw_deg), round(max_yaw_deg / step_yaw_deg) + 1) * step_yaw_deg
        )
        self.action_space = spaces.MultiDiscrete([len(self.dxy), len(self.dxy), len(self.dyaw)])
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (*self.image_size, 3), np.uint8),
                "pose": spaces.Box(-np.inf, np.inf, (3,), np.float32),
            }
        )
        self.reward_length_m = reward_length_m
        self.scene_jitter_m, self.scene_jitter_rad = scene_jitter_m, scene_jitter_rad
        self.success_mm = success_mm
        self.render_mode = render_mode
        h, w = self.image_size
        # pixel centres in metres (image rows along x, columns along y)
        self._px = VIEW["x"][0] + (np.arange(h) + 0.5) / h * (VIEW["x"][1] - VIEW["x"][0])
        self._py = VIEW["y"][0] + (np.arange(w) + 0.5) / w * (VIEW["y"][1] - VIEW["y"][0])
        self._estimate: np.ndarray | None = None
        self._scene_estimate: np.ndarray | None = None
        self._true: np.ndarray | None = None
        self._image: np.ndarray | None = None
        self.target = np.array([0.40, 0.25, 0.0])

    # -- the grid ---------------------------------------------------------------------------------
    def action_to_adjustment(self, action: Any) -> np.ndarray:
        """Grid indices → [dx m, dy m, dψ rad]."""
        i, j, k = (int(v) for v in np.asarray(action).reshape(3))
        return np.array([self.dxy[i], self.dxy[j], self.dyaw[k]])

    def adjustment_to_action(self, dx_m: float, dy_m: float, dpsi_rad: float) -> np.ndarray:
        """Nearest grid action to an adjustment [m, m, rad]."""
        return np.array(
            [np.abs(self.dxy - dx_m).argmin(), np.abs(self.dxy - dy_m).argmin(), np.abs(self.dyaw - dpsi_rad).argmin()],
            dtype=np.int64,
        )

    def optimal_action(self, pose: np.ndarray) -> np.ndarray:
        """The best grid action for an estimated pose P^e: nearest to c(P^e)."""
        return self.adjustment_to_action(*correction(pose))

    # -- Gymnasium API ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"scene"}
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; valid: ['scene']")
        scene = options.get("scene", "new")
        if scene not in ("new", "same"):
            raise ValueError(f"options['scene'] must be 'new' or 'same', got {scene!r}")
        rng = self.np_random
        if scene == "same" and self._scene_estimate is not None:
            jitter = rng.uniform(-1, 1, 3) * [self.scene_jitter_m, self.scene_jitter_m, self.scene_jitter_rad]
            estimate = self._scene_estimate + jitter
        else:
            scene = "new"
            estimate = np.array([rng.uniform(*WORKSPACE["x"]), rng.uniform(*WORKSPACE["y"]), rng.uniform(*WORKSPACE["yaw"])])
            self._scene_estimate = estimate
        self._estimate = estimate
        self._true = estimate + correction(estimate)
        self._image = self._draw(self._true)
        obs = {"image": self._image.copy(), "pose": estimate.astype(np.float32)}
        return obs, {"scene": scene, "true_pose": self._true.copy()}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._estimate is None or self._true is None:
            raise RuntimeError("call reset() before step(): every episode is one trial")
        adjustment = self.action_to_adjustment(action)
        error = self._estimate + adjustment - self._true  # grasp offset carried to the placement
        final = self.target + error
        e_trans = float(np.hypot(error[0], error[1]))
        e_rot = 1.0 - math.cos(error[2])
        reward = math.exp(-(e_trans / self.reward_length_m + e_rot))
        e_rot_deg = abs(math.degrees(error[2]))
        info = {
            "e_trans_mm": e_trans * 1000.0,
            "e_rot_deg": e_rot_deg,
            "success": bool(e_trans * 1000.0 < self.success_mm and e_rot_deg < 1.0),
            "failure": None,
            "true_pose": self._true.copy(),
            "final_pose": final,
            "adjustment": adjustment,
            "optimal_action": self.optimal_action(self._estimate),
        }
        obs = {"image": self._image.copy(), "pose": self._estimate.astype(np.float32)}  # type: ignore[union-attr]
        self._estimate = None
        return obs, reward, True, False, info

    def render(self) -> np.ndarray | None:
        return None if self._image is None or self.render_mode != "rgb_array" else self._image.copy()

    def _draw(self, pose: np.ndarray) -> np.ndarray:
        """Top view: light table, dark plate (rotated rectangle) at ``pose``, a little noise."""
        dx = self._px[:, None] - pose[0]
        dy = self._py[None, :] - pose[1]
        c, s = math.cos(pose[2]), math.sin(pose[2])
        u, v = c * dx + s * dy, -s * dx + c * dy
        inside = (np.abs(u) <= PLATE_MM[0] / 2000.0) & (np.abs(v) <= PLATE_MM[1] / 2000.0)
        image = np.full((*self.image_size, 3), 200, np.uint8)
        image[inside] = (30, 30, 40)
        noise = self.np_random.integers(0, 8, size=image.shape, dtype=np.uint8)
        return image + noise


ENV_ID = "rmrl_agents/SyntheticPlate-v0"

#: a small policy for tests and quick checks: the same architecture with fewer channels
TINY_POLICY_KWARGS: dict[str, Any] = {
    "resnet_depth": 10,
    "resnet_width": 8,
    "pose_hidden": [64, 64],
    "head_hidden": [64],
}


def register() -> None:
    """Register ``rmrl_agents/SyntheticPlate-v0`` with Gymnasium (idempotent)."""
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point="rmrl_agents.testing:SyntheticPlateEnv")


def evaluate(model: Any, env: gym.Env, n_episodes: int = 100, seed: int = 12345, deterministic: bool = True) -> dict[str, float]:
    """Mean reward / e_trans_mm / e_rot_deg / success of ``model.predict`` over new scenes.

    Works for any env with the cell-plate info keys; the same ``seed`` gives the same scenes.
    """
    rewards, e_trans, e_rot, success = [], [], [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(n_episodes):
        action, _ = model.predict(obs, deterministic=deterministic)
        _, reward, _, _, info = env.step(action)
        rewards.append(reward)
        e_trans.append(info.get("e_trans_mm", np.nan))
        e_rot.append(info.get("e_rot_deg", np.nan))
        success.append(float(bool(info.get("success", False))))
        obs, _ = env.reset()
    return {
        "reward": float(np.mean(rewards)),
        "e_trans_mm": float(np.nanmean(e_trans)),
        "e_rot_deg": float(np.nanmean(e_rot)),
        "success": float(np.mean(success)),
    }
