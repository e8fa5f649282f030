"""The printed calibration boards: a ChArUco board for intrinsics, an ArUco / AprilTag grid for extrinsics.

Sizes in metres. The defaults here are the defaults of ``rmrl calibrate`` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from rmrl_env.errors import CalibrationError

#: Marker dictionaries accepted by name (``cv2.aruco.DICT_*``).
DICTIONARIES = sorted(n[len("DICT_") :] for n in dir(cv2.aruco) if n.startswith("DICT_") and n == n.upper())


def aruco_dictionary(name: str) -> cv2.aruco.Dictionary:
    """The predefined dictionary ``name`` (e.g. ``"5X5_100"``, ``"APRILTAG_36H11"``; ``DICT_`` optional)."""
    key = name.upper().removeprefix("DICT_")
    if key not in DICTIONARIES:
        raise CalibrationError(f"unknown marker dictionary {name!r}; choose one of {DICTIONARIES}")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, "DICT_" + key))


@dataclass(frozen=True)
class CharucoBoardSpec:
    """A ChArUco board for intrinsics (squares along x and y, sizes in metres).

    The defaults (7 x 5 squares of 30 mm, 22 mm markers) are also those of ``rmrl calibrate``.
    """

    squares_x: int = 7
    squares_y: int = 5
    square_m: float = 0.030
    marker_m: float = 0.022
    dictionary: str = "5X5_100"

    def __post_init__(self) -> None:
        if self.squares_x < 3 or self.squares_y < 3:
            raise CalibrationError(f"a ChArUco board needs at least 3x3 squares, got {self.squares_x}x{self.squares_y}")
        if not 0 < self.marker_m < self.square_m:
            raise CalibrationError(
                f"the marker size ({self.marker_m} m) must be positive and smaller than the square ({self.square_m} m)"
            )

    def board(self) -> cv2.aruco.CharucoBoard:
        return cv2.aruco.CharucoBoard(
            (self.squares_x, self.squares_y), self.square_m, self.marker_m, aruco_dictionary(self.dictionary)
        )


@dataclass(frozen=True)
class GridBoardSpec:
    """An ArUco / AprilTag grid board for extrinsics (markers along x and y, sizes in metres).

    The board frame has its origin at the outer corner of the top-left marker as printed, x
    along the rows, y along the columns (OpenCV's convention), z out of the printed face.
    The defaults (5 x 4 markers of 60 mm, 15 mm apart: 360 x 285 mm) fit an A3 print; they are
    also the defaults of ``rmrl calibrate``.
    """

    markers_x: int = 5
    markers_y: int = 4
    marker_m: float = 0.060
    separation_m: float = 0.015
    dictionary: str = "APRILTAG_36H11"

    def __post_init__(self) -> None:
        if self.markers_x < 1 or self.markers_y < 1 or self.marker_m <= 0 or self.separation_m < 0:
            raise CalibrationError(f"invalid grid board {self}")

    def board(self) -> cv2.aruco.GridBoard:
        return cv2.aruco.GridBoard(
            (self.markers_x, self.markers_y), self.marker_m, self.separation_m, aruco_dictionary(self.dictionary)
        )

    @property
    def size_m(self) -> tuple[float, float]:
        """Printed width and height of the board, metres."""
        return (
            self.markers_x * self.marker_m + (self.markers_x - 1) * self.separation_m,
            self.markers_y * self.marker_m + (self.markers_y - 1) * self.separation_m,
        )
