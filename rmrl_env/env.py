"""The cell-plate MDP as a Gymnasium env: spaces, candidate grid, reward and scenes.

The env knows only the driver protocols, through a :class:`~rmrl_env.backend.Backend` and its
one :class:`~rmrl_env.routine.PickAndPlace`; the same class serves the MuJoCo twin and the real
cell. It is built by :mod:`rmrl_env.make` (the ``gym.make`` entry points).

One-step episodes:

* ``reset`` stages the plate at an initial pose (a new one, or the previous one again with a
  small jitter) and localises it: the observation is the colour image and the estimated pick
  pose P^e.
* ``step(action)`` maps the action's grid indices to an adjustment ``a``, picks at
  ``P^pick = P^e + a``, places the plate into the task's receptacle along the pre-planned path,
  re-localises it (P^final) and returns ``r = exp(−(e_trans / L + e_rot))`` against the
  target P^target, which the same camera measured with the plate seated.

The reward rule: a trial that ran to its end (``failure`` is ``None``) scores its measured
placement; every failure scores 0, whatever the camera measured afterwards. A plate dropped,
missed, stopped by a collision, left leaning, on a rim or standing on an end is never a
placement.

## Action space

``action_type="grid"`` (default, the paper's): ``MultiDiscrete([nx, ny, nψ])``, indices into the
candidate grid's Δx, Δy (metres) and Δψ (radians) axes (:class:`~rmrl_env.grid.CandidateGrid`;
default ±12 mm in 1 mm steps and ±5° in 0.5° steps, so ``MultiDiscrete([25, 25, 21])``).
``action_type="continuous"``: ``Box(-1, 1, (3,), float32)`` scaled to the grid's ranges
(:class:`~rmrl_env.actions.ContinuousAdjustment`). Either way the arm picks at P^e + Δ.

## Observation space

| key | type | unit | meaning |
|---|---|---|---|
| ``image`` | uint8 (H, W, 3) | RGB | the overhead colour frame, resized to ``image_size`` |
| ``pose`` | float32 (3,) | m, m, rad | P^e = [x, y, ψ], the localised pick pose in the robot base frame, clipped to :data:`POSE_LOW` / :data:`POSE_HIGH` |
| ``plate_crop`` | uint8 (h, w, 3) | RGB, 1.6 mm/px | only with ``plate_crop=True`` (or a window): the colour frame at the camera's resolution over a window of the table centred on P^e and turned to its yaw, default 0.16 × 0.12 m → (75, 100, 3); see :mod:`rmrl_env.perception.plate_crop` |

## Info

| key | in | type / unit | meaning |
|---|---|---|---|
| ``scene_id`` | reset | int | counts new scenes since the env was made |
| ``scene`` | reset | ``"new"`` / ``"same"`` | what the reset did |
| ``config_hash`` | both | str | hash of everything that defines the MDP and the cell |
| ``e_trans_mm`` | step | float, mm | ‖t_final − t_target‖ as the camera measures it (NaN when there is no final pose) |
| ``e_rot_deg`` | step | float, degrees | ψ_final − ψ_target, absolute, modulo a half turn (NaN likewise) |
| ``success`` | step | bool | the plate is seated in the receptacle |
| ``failure`` | step | :class:`~rmrl_env.routine.Failure` or ``None`` | why the trial did not finish normally: ``"unreachable"``, ``"grasp_missed"``, ``"dropped"``, ``"collision"``, ``"not_flat"``, ``"plate_not_found"`` |
| ``message`` | step | str | detail of a failure |
| ``pick_pose`` | step | float64 (3,), m, m, rad | P^pick = P^e + a |
| ``adjustment`` | step | float64 (3,), m, m, rad | a, the action mapped onto the grid |
| ``target_pose`` | step | float64 (3,), m, m, rad | P^target, the seated plate as the camera measured it |
| ``final_pose`` | step | float64 (3,), m, m, rad | P^final (absent when the plate was not found) |
| ``privileged`` | both | dict | what no learner may read (see below) |

``info["privileged"]`` holds ``requested_pose`` (the pose the env asked the stager for, both
backends) and, where the backend knows the true state (the sim), ``true_pose`` (the plate's true
initial pose) and ``plate_type``, and after a step ``true_final_pose``, ``true_e_trans_mm`` and ``true_e_rot_deg``
(the same errors from the true final pose against the receptacle's true slot) and ``true_tilt_deg``
(the angle between the plate's normal and the vertical: 0 flat, 90 on an end, 180 upside down). They serve
analysis, oracles and tests; agents never read them.

## Version history

Every id is still ``-v0``. A change of the env's settings shows in ``config_hash``; the changes
below, in the code and the MJCF, do not, so compare runs by date (and commit) as well:

* 2026-12-05: the ``plate_crop`` option adds a plate-centred crop to the observation (off by
  default: without it the spaces and ``config_hash`` are as before).
* 2026-12-05: every failure scores 0 (before: a failed trial the camera still saw scored its
  measured placement); new failures ``dropped`` and ``not_flat``, and ``grasp_missed`` is judged
  by the jaws' width at the close; ``info["privileged"]`` gains ``true_tilt_deg``. The gripper squeezes with 20 N through pads
  with torsional friction, and every part of the robot collides (see ``assets/README.md``).
* 2026-11-22: the sim cell draws a state-dependent problem (true vs nominal arm, tilted camera,
  plate types, a 35 × 42.5 cm reset area, sub-pixel localisation); default grid ±12 mm
  (``MultiDiscrete([25, 25, 21])``, was ±10 mm, ``[21, 21, 21]``); the grasp is 10 mm above
  the surface; the target is chosen by the plate height the camera measured.
* 2026-11-21: first version: one-step MDP, reward ``exp(−(e_trans / L + e_rot))``, failures
  ``unreachable``, ``grasp_missed`` and ``plate_not_found``; the same day: ``collision``, finite
  pose bounds, ``config_hash`` in every info, ``action_type="continuous"``, ground truth under
  ``info["privileged"]``, a fresh sim state per reset.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from typing import Any, SupportsFloat

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from rmrl_env import env_settings as settings
from rmrl_env.actions import ActionType, AdjustmentSpace, adjustment_space
from rmrl_env.backend import Backend
from rmrl_env.errors import ConfigError
from rmrl_env.grid import CandidateGrid
from rmrl_env.info import PRIVILEGED_KEY
from rmrl_env.perception.plate_crop import PLATE_CROP_KEY, PlateCropper
from rmrl_env.protocols import Localisation, PlanarPose, PlateDetection, RGBDFrame, wrap_half_turn
from rmrl_env.reward import placement_error, reward
from rmrl_env.routine import Failure
from rmrl_env.scenes import parse_reset_options

#: Receptacle used by each task.
TASK_RECEPTACLES = {"place": "box", "shelf": "shelf"}
#: Bounds of the observed pose [x_m, y_m, yaw_rad]: the table within the arm's reach (an xArm 6
#: reaches 0.7 m), the same on every backend. Poses are clipped into them.
POSE_LOW = np.array([-0.2, -0.8, -math.pi / 2], dtype=np.float32)
POSE_HIGH = np.array([1.0, 0.8, math.pi / 2], dtype=np.float32)


def _plate_cropper(backend: Backend, window_m: tuple[float, float] | None) -> PlateCropper | None:
    if window_m is None:
        return None
    if backend.camera_to_base is None:
        raise ConfigError(f"plate_crop needs the camera's calibration (camera_to_base); the {backend.name} backend has none")
    return PlateCropper(window_m, backend.camera_to_base, backend.layout.table_z_m)


class CellPlateEnv(gym.Env):
    """Place a cell plate with a pose-adjustment policy (see the module docstring).

    Args:
        backend: drivers, cell layout and services of the sim or the real cell.
        task: ``"place"`` (into the target box) or ``"shelf"`` (onto the shelf slot).
        image_size: (height, width) of the observation image, pixels; the camera frame is
            resized to it.
        grid: the candidate grid of adjustments (default ±12 mm / 1 mm, ±5° / 0.5°).
        reward_length_m: L in ``exp(−(e_trans / L + e_rot))``, metres.
        scene_jitter_m / scene_jitter_rad: half-width of the uniform jitter with which a
            ``{"scene": "same"}`` reset re-places the plate (as a hand or the robot would).
        render_mode: ``"rgb_array"`` returns the last full-resolution camera image.
        action_type: ``"grid"`` (``MultiDiscrete`` candidate indices) or ``"continuous"``
            (``Box(-1, 1, (3,))`` scaled to the grid's ranges); see :mod:`rmrl_env.actions`.
        plate_crop: ``True`` adds the ``"plate_crop"`` observation over the default window,
            ``(along_m, across_m)`` over another; ``False`` (default) leaves it out.

    Observation: ``{"image": uint8 (H, W, 3), "pose": float32 [x_m, y_m, yaw_rad]}``.
    Action: grid indices or a continuous adjustment (see the module docstring).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1}

    def __init__(
        self,
        backend: Backend,
        task: str = "place",
        *,
        image_size: tuple[int, int] = (120, 160),
        grid: CandidateGrid | None = None,
        reward_length_m: float = 0.1,
        scene_jitter_m: float = 0.001,
        scene_jitter_rad: float = math.radians(0.5),
        render_mode: str | None = None,
        action_type: ActionType = "grid",
        plate_crop: bool | tuple[float, float] = False,
    ) -> None:
        if task not in TASK_RECEPTACLES:
            raise ConfigError(f"task must be one of {sorted(TASK_RECEPTACLES)}, got {task!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")

        self.backend = backend
        self.task = task
        self.receptacle = backend.layout.receptacle(TASK_RECEPTACLES[task])
        self.target: PlateDetection = backend.targets[self.receptacle.name]
        self.grid = grid if grid is not None else CandidateGrid()
        self._check_grid_fits(self.grid)
        self.action_type = action_type
        self.actions: AdjustmentSpace = adjustment_space(action_type, self.grid)
        intr = backend.drivers.camera.intrinsics
        self.image_size = settings.check_image_size(image_size, (intr.height, intr.width))
        self.reward_length_m = settings.check_reward_length_m(reward_length_m)
        self.scene_jitter_m = settings.check_scene_jitter_m(scene_jitter_m)
        self.scene_jitter_rad = settings.check_scene_jitter_rad(scene_jitter_rad)
        self.render_mode = render_mode
        self.routine = backend.routine
        self.plate_crop = _plate_cropper(backend, settings.check_plate_crop(plate_crop))
        self.config_hash = self._config_hash()

        h, w = self.image_size
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (h, w, 3), np.uint8),
                "pose": spaces.Box(low=POSE_LOW, high=POSE_HIGH, dtype=np.float32),
                **({PLATE_CROP_KEY: self.plate_crop.space()} if self.plate_crop is not None else {}),
            }
        )
        self.action_space = self.actions.space()

        self._backend_seeded = False
        self._scene_pose: PlanarPose | None = None
        self._scene_id = -1
        self._estimate: PlateDetection | None = None
        self._true_initial: PlanarPose | None = None
        self._requested: PlanarPose | None = None
        self._last_frame: RGBDFrame | None = None
        self._last_obs: dict[str, np.ndarray] | None = None

    # -- grid helpers (public API) ------------------------------------------------------------
    def action_to_adjustment(self, action: object) -> np.ndarray:
        """An action → ``[Δx_m, Δy_m, Δψ_rad]``."""
        return self.actions.to_adjustment(action)

    def adjustment_to_action(self, dx_m: float, dy_m: float, dpsi_rad: float, clip: bool = False) -> np.ndarray:
        """The nearest action to an adjustment in metres and radians; beyond the action range (by more than half a grid
        step) a ``ValueError`` naming it, unless ``clip``."""
        return self.actions.to_action(dx_m, dy_m, dpsi_rad, clip)

    def _check_grid_fits(self, grid: CandidateGrid) -> None:
        # An adjustment longer than the reset area is wide moves the grasp of a plate anywhere in it
        # out of it: such candidates can never help.
        region = self.backend.layout.reset_region
        span = min(region.x_m[1] - region.x_m[0], region.y_m[1] - region.y_m[0])
        if grid.max_xy_mm / 1000.0 > span:
            raise ConfigError(
                f"the candidate grid reaches ±{grid.max_xy_mm:g} mm, more than the {span * 1000:.0f} mm width of the "
                "workspace's reset area (it would move any plate's grasp out of it): choose max_xy_mm within that"
            )
        if grid.max_yaw_deg >= 90.0:
            raise ConfigError(f"max_yaw_deg must be < 90° (a plate is symmetric under a half turn), got {grid.max_yaw_deg:g}")

    # -- Gymnasium API ------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or not self._backend_seeded:
            self.backend.seed(int(self.np_random.integers(0, 2**31 - 1)))
            self._backend_seeded = True
        scene, pose = self._parse_options(options)
        if scene == "new":
            self._scene_id += 1
            self._scene_pose = pose
        initial = pose if scene == "new" else self._jittered(self._scene_pose)
        seen = self.backend.stager.stage_plate(initial) or self.routine.localise()
        self._estimate = seen.detection
        obs = self._observation(seen)
        gt = self.backend.ground_truth
        self._true_initial = gt.plate_pose() if gt is not None else None
        self._requested = initial
        info: dict[str, Any] = {
            "scene_id": self._scene_id,
            "scene": scene,
            "config_hash": self.config_hash,
            PRIVILEGED_KEY: self._privileged(),
        }
        return obs, info

    def step(self, action: object) -> tuple[dict[str, np.ndarray], SupportsFloat, bool, bool, dict[str, Any]]:
        if self._estimate is None:
            raise ResetNeeded("call reset() before step(): every episode is a single pick-and-place")
        adjustment = self.actions.to_adjustment(action)
        estimate = self._estimate
        self._estimate = None
        pick = PlanarPose(
            estimate.pose.x_m + adjustment[0],
            estimate.pose.y_m + adjustment[1],
            wrap_half_turn(estimate.pose.yaw_rad + adjustment[2]),
        )
        outcome = self.routine.run(pick, self.receptacle)
        target = self._target(estimate)
        info: dict[str, Any] = {
            "failure": outcome.failure,
            "message": outcome.message,
            "pick_pose": pick.as_array(),
            "adjustment": adjustment,
            "target_pose": target.pose.as_array(),
            "config_hash": self.config_hash,
        }
        # The reward rule: a trial that ran to its end scores its measured placement; every failure scores 0.
        r = 0.0
        if outcome.failure == Failure.UNREACHABLE or outcome.seen is None:
            info.update(e_trans_mm=float("nan"), e_rot_deg=float("nan"), success=False)
            obs = self._last_obs
        else:
            final = outcome.seen.detection
            error = placement_error(final.pose, target.pose)
            info.update(
                e_trans_mm=error.e_trans_mm,
                e_rot_deg=error.e_rot_deg,
                final_pose=final.pose.as_array(),
                success=outcome.failure is None and self._seated(final, target),
            )
            obs = self._observation(outcome.seen)
            if outcome.failure is None:
                r = reward(error, self.reward_length_m)
        info[PRIVILEGED_KEY] = self._privileged(after_step=True)
        assert obs is not None
        return obs, float(r), True, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._last_frame is None:
            return None
        return self._last_frame.color.copy()

    def close(self) -> None:
        self.backend.close()

    # -- internals ----------------------------------------------------------------------------
    def _config_hash(self) -> str:
        """A short hash of everything that defines this MDP: task, grid, reward, scenes, image
        size, the cell's layout and the backend's description. Logged with every trial."""
        config = {
            "task": self.task,
            "grid": asdict(self.grid),
            "action_type": self.action_type,
            "reward_length_m": self.reward_length_m,
            "scene_jitter": [self.scene_jitter_m, self.scene_jitter_rad],
            "image_size": list(self.image_size),
            "backend": self.backend.name,
            "layout": asdict(self.backend.layout),
            "description": self.backend.description,
        }
        if self.plate_crop is not None:  # absent by default: the hash of a run without it is unchanged
            config["plate_crop"] = list(self.plate_crop.window_m)
        return hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def _parse_options(self, options: dict[str, Any] | None) -> tuple[str, PlanarPose]:
        scene, pose = parse_reset_options(options, self.backend.layout.reset_region)
        if scene == "same" and self._scene_pose is not None:
            return scene, self._scene_pose
        return "new", pose if pose is not None else self._sample_new_pose()  # nothing to repeat yet: a new scene

    def _sample_new_pose(self) -> PlanarPose:
        region = self.backend.layout.reset_region
        rng = self.np_random
        return PlanarPose(float(rng.uniform(*region.x_m)), float(rng.uniform(*region.y_m)), float(rng.uniform(*region.yaw_rad)))

    def _jittered(self, pose: PlanarPose | None) -> PlanarPose:
        assert pose is not None
        j_m, j_rad = self.scene_jitter_m, self.scene_jitter_rad
        rng = self.np_random
        return PlanarPose(
            pose.x_m + float(rng.uniform(-j_m, j_m)),
            pose.y_m + float(rng.uniform(-j_m, j_m)),
            pose.yaw_rad + float(rng.uniform(-j_rad, j_rad)),
        )

    def _observation(self, seen: Localisation) -> dict[str, np.ndarray]:
        frame, detection = seen
        h, w = self.image_size
        image = frame.color
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        pose: np.ndarray = np.clip(detection.pose.as_array().astype(np.float32), POSE_LOW, POSE_HIGH)
        obs: dict[str, np.ndarray] = {"image": np.ascontiguousarray(image, dtype=np.uint8), "pose": pose}
        if self.plate_crop is not None:
            obs[PLATE_CROP_KEY] = self.plate_crop(frame.color, detection.pose, detection.top_z_m, frame.intrinsics)
        self._last_frame = frame
        self._last_obs = obs
        return obs

    def _seated(self, final: PlateDetection, target: PlateDetection) -> bool:
        gt = self.backend.ground_truth
        if gt is not None:
            return gt.plate_seated(self.receptacle)
        return self.backend.judge.is_seated(self.receptacle, target, final)

    def _target(self, estimate: PlateDetection) -> PlateDetection:
        """P^target for the plate at hand: measured once per receptacle, and per plate type where
        the cell uses several (key ``"<receptacle>:<type>"``), as a lab measures each type it uses
        (a taller plate is seen differently). The type is told by the camera alone: the target
        whose measured plate height (top face above the receptacle floor) is nearest to the height
        measured at reset (top face above the table)."""
        name = self.receptacle.name
        candidates = [t for key, t in self.backend.targets.items() if key == name or key.startswith(name + ":")]
        if len(candidates) < 2:
            return self.target
        height = estimate.top_z_m - self.backend.layout.table_z_m
        return min(candidates, key=lambda t: abs((t.top_z_m - self.receptacle.floor_z_m) - height))

    def _privileged(self, after_step: bool = False) -> dict[str, Any]:
        """What no learner may read: the requested pose and, in the sim, the true state."""
        privileged: dict[str, Any] = {"requested_pose": self._requested.as_array() if self._requested is not None else None}
        if self._true_initial is not None:
            privileged["true_pose"] = self._true_initial.as_array()
        gt = self.backend.ground_truth
        if gt is not None:
            privileged["plate_type"] = gt.plate_type()
        if after_step and gt is not None:
            final = gt.plate_pose()
            error = placement_error(final, gt.slot_pose(self.receptacle))
            privileged.update(
                true_final_pose=final.as_array(),
                true_e_trans_mm=error.e_trans_mm,
                true_e_rot_deg=error.e_rot_deg,
                true_tilt_deg=math.degrees(gt.plate_tilt_rad()),
            )
        return privileged
