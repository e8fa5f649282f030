"""The physical sources of pick-pose error in the simulated cell, as seeded, documented parameters.

The policy's job is to correct the error of the estimated pick pose. On a real cell that error
comes from calibration and optics, not from a formula, so the twin reproduces the same causes
and lets the same localisation code run on rendered frames:

* **Extrinsic miscalibration** (``extrinsic_rot_deg``, ``extrinsic_trans_mm``): the camera-to-
  base transform the pipeline believes differs from the true mounting. A board-based extrinsic
  calibration is typically good to a few tenths of a degree and a few millimetres; at 1 m
  range 0.3° alone moves a point by 5 mm. Systematic, and a smooth function of where the
  plate lies: learnable from P^e.
* **Unmodelled lens distortion** (``lens_distortion``): the true lens has small Brown-Conrady
  terms; the pipeline deprojects with the pinhole model (paper eq. 13). Shifts grow with the
  distance from the image centre (a pixel or two at the plate's positions).
* **Depth noise** (``depth_noise_subpixel``, ``depth_scale_error``): active-stereo RMS
  ``σ_z = z² · s / (f_d · b)`` with the D435's 50 mm baseline, a depth focal length of about
  385 px and subpixel RMS ``s`` ≈ 0.08 (≈ 4 mm per pixel at 1 m; averaging over the plate's
  mask leaves a fraction of a millimetre); plus a small systematic scale error.
* **Perspective** is not a parameter: the renderer shows the side faces of a 14 mm tall plate
  seen off-axis, which widens the mask toward the optical axis and biases the box centre.
* **TCP offset** (``tcp_offset_mm``): the gripper sits slightly off the TCP the controller is
  told (mounting tolerance), in the tool frame.
* **Jaw asymmetry** (``jaw_asymmetry_mm``): one pad closes further than the other; the plate
  is centred about a point shifted by half the difference along the closing axis.
* **Sensor noise** (``color_noise_std``): per-pixel colour noise, intensity levels.
* **Arm absolute accuracy** (``joint_zero_offsets_deg``, ``link_origin_errors_mm``): the
  MuJoCo arm is the *true* arm; the controller solves IK on the *nominal* kinematics
  (``assets/xarm6_bio.xml`` alone). The true arm's joint zeros and joint origins differ from
  the nominal ones by assembly and encoder-referencing tolerances, so the TCP lands off the
  commanded pose by an amount that changes with the configuration over the workspace (a joint-1
  zero offset δ moves the TCP by r·δ at radius r; a joint-2 offset tilts the whole arm). An
  xArm 6 repeats to ±0.1 mm (UFACTORY xArm user manual, "Technical Specifications"), but
  manufacturers do not specify absolute accuracy: uncalibrated 6-axis arms are typically an
  order of magnitude or more worse than their repeatability, i.e. a few millimetres (ISO 9283
  accuracy vs repeatability as discussed in RoboDK/robotauto's "Repeatability and accuracy of
  industrial robots"; Universal Robots' "Kinematic Robot Calibration" article: millimetres
  between two arms of one model when stretched out; MUKCa, "Accurate and Affordable Cobot
  Calibration Without External Measurement Devices", arXiv 2503.12584: millimetre-level mean
  error of uncalibrated Franka and Kuka cobots). Kinematic-calibration studies identify joint
  offsets of a few hundredths to a few tenths of a degree and link-parameter deviations of
  tenths of a millimetre (e.g. the identified DH tables of "An optimization technique for
  identifying robot manipulator parameters under uncertainty", SpringerPlus 2016). Spreads: 0.1°
  per joint zero and 0.3 mm per joint-origin axis. Over the reset area and every yaw, 12 drawn
  arms put the TCP 0.3-3.9 mm RMS off the commanded pose (median 1.7 mm), and 0.3-1.8 mm RMS
  of that changes with the configuration (the rest is a common offset); the default arm is
  the median one (``tests/env/test_arm_model.py`` checks the range).
* **Camera mounting** (``camera_mount_offset_mm``, ``camera_mount_rot_deg``): the true mount
  of this cell relative to the one in ``assets/cell.xml`` (which is already a few degrees off
  overhead and off the table centre). The calibration knows the true mount up to the extrinsic
  error above; the mount changes where perspective and distortion bias the estimate. Drawn
  cells move it by 10 mm and 0.7° (1 sd per axis), a mount built to the cell's drawing.

Defaults are fixed before any method is compared and are never tuned per method.
:meth:`ErrorSources.ideal` switches every source off; :meth:`ErrorSources.sample` draws a cell
from the documented spreads, for studies across cells.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from rmrl_env.errors import ConfigError


@dataclass(frozen=True)
class ErrorSources:
    """Error sources of a simulated cell (see the module docstring for the physics).

    Attributes:
        extrinsic_rot_deg: believed-minus-true camera rotation, rotation vector about the base
            x, y, z axes through the camera centre, degrees.
        extrinsic_trans_mm: believed-minus-true camera position, base frame, millimetres.
        lens_distortion: the true lens's ``(k1, k2, p1, p2, k3)``; the pipeline assumes zero.
        depth_noise_subpixel: stereo matching RMS, pixels (0 disables depth noise).
        depth_baseline_m: stereo baseline, metres.
        depth_focal_px: focal length of the depth imagers, pixels.
        depth_scale_error: relative systematic depth error (0.002 = +2 mm at 1 m).
        tcp_offset_mm: true minus configured TCP, tool frame (x along the plate's long axis,
            y along the closing axis, z down), millimetres.
        jaw_asymmetry_mm: how much further the right pad stops than the left, millimetres.
        color_noise_std: colour sensor noise, standard deviation in intensity levels (0-255).
        joint_zero_offsets_deg: true minus nominal zero of joints 1-6, degrees (the true joint
            angle is the commanded one plus this).
        link_origin_errors_mm: true minus nominal origin of joints 1-6 in their parent link's
            frame, millimetres, 18 values (x, y, z of joint 1, then joint 2, ...).
        camera_mount_offset_mm: this cell's camera position minus the one in ``cell.xml``, base
            frame, millimetres.
        camera_mount_rot_deg: this cell's camera orientation relative to the one in
            ``cell.xml``, rotation vector about the base axes through the camera centre, degrees.
    """

    extrinsic_rot_deg: tuple[float, float, float] = (0.10, -0.20, 0.20)
    extrinsic_trans_mm: tuple[float, float, float] = (1.0, -1.0, 1.5)
    lens_distortion: tuple[float, float, float, float, float] = (-0.06, 0.08, 0.0005, -0.0003, 0.0)
    depth_noise_subpixel: float = 0.08
    depth_baseline_m: float = 0.050
    depth_focal_px: float = 385.0
    depth_scale_error: float = 0.002
    tcp_offset_mm: tuple[float, float, float] = (0.8, -0.5, 0.0)
    jaw_asymmetry_mm: float = 0.6
    color_noise_std: float = 2.0
    # The default arm: the arm of cell_seed 0 (rounded), whose TCP error over the reset area,
    # 1.7 mm RMS, is the median of drawn arms (see the module docstring).
    joint_zero_offsets_deg: tuple[float, ...] = (-0.022, -0.125, -0.073, -0.054, -0.032, 0.041)
    link_origin_errors_mm: tuple[float, ...] = (
        *(0.31, -0.04, 0.41),
        *(-0.20, 0.11, 0.27),
        *(0.03, -0.22, -0.28),
        *(-0.14, 0.07, -0.30),
        *(-0.06, -0.05, 0.16),
        *(0.06, 0.11, -0.20),
    )
    camera_mount_offset_mm: tuple[float, ...] = (0.0, 0.0, 0.0)
    camera_mount_rot_deg: tuple[float, ...] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
                raise ConfigError(f"error source {f.name} must be finite numbers, got {value!r}")
        sizes = {
            "extrinsic_rot_deg": 3,
            "extrinsic_trans_mm": 3,
            "lens_distortion": 5,
            "tcp_offset_mm": 3,
            "joint_zero_offsets_deg": 6,
            "link_origin_errors_mm": 18,
            "camera_mount_offset_mm": 3,
            "camera_mount_rot_deg": 3,
        }
        for name, n in sizes.items():
            if len(getattr(self, name)) != n:
                raise ConfigError(f"error source {name} needs {n} values, got {getattr(self, name)!r}")
        if max(abs(v) for v in self.extrinsic_rot_deg) > 5:
            raise ConfigError(f"extrinsic_rot_deg {self.extrinsic_rot_deg} is beyond ±5°: no calibrated cell is that far off")
        if max(abs(v) for v in self.extrinsic_trans_mm) > 50:
            raise ConfigError(f"extrinsic_trans_mm {self.extrinsic_trans_mm} is beyond ±50 mm")
        if max(abs(v) for v in self.tcp_offset_mm) > 10:
            raise ConfigError(f"tcp_offset_mm {self.tcp_offset_mm} is beyond ±10 mm")
        if abs(self.jaw_asymmetry_mm) > 5:
            raise ConfigError(f"jaw_asymmetry_mm {self.jaw_asymmetry_mm} is beyond ±5 mm")
        if max(abs(v) for v in self.joint_zero_offsets_deg) > 1:
            raise ConfigError(f"joint_zero_offsets_deg {self.joint_zero_offsets_deg} is beyond ±1°: re-reference the arm")
        if max(abs(v) for v in self.link_origin_errors_mm) > 5:
            raise ConfigError("link_origin_errors_mm is beyond ±5 mm: no assembled arm is that far off")
        if max(abs(v) for v in self.camera_mount_offset_mm) > 100:
            raise ConfigError(f"camera_mount_offset_mm {self.camera_mount_offset_mm} is beyond ±100 mm")
        if max(abs(v) for v in self.camera_mount_rot_deg) > 10:
            raise ConfigError(f"camera_mount_rot_deg {self.camera_mount_rot_deg} is beyond ±10°")
        if self.depth_noise_subpixel < 0 or self.color_noise_std < 0:
            raise ConfigError("depth_noise_subpixel and color_noise_std must be >= 0")
        if self.depth_baseline_m <= 0 or self.depth_focal_px <= 0:
            raise ConfigError("depth_baseline_m and depth_focal_px must be > 0")
        if abs(self.depth_scale_error) > 0.05:
            raise ConfigError(f"depth_scale_error {self.depth_scale_error} is beyond ±5 %")

    @classmethod
    def ideal(cls) -> ErrorSources:
        """A perfectly calibrated, noise-free cell (perspective remains: it is geometry)."""
        return cls(
            extrinsic_rot_deg=(0.0, 0.0, 0.0),
            extrinsic_trans_mm=(0.0, 0.0, 0.0),
            lens_distortion=(0.0, 0.0, 0.0, 0.0, 0.0),
            depth_noise_subpixel=0.0,
            depth_scale_error=0.0,
            tcp_offset_mm=(0.0, 0.0, 0.0),
            jaw_asymmetry_mm=0.0,
            color_noise_std=0.0,
            joint_zero_offsets_deg=(0.0,) * 6,
            link_origin_errors_mm=(0.0,) * 18,
        )

    @classmethod
    def sample(cls, rng: np.random.Generator) -> ErrorSources:
        """Draw a cell: each systematic source from a zero-mean normal with the spread of a
        careful lab calibration (0.2° and 1.5 mm extrinsics, k1 0.05, 0.5 mm TCP, 0.4 mm jaws),
        of an uncalibrated arm (0.1° joint zeros, 0.3 mm joint origins) and of a camera mount
        built to the cell's drawing (0.7° about each axis, 10 mm in each direction, so that the
        reset area and the receptacles stay in view). Noise parameters keep their defaults."""
        return cls(
            extrinsic_rot_deg=tuple(float(v) for v in rng.normal(0.0, 0.2, 3)),  # type: ignore[arg-type]
            extrinsic_trans_mm=tuple(float(v) for v in rng.normal(0.0, 1.5, 3)),  # type: ignore[arg-type]
            lens_distortion=(
                float(rng.normal(0, 0.05)),
                float(rng.normal(0, 0.05)),
                float(rng.normal(0, 5e-4)),
                float(rng.normal(0, 5e-4)),
                0.0,
            ),
            tcp_offset_mm=tuple(float(v) for v in (*rng.normal(0.0, 0.5, 2), 0.0)),  # type: ignore[arg-type]
            jaw_asymmetry_mm=float(rng.normal(0.0, 0.4)),
            joint_zero_offsets_deg=_draw(rng, 0.1, 6),
            link_origin_errors_mm=_draw(rng, 0.3, 18),
            camera_mount_offset_mm=_draw(rng, 10.0, 3),
            camera_mount_rot_deg=_draw(rng, 0.7, 3),
        )

    def replace(self, **changes: object) -> ErrorSources:
        """A copy with some fields changed (sequences are converted to tuples)."""
        data = asdict(self)
        for key, value in changes.items():
            if key not in data:
                raise ConfigError(f"unknown error source {key!r}; valid names: {sorted(data)}")
            data[key] = tuple(float(v) for v in value) if isinstance(value, (list, tuple, np.ndarray)) else value
        return ErrorSources(**data)

    @staticmethod
    def field_names() -> list[str]:
        return [f.name for f in fields(ErrorSources)]


def _draw(rng: np.random.Generator, sd: float | tuple[float, ...], n: int) -> tuple[float, ...]:
    """``n`` zero-mean normal draws with standard deviation(s) ``sd``, clipped to 3 sd."""
    sd_arr = np.broadcast_to(np.asarray(sd, dtype=float), (n,))
    return tuple(float(v) for v in np.clip(rng.normal(0.0, 1.0, n), -3.0, 3.0) * sd_arr)
