"""Camera calibration for the real cell (paper §4.1), with OpenCV's ArUco module.

* The printed boards (:mod:`rmrl_env.perception.boards`).
* Intrinsics from several views of a ChArUco board: camera matrix, Brown-Conrady distortion
  ``(k1, k2, p1, p2, k3)`` and the RMS reprojection error (pixels).
* Extrinsics from one view of an ArUco / AprilTag grid board lying on the table at a measured
  pose in the robot base frame: ``camera_to_base = board_to_base ∘ (board_to_camera)⁻¹``.
* The calibration file: JSON with a versioned schema, read and written here; the real config
  names it (``calibration_file``).

Units: metres and radians in the library, pixels for image quantities; the board sizes in the
CLI are millimetres because that is what a ruler shows.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rmrl_env.errors import CalibrationError
from rmrl_env.perception.boards import CharucoBoardSpec, GridBoardSpec
from rmrl_env.protocols import CameraIntrinsics, RigidTransform

CALIBRATION_SCHEMA_VERSION = 1
#: Fields of a measured target in the calibration file (metres, radians).
TARGET_KEYS = ("x_m", "y_m", "yaw_rad", "top_z_m")

# ---------------------------------------------------------------------------------------------
# Intrinsics
# ---------------------------------------------------------------------------------------------


@dataclass
class IntrinsicsResult:
    """Outcome of an intrinsics calibration.

    Attributes:
        intrinsics: camera matrix and distortion.
        rms_px: RMS reprojection error over all corners, pixels.
        views_used: images in which the board was found.
        per_view_rms_px: RMS reprojection error of each used image, pixels.
    """

    intrinsics: CameraIntrinsics
    rms_px: float
    views_used: int
    per_view_rms_px: list[float] = field(default_factory=list)


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    return image


def detect_charuco(image: np.ndarray, spec: CharucoBoardSpec) -> tuple[np.ndarray, np.ndarray] | None:
    """Object points (N, 3) m and image points (N, 2) px of the ChArUco corners found, or None."""
    board = spec.board()
    detector = cv2.aruco.CharucoDetector(board)
    corners, ids, _, _ = detector.detectBoard(_gray(image))
    if ids is None or len(ids) < 6:
        return None
    obj, img = board.matchImagePoints(corners, ids)
    if obj is None or len(obj) < 6:
        return None
    return obj.reshape(-1, 3).astype(np.float32), img.reshape(-1, 2).astype(np.float32)


def calibrate_intrinsics(
    images: Iterable[np.ndarray], spec: CharucoBoardSpec, min_views: int = 5, fix_k3: bool = True
) -> IntrinsicsResult:
    """Calibrate the pinhole model and distortion from ChArUco board images.

    Args:
        images: RGB or grey images of the board from different viewpoints (same size).
        spec: the printed board.
        min_views: fewest images in which the board must be found.
        fix_k3: keep the sixth-order radial term at 0 (it is poorly constrained for the D435's
            narrow lens and over-fits; the stored k3 is then 0).

    Raises:
        CalibrationError: images differ in size or the board was found in too few of them.
    """
    obj_points, img_points = [], []
    size: tuple[int, int] | None = None
    total = 0
    for image in images:
        total += 1
        h, w = np.asarray(image).shape[:2]
        if size is None:
            size = (w, h)
        elif size != (w, h):
            raise CalibrationError(f"all calibration images must have the same size; got {size} and {(w, h)} (width, height)")
        found = detect_charuco(image, spec)
        if found is not None:
            obj_points.append(found[0])
            img_points.append(found[1])
    if size is None or len(obj_points) < min_views:
        raise CalibrationError(
            f"the ChArUco board was found in {len(obj_points)} of {total} images, need {min_views}: "
            "check the board parameters (squares, sizes, dictionary) and take more, sharper views"
        )
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(obj_points, img_points, size, None, None, flags=flags)
    per_view = []
    for obj, img, rvec, tvec in zip(obj_points, img_points, rvecs, tvecs, strict=False):
        proj, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
        per_view.append(float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - img) ** 2, axis=1)))))
    d = np.asarray(dist, dtype=np.float64).reshape(-1)
    coeffs = tuple(float(v) for v in np.pad(d, (0, max(0, 5 - d.size)))[:5])
    intrinsics = CameraIntrinsics(size[0], size[1], float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), coeffs)  # type: ignore[arg-type]
    return IntrinsicsResult(intrinsics, float(rms), len(obj_points), per_view)


# ---------------------------------------------------------------------------------------------
# Extrinsics
# ---------------------------------------------------------------------------------------------


def rotation_z(yaw_rad: float) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def board_to_base(x_m: float, y_m: float, z_m: float, yaw_rad: float) -> RigidTransform:
    """Pose of a board lying face-up on the table, measured in the robot base frame.

    ``(x_m, y_m, z_m)`` is the board origin (outer corner of the first marker as printed),
    ``yaw_rad`` the angle of the board's x axis from the base x axis. Face-up: the board's z
    axis points down into the table in OpenCV's board convention (x right, y down on the
    print), so the board frame is the table frame rotated by pi about its x axis.
    """
    flip = np.diag([1.0, -1.0, -1.0])
    return RigidTransform(rotation_z(yaw_rad) @ flip, np.array([x_m, y_m, z_m], dtype=np.float64))


@dataclass
class ExtrinsicsResult:
    """Outcome of an extrinsics calibration.

    Attributes:
        camera_to_base: transform from the camera (OpenCV axes) to the robot base.
        board_to_camera: the board's pose seen by the camera.
        rms_px: RMS reprojection error of the marker corners, pixels.
        markers_used: markers found.
    """

    camera_to_base: RigidTransform
    board_to_camera: RigidTransform
    rms_px: float
    markers_used: int


def estimate_board_pose(
    image: np.ndarray, spec: GridBoardSpec, intrinsics: CameraIntrinsics
) -> tuple[RigidTransform, float, int]:
    """Board-to-camera transform from one image (solvePnP on all marker corners found).

    Returns:
        (board_to_camera, rms_px, markers_found).

    Raises:
        CalibrationError: fewer than 2 markers of the board found.
    """
    board = spec.board()
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX  # sub-pixel corners: the pose needs them
    detector = cv2.aruco.ArucoDetector(board.getDictionary(), params)
    corners, ids, _ = detector.detectMarkers(_gray(image))
    if ids is None or len(ids) < 2:
        raise CalibrationError(
            f"found {0 if ids is None else len(ids)} markers of the {spec.markers_x}x{spec.markers_y} board, need 2: "
            "check the dictionary, that the board is in view and lit evenly"
        )
    obj, img = board.matchImagePoints(corners, ids)
    if obj is None or len(obj) < 8:
        raise CalibrationError(
            "the markers found do not belong to the configured board: check markers_x/markers_y and the dictionary"
        )
    obj = obj.reshape(-1, 3).astype(np.float64)
    img = img.reshape(-1, 2).astype(np.float64)
    k = intrinsics.matrix
    dist = np.asarray(intrinsics.distortion, dtype=np.float64)
    ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise CalibrationError("solvePnP failed on the board's corners")
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, dist, rvec, tvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    rms = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - img) ** 2, axis=1))))
    rot, _ = cv2.Rodrigues(rvec)
    return RigidTransform(rot, tvec.reshape(3)), rms, len(ids)


def calibrate_extrinsics(
    image: np.ndarray, spec: GridBoardSpec, intrinsics: CameraIntrinsics, board_in_base: RigidTransform
) -> ExtrinsicsResult:
    """Camera-to-base transform from one view of a board at a measured pose on the table."""
    board_to_camera, rms, n = estimate_board_pose(image, spec, intrinsics)
    camera_to_base = board_in_base.compose(board_to_camera.inverse())
    return ExtrinsicsResult(camera_to_base, board_to_camera, rms, n)


# ---------------------------------------------------------------------------------------------
# The calibration file
# ---------------------------------------------------------------------------------------------


@dataclass
class Calibration:
    """Contents of a calibration file.

    Attributes:
        intrinsics: colour-camera intrinsics (None until ``rmrl calibrate intrinsics`` ran).
        intrinsics_rms_px: their RMS reprojection error, pixels.
        camera_to_base: extrinsics (None until ``rmrl calibrate extrinsics`` ran).
        extrinsics_rms_px: RMS reprojection error of the extrinsics board, pixels.
        targets: the plate as measured seated in each receptacle (the paper's P^target),
            by receptacle name: ``{"x_m", "y_m", "yaw_rad", "top_z_m"}``; written by
            ``rmrl calibrate target``.
        created: ISO date-time of the last change.
        notes: free-form provenance (board parameters, image count).
    """

    intrinsics: CameraIntrinsics | None = None
    intrinsics_rms_px: float | None = None
    camera_to_base: RigidTransform | None = None
    extrinsics_rms_px: float | None = None
    targets: dict[str, dict[str, float]] = field(default_factory=dict)
    created: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": CALIBRATION_SCHEMA_VERSION,
            "created": self.created or _now(),
            "notes": self.notes,
        }
        if self.intrinsics is not None:
            i = self.intrinsics
            out["intrinsics"] = {
                "width": i.width,
                "height": i.height,
                "camera_matrix": i.matrix.tolist(),
                "distortion": list(i.distortion),
                "reprojection_error_px": self.intrinsics_rms_px,
            }
        if self.camera_to_base is not None:
            out["camera_to_base"] = {
                "rotation": np.asarray(self.camera_to_base.rotation).tolist(),
                "translation_m": np.asarray(self.camera_to_base.translation).reshape(3).tolist(),
                "reprojection_error_px": self.extrinsics_rms_px,
            }
        if self.targets:
            out["targets"] = {name: dict(values) for name, values in self.targets.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "calibration") -> Calibration:
        def fail(field_name: str, problem: str) -> CalibrationError:
            return CalibrationError(f"{where}: {field_name} {problem}")

        if not isinstance(data, dict):
            raise fail("the file", "must hold a JSON object")
        version = data.get("schema_version")
        if version != CALIBRATION_SCHEMA_VERSION:
            raise fail("schema_version", f"is {version!r}; this rmrl reads version {CALIBRATION_SCHEMA_VERSION}")
        cal = cls(created=str(data.get("created", "")), notes=dict(data.get("notes") or {}))
        if "intrinsics" in data:
            d = data["intrinsics"]
            try:
                k = np.asarray(d["camera_matrix"], dtype=np.float64)
                dist = np.asarray(d.get("distortion", [0.0] * 5), dtype=np.float64).reshape(-1)
                width, height = int(d["width"]), int(d["height"])
            except (KeyError, TypeError, ValueError) as err:
                raise fail(
                    "intrinsics", f"is malformed ({err}): it needs width, height, camera_matrix (3x3), distortion (5)"
                ) from None
            if k.shape != (3, 3) or not np.all(np.isfinite(k)) or k[0, 0] <= 0 or k[1, 1] <= 0:
                raise fail(
                    "intrinsics.camera_matrix", f"must be a finite 3x3 matrix with positive focal lengths, got {k.tolist()}"
                )
            if dist.size < 5 or not np.all(np.isfinite(dist)):
                raise fail("intrinsics.distortion", f"must hold 5 finite numbers (k1, k2, p1, p2, k3), got {dist.tolist()}")
            if width <= 0 or height <= 0:
                raise fail("intrinsics.width/height", f"must be positive, got {width}x{height}")
            k1, k2, p1, p2, k3 = (float(v) for v in dist[:5])
            cal.intrinsics = CameraIntrinsics(
                width, height, float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), (k1, k2, p1, p2, k3)
            )
            cal.intrinsics_rms_px = _opt_float(d.get("reprojection_error_px"))
        if "camera_to_base" in data:
            d = data["camera_to_base"]
            try:
                rot = np.asarray(d["rotation"], dtype=np.float64)
                trans = np.asarray(d["translation_m"], dtype=np.float64).reshape(-1)
            except (KeyError, TypeError, ValueError) as err:
                raise fail("camera_to_base", f"is malformed ({err}): it needs rotation (3x3) and translation_m (3)") from None
            if (
                rot.shape != (3, 3)
                or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-5)
                or not np.isclose(np.linalg.det(rot), 1.0, atol=1e-5)
            ):
                raise fail("camera_to_base.rotation", "is not a rotation matrix (orthonormal, det +1)")
            if trans.shape != (3,) or not np.all(np.isfinite(trans)):
                raise fail("camera_to_base.translation_m", f"must be 3 finite numbers (metres), got {trans.tolist()}")
            cal.camera_to_base = RigidTransform(rot, trans)
            cal.extrinsics_rms_px = _opt_float(d.get("reprojection_error_px"))
        for name, values in (data.get("targets") or {}).items():
            try:
                cal.targets[name] = {k: float(values[k]) for k in TARGET_KEYS}
            except (KeyError, TypeError, ValueError):
                raise fail(f"targets.{name}", f"must hold {list(TARGET_KEYS)} as numbers, got {values!r}") from None
        return cal


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration file.

    Raises:
        CalibrationError: the file is missing (saying which command writes it) or invalid.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CalibrationError(
            f"the calibration file {str(path)!r} does not exist: run `rmrl calibrate intrinsics` and "
            "`rmrl calibrate extrinsics` (see docs/real_cell.md), or fix calibration_file in the config"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CalibrationError(f"{path} is not valid JSON: {err}") from None
    return Calibration.from_dict(data, where=str(path))


def save_calibration(path: str | Path, calibration: Calibration) -> Path:
    """Write a calibration file atomically (write to a temporary file, then rename)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    calibration.created = _now()
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(calibration.to_dict(), indent=2) + "\n")
    tmp.replace(path)
    return path


def update_calibration(path: str | Path, **fields: Any) -> Calibration:
    """Load ``path`` if it exists, replace the given fields, save and return it."""
    path = Path(path).expanduser()
    cal = load_calibration(path) if path.is_file() else Calibration()
    for key, value in fields.items():
        if not hasattr(cal, key):
            raise AttributeError(f"Calibration has no field {key!r}")
        setattr(cal, key, value)
    save_calibration(path, cal)
    return cal


def undistort_maps(intrinsics: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray] | None:
    """Remap tables that remove the lens distortion while keeping K, or None when there is none."""
    if not any(abs(c) > 0 for c in intrinsics.distortion):
        return None
    k = intrinsics.matrix
    return cv2.initUndistortRectifyMap(
        k, np.asarray(intrinsics.distortion, dtype=np.float64), None, k, (intrinsics.width, intrinsics.height), cv2.CV_32FC1
    )
