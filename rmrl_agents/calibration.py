"""A reward-only offset calibration: one constant adjustment found from the rewards alone.

What a lab does on day one: try adjustments, watch the rewards, keep the adjustment that places
best on average. No ground truth is read (never ``info["privileged"]``): only the applied
adjustment Δ = (Δx, Δy, Δψ) of each trial and its reward ``r = exp(-(e/L + 1 - cos e_ψ))``
(:mod:`rmrl_env.reward`). The image and the pose are ignored: the result is one constant.

**The quantity fitted** is the error the reward implies, ``y = -L·ln r = e + L·(1 - cos e_ψ)``
(mm), over the applied adjustments (Δx, Δy in mm, Δψ in degrees), with the model

    f(Δ) = sqrt((Δx - cx)² + (Δy - cy)² + s²) + k·(Δψ - cψ)² + b

a cone in (Δx, Δy) rounded at its apex by s (the spread of the right correction over poses
smooths the apex), a parabola in Δψ (1 - cos is quadratic for small angles) and an offset b.
The calibration is the apex (cx, cy, cψ). It is fitted by robust least squares
(``scipy.optimize.least_squares``, soft-L1 loss of scale :data:`LOSS_SCALE_MM`) within bounds:
the centre within the action range, s in [0.1, 20] mm, k in [0, 1] mm/deg², b in [-20, 50] mm.
Δx and Δy move the implied error at first order (the cone's slope is 1), Δψ only at second
order: the reward sees yaw through ``1 - cos`` (0.015 mm of implied error per deg² at L = 0.1 m),
so cψ can wander to the edge of the range when the trials cannot place it. cψ therefore has a
normal prior around zero with the sd the exploration starts with in yaw (``initial_spread[2]``):
one pseudo-residual ``LOSS_SCALE_MM·cψ/σψ``, as if cψ had been measured at zero with that sd in
units of the loss scale. Trials whose rewards do depend on yaw outweigh it.

**Failures** (a plate on a rim, dropped, missed: every failure scores r = 0, so -ln r is
infinite) are censored observations, "not here" evidence: the error at that adjustment was at
least the largest error any successful trial implied so far (:data:`FAILURE_ERROR_MM` before the
first success). A failure costs only where the model puts f below that bound, so a region that
keeps failing pushes the apex away until f there rises to the bound, and no further; and the
robust loss bounds the pull of a chance failure next to the apex. (Taking a failure as an error
of 25 mm instead pushed the apex on: on the synthetic env with failures beyond 4 mm of the right
adjustment, 100 trials landed up to 2.0 mm from the best constant over 10 seeds, against 1.1 mm
censored.) A successful reward implying more than :data:`FAILURE_ERROR_MM` counts as that.

**Exploration**: the first ``initial_trials`` (default :data:`INITIAL_TRIALS`) adjustments
are drawn around the zero adjustment with a normal spread ``initial_spread`` (default
:data:`INITIAL_SPREAD`: 5 mm, 5 mm, 2° per axis), snapped to the grid. From then on the model is
refitted after every trial and the next adjustment is drawn around the fitted apex with a spread
that shrinks with the evidence, ``σ_n = max(min_spread, initial_spread·sqrt(initial_trials/n))``
after n trials (``min_spread`` defaults to one grid step, 1 mm and 0.5° on the default grid).
Before the first fit the calibration is the zero adjustment.

Example::

    model = OffsetCalibration("OffsetPolicy", "CellPlatePlace-sim-v0", seed=0)
    model.learn(100)
    action, _ = model.predict(obs, deterministic=True)   # the fitted apex, snapped to the grid
    model.save("calibration")                            # calibration.zip
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, PyTorchObs, Schedule
from stable_baselines3.common.utils import obs_as_tensor

from rmrl_agents.common.one_step_algorithm import OneStepAlgorithm
from rmrl_agents.common.trial_sync import Trial
from rmrl_agents.errors import IncompatibleEnvError
from rmrl_agents.policies import POSE_KEY

#: trials drawn around the zero adjustment before the first fit
INITIAL_TRIALS = 20
#: normal spread (sd) of those first trials per axis: Δx mm, Δy mm, Δψ degrees
INITIAL_SPREAD = (5.0, 5.0, 2.0)
#: the cap of an implied error (mm), and the failures' lower bound before the first success
FAILURE_ERROR_MM = 25.0
#: scale of the fit's soft-L1 loss, mm: residuals beyond it pull less than quadratically
LOSS_SCALE_MM = 2.0
#: bounds of the fit's shape parameters: s mm, k mm/deg², b mm (the centre: the action range)
_S_BOUNDS, _K_BOUNDS, _B_BOUNDS = (0.1, 20.0), (0.0, 1.0), (-20.0, 50.0)

_EXPECTED = (
    "OffsetCalibration needs a cell-plate env: a Dict observation with a 'pose' Box of shape (3,) and a "
    "MultiDiscrete([n_x, n_y, n_psi]) grid action or a Box(-1, 1, (3,)) continuous action "
    "(e.g. CellPlatePlace-sim-v0, or rmrl_agents/SyntheticPlate-v0)"
)


def check_calibration_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Raise :class:`IncompatibleEnvError` unless the spaces are those of a cell-plate env."""
    pose = observation_space.spaces.get(POSE_KEY) if isinstance(observation_space, spaces.Dict) else None
    if not (isinstance(pose, spaces.Box) and pose.shape == (3,)):
        raise IncompatibleEnvError(f"{_EXPECTED}; got observation space {observation_space!r}")
    grid = isinstance(action_space, spaces.MultiDiscrete) and action_space.nvec.shape == (3,)
    if isinstance(action_space, spaces.MultiDiscrete) and np.any(np.asarray(action_space.start) != 0):
        raise IncompatibleEnvError(f"{_EXPECTED}; a MultiDiscrete with a non-zero start is not supported")
    box = isinstance(action_space, spaces.Box) and action_space.shape == (3,) and action_space.is_bounded()
    if not (grid or box):
        raise IncompatibleEnvError(f"{_EXPECTED}; got action space {action_space!r}")


@dataclass(frozen=True)
class ConeFit:
    """The fitted model of the implied error (see the module docstring).

    Attributes:
        centre: (cx mm, cy mm, cψ degrees), the calibration.
        s_mm, k_mm_per_deg2, b_mm: the shape parameters.
        cost: the robust least-squares cost at the optimum.
    """

    centre: np.ndarray
    s_mm: float
    k_mm_per_deg2: float
    b_mm: float
    cost: float

    def __call__(self, adjustments: np.ndarray) -> np.ndarray:
        """f(Δ) for adjustments (N, 3) in mm, mm, degrees."""
        return _cone(np.array([*self.centre, self.s_mm, self.k_mm_per_deg2, self.b_mm]), np.asarray(adjustments))


def _cone(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    cx, cy, cpsi, s, k, b = p
    return np.sqrt((d[:, 0] - cx) ** 2 + (d[:, 1] - cy) ** 2 + s**2) + k * (d[:, 2] - cpsi) ** 2 + b


def fit_cone(
    adjustments: np.ndarray,
    errors: np.ndarray,
    reach: Sequence[float] | np.ndarray,
    prior_sd_deg: float,
    start: Sequence[float] | np.ndarray | None = None,
    at_least: np.ndarray | None = None,
) -> ConeFit:
    """Fit f (module docstring) to implied errors ``errors`` (N,) mm at ``adjustments`` (N, 3) mm, mm, degrees.

    :param reach: the largest |Δx| mm, |Δy| mm, |Δψ| degrees the apex may take (the action range).
    :param prior_sd_deg: sd of the normal prior of cψ around zero, degrees.
    :param start: a first guess of the apex (e.g. the previous fit); the fit also starts from the
        mean adjustment of the best fifth of the trials and keeps the better optimum.
    :param at_least: (N,) bool: these errors are lower bounds (failures), which cost only where
        f lies below them.
    """
    from scipy.optimize import least_squares

    d, y = np.asarray(adjustments, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    hi_c = np.asarray(reach, dtype=np.float64)
    low = np.array([*-hi_c, _S_BOUNDS[0], _K_BOUNDS[0], _B_BOUNDS[0]])
    high = np.array([*hi_c, _S_BOUNDS[1], _K_BOUNDS[1], _B_BOUNDS[1]])
    best = d[np.argsort(y)[: max(1, len(y) // 5)]].mean(axis=0)
    starts = [best] if start is None else [best, np.asarray(start, dtype=np.float64)]
    prior_weight = LOSS_SCALE_MM / prior_sd_deg

    bound = np.zeros(len(y), bool) if at_least is None else np.asarray(at_least, bool)

    def residuals(p: np.ndarray) -> np.ndarray:
        r = _cone(p, d) - y
        r[bound] = np.minimum(r[bound], 0.0)  # a lower bound: no cost where f is above it
        return np.append(r, p[2] * prior_weight)

    fits = []
    for centre in starts:
        x0 = np.clip(np.array([*centre, 1.0, 0.02, max(float(y.min()) - 1.0, 0.0)]), low + 1e-9, high - 1e-9)
        fits.append(least_squares(residuals, x0, bounds=(low, high), loss="soft_l1", f_scale=LOSS_SCALE_MM))
    res = min(fits, key=lambda r: r.cost)
    cx, cy, cpsi, s, k, b = (float(v) for v in res.x)
    return ConeFit(np.array([cx, cy, cpsi]), s, k, b, float(res.cost))


class OffsetPolicy(BasePolicy):
    """Holds one adjustment and ignores the observation.

    ``offset`` and ``spread`` are buffers (saved with the model) in action units: fractional grid
    indices for a MultiDiscrete grid, the continuous action for a Box. ``predict(obs,
    deterministic=True)`` returns the offset snapped to the grid (rounded, clipped to the grid);
    otherwise a normal sample of sd ``spread`` around it, snapped the same way.
    """

    offset: th.Tensor
    spread: th.Tensor
    action_low: th.Tensor
    action_high: th.Tensor

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule: Schedule | None = None) -> None:
        check_calibration_spaces(observation_space, action_space)
        super().__init__(observation_space, action_space)
        self.grid = isinstance(action_space, spaces.MultiDiscrete)
        if isinstance(action_space, spaces.MultiDiscrete):
            low, high = np.zeros(3), action_space.nvec - 1.0
        else:
            assert isinstance(action_space, spaces.Box)
            low, high = action_space.low, action_space.high
        self.register_buffer("offset", th.as_tensor((np.asarray(low) + high) / 2.0, dtype=th.float32))
        self.register_buffer("spread", th.zeros(3))
        self.register_buffer("action_low", th.as_tensor(low, dtype=th.float32))
        self.register_buffer("action_high", th.as_tensor(high, dtype=th.float32))

    def set_offset(self, offset: np.ndarray, spread: np.ndarray) -> None:
        """Hold ``offset`` (3,) with sampling sd ``spread`` (3,), both in action units."""
        self.offset.copy_(th.as_tensor(offset, dtype=th.float32))
        self.spread.copy_(th.as_tensor(spread, dtype=th.float32))

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        assert isinstance(observation, dict)
        n = observation[POSE_KEY].shape[0]
        action = self.offset.expand(n, 3)
        if not deterministic:
            action = action + self.spread * th.randn(n, 3, device=self.offset.device)
        action = th.minimum(th.maximum(action, self.action_low), self.action_high)
        return th.round(action).long() if self.grid else action


class OffsetCalibration(OneStepAlgorithm[OffsetPolicy]):
    """Reward-only offset calibration (see the module docstring for the method and its defaults).

    :param policy: "OffsetPolicy" (or "MultiInputPolicy", the same).
    :param env: a cell-plate env (grid or continuous actions), its id, or a one-env VecEnv.
    :param initial_trials: trials around the zero adjustment before the first fit (>= 8).
    :param initial_spread: their normal spread per axis (Δx mm, Δy mm, Δψ degrees).
    :param min_spread: the smallest spread of later trials (default: one grid step per axis;
        on a continuous env 1 mm, 1 mm, 0.5°).
    :param reward_length_m: L of the reward (default: the env's ``reward_length_m``, else 0.1 m).
    :param data_dir, stats_window_size, tensorboard_log, verbose, seed, device: as the other agents.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"OffsetPolicy": OffsetPolicy, "MultiInputPolicy": OffsetPolicy}
    policy_base: ClassVar[type[BasePolicy]] = OffsetPolicy

    def __init__(
        self,
        policy: str | type[OffsetPolicy],
        env: GymEnv | str | None,
        initial_trials: int = INITIAL_TRIALS,
        initial_spread: Sequence[float] = INITIAL_SPREAD,
        min_spread: Sequence[float] | None = None,
        reward_length_m: float | None = None,
        data_dir: str | Path | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if int(initial_trials) < 8:
            raise ValueError(f"initial_trials must be >= 8 (the fit has 6 parameters), got {initial_trials}")
        for name, value in (("initial_spread", initial_spread), ("min_spread", min_spread)):
            if value is not None and (len(value) != 3 or not all(math.isfinite(v) and v > 0 for v in value)):
                raise ValueError(f"{name} must be 3 numbers > 0 (Δx mm, Δy mm, Δψ degrees), got {list(value)}")
        if reward_length_m is not None and not (math.isfinite(reward_length_m) and reward_length_m > 0):
            raise ValueError(f"reward_length_m must be a length > 0 in metres, got {reward_length_m}")
        super().__init__(
            policy,
            env,
            learning_rate=0.0,  # no gradient steps
            data_dir=data_dir,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.initial_trials = int(initial_trials)
        self.initial_spread = [float(v) for v in initial_spread]
        if self.env is not None:
            self._action_origin, self._action_scale = self._action_map()
            env_length = self.env.get_attr("reward_length_m")[0] if self.env.has_attr("reward_length_m") else None
        else:
            self._action_origin, self._action_scale, env_length = [0.0] * 3, [1.0] * 3, None
        self.reward_length_m = float(reward_length_m or env_length or 0.1)
        self.min_spread = None if min_spread is None else [float(v) for v in min_spread]
        #: every trial's [Δx mm, Δy mm, Δψ deg, implied error mm (capped), failed 0/1]
        self.points: list[list[float]] = []
        self.fit: ConeFit | None = None
        if _init_setup_model:
            self._setup_model()

    # -- set-up ---------------------------------------------------------------------------------------
    @property
    def grid_actions(self) -> bool:
        return isinstance(self.action_space, spaces.MultiDiscrete)

    @staticmethod
    def _check_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
        check_calibration_spaces(observation_space, action_space)

    def _action_map(self) -> tuple[list[float], list[float]]:
        """``(origin, scale)`` with adjustment [m, m, rad] = origin + action·scale (both grids and
        continuous actions map affinely), from the env's ``action_to_adjustment``."""
        assert self.env is not None
        dtype = np.int64 if self.grid_actions else np.float32
        try:
            a0, a1 = (np.asarray(self.env.env_method("action_to_adjustment", np.full(3, v, dtype))[0]) for v in (0, 1))
        except AttributeError:
            raise IncompatibleEnvError(f"{_EXPECTED}; this env has no action_to_adjustment()") from None
        return a0.tolist(), (a1 - a0).tolist()

    def _setup_model(self) -> None:
        super()._setup_model()
        if not self.points:  # a new model starts at the zero adjustment (a loaded one gets its buffers)
            self._hold(np.zeros(3), np.asarray(self.initial_spread))

    def _optimizer_state_names(self) -> list[str]:
        return []  # no optimizer

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "fit"]

    def _min_spread(self) -> np.ndarray:
        """``min_spread``, by default one grid step per axis (continuous actions: 1 mm, 1 mm, 0.5°)."""
        if self.min_spread is not None:
            return np.asarray(self.min_spread)
        return np.abs(self._mm_deg(np.array(self._action_scale))) if self.grid_actions else np.array([1.0, 1.0, 0.5])

    @staticmethod
    def _mm_deg(si: np.ndarray) -> np.ndarray:
        """[m, m, rad] → [mm, mm, deg]."""
        return np.array([si[0] * 1000.0, si[1] * 1000.0, math.degrees(si[2])])

    def _to_action_units(self, mm_deg: np.ndarray) -> np.ndarray:
        si = np.array([mm_deg[0] / 1000.0, mm_deg[1] / 1000.0, math.radians(mm_deg[2])])
        return (si - np.array(self._action_origin)) / np.array(self._action_scale)

    def _hold(self, centre: np.ndarray, spread: np.ndarray) -> None:
        """The policy holds ``centre`` with sampling spread ``spread`` (both mm, mm, deg)."""
        scale = np.abs(self._mm_deg(np.array(self._action_scale)))
        self.policy.set_offset(self._to_action_units(centre), spread / scale)

    # -- the trial loop -------------------------------------------------------------------------------
    def _trial_action(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        with th.no_grad():
            return self.policy(obs_as_tensor(obs, self.device)).cpu().numpy()

    def implied_error_mm(self, reward: float, failed: bool) -> float:
        """``-L·ln r`` in mm, capped at :data:`FAILURE_ERROR_MM` (a failure, r = 0, is stored as the cap;
        the fit takes it as a lower bound)."""
        if failed or not reward > 0.0:
            return FAILURE_ERROR_MM
        return min(-1000.0 * self.reward_length_m * math.log(min(reward, 1.0)), FAILURE_ERROR_MM)

    def _process_trial(self, trial: Trial) -> None:
        if not math.isfinite(trial.reward):  # no measurement in the log: nothing to learn
            return
        adjustment = np.array(self._action_origin) + np.asarray(trial.action, dtype=np.float64) * np.array(self._action_scale)
        failed = trial.record.get("failure") is not None or not trial.reward > 0.0  # every failure scores 0
        self.points.append([*self._mm_deg(adjustment).tolist(), self.implied_error_mm(trial.reward, failed), float(failed)])
        self._refit()

    def _refit(self) -> None:
        """Refit after a trial and move the policy to the new apex and spread (once there are enough trials)."""
        n = len(self.points)
        if n < self.initial_trials:
            return
        data = np.asarray(self.points)
        reach = np.abs(self._mm_deg(np.array(self._action_origin)))  # the grid's (or the Box's) half range
        if not self.grid_actions:
            reach = np.abs(self._mm_deg(np.array(self._action_scale)))
        start = None if self.fit is None else self.fit.centre
        failed, errors = data[:, 4] == 1, data[:, 3].copy()
        errors[failed] = errors[~failed].max() if np.any(~failed) else FAILURE_ERROR_MM  # "at least this"
        self.fit = fit_cone(data[:, :3], errors, reach, self.initial_spread[2], start, at_least=failed)
        shrink = math.sqrt(self.initial_trials / n)
        spread = np.maximum(self._min_spread(), np.asarray(self.initial_spread) * shrink)
        self._hold(self.fit.centre, spread)
        for name, value in zip(("x_mm", "y_mm", "yaw_deg"), self.fit.centre, strict=True):
            self.logger.record(f"calibration/offset_{name}", value)
        self.logger.record("calibration/spread_xy_mm", float(spread[0]))
        self.logger.record("calibration/cone_s_mm", self.fit.s_mm)
        self.logger.record("calibration/floor_mm", self.fit.s_mm + self.fit.b_mm)

    def calibration(self) -> np.ndarray:
        """The current calibration [Δx m, Δy m, Δψ rad] (before the first fit: zeros)."""
        centre = self.fit.centre if self.fit is not None else self._held_mm_deg()
        return np.array([centre[0] / 1000.0, centre[1] / 1000.0, math.radians(centre[2])])

    def _held_mm_deg(self) -> np.ndarray:
        offset = self.policy.offset.cpu().numpy().astype(np.float64)
        return self._mm_deg(np.array(self._action_origin) + offset * np.array(self._action_scale))


__all__ = ["ConeFit", "OffsetCalibration", "OffsetPolicy", "check_calibration_spaces", "fit_cone"]
