"""The classical plate detector: a dark plate on a light bench, found by colour.

Fast and dependency-free (OpenCV only); the default in simulation and selectable on the real
cell. The mask goes to the shared localisation math in :mod:`rmrl_env.perception.localise`.
"""

from __future__ import annotations

import cv2
import numpy as np

from rmrl_env.errors import PlateNotFoundError
from rmrl_env.perception.localise import POSITION_METHODS, pose_from_mask
from rmrl_env.protocols import PlateDetection, RGBDFrame, RigidTransform

#: side of the blocks whose clusters are labelled one by one, pixels
_BLOCK = 8


class ClassicalLocaliser:
    """Segment the darkest large blob and localise it.

    Args:
        camera_to_base: believed camera-to-base extrinsics (OpenCV camera axes).
        dark_threshold: pixels whose brightest channel is below this (0-255) are plate
            candidates.
        min_area_px / max_area_px: accepted blob sizes, pixels (a 128 x 85 mm plate seen from
            1 m at f = 615 px covers about 4,100 px; a 44 mm deep-well plate seen off-axis
            adds its side faces; a standard plate standing on its 85 x 14 mm end still covers
            about 500 px, and is found, so that the routine can say it stands).
        position_method: ``"centroid"`` (sub-pixel, default) or ``"bbox"`` (the paper's); see
            :mod:`rmrl_env.perception.localise`.
    """

    def __init__(
        self,
        camera_to_base: RigidTransform,
        dark_threshold: int = 60,
        min_area_px: int = 300,
        max_area_px: int = 20000,
        position_method: str = "centroid",
    ) -> None:
        if position_method not in POSITION_METHODS:
            raise ValueError(f"position_method must be one of {POSITION_METHODS}, got {position_method!r}")
        self.position_method = position_method
        self.camera_to_base = camera_to_base
        self.dark_threshold = dark_threshold
        self.min_area_px = min_area_px
        self.max_area_px = max_area_px
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def segment(self, color: np.ndarray) -> np.ndarray:
        """The plate mask (bool H x W) of a colour image, or raise PlateNotFoundError."""
        # Dark where the brightest channel (HSV's V) is below the threshold, i.e. where every channel is.
        t = float(self.dark_threshold - 1)
        dark = cv2.inRange(color, (0.0, 0.0, 0.0), (t, t, t))
        dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, self._kernel)
        mask = self._largest_in_clusters(dark)
        if mask is not None:
            return mask
        # Components are labelled inside the box around every dark pixel: the same components, in
        # the same (raster) order, as over the whole image, at a fraction of the cost.
        x, y, w, h = cv2.boundingRect(dark)
        areas = np.zeros(0, dtype=np.int32)
        if w * h:
            _n, labels, stats, _ = cv2.connectedComponentsWithStats(dark[y : y + h, x : x + w], connectivity=8)
            areas = stats[1:, cv2.CC_STAT_AREA]
        ok = np.nonzero((areas >= self.min_area_px) & (areas <= self.max_area_px))[0]
        if ok.size == 0:
            largest = int(areas.max()) if areas.size else 0
            raise PlateNotFoundError(
                f"no dark region of plate size ({self.min_area_px}-{self.max_area_px} px) in the image; "
                f"the largest dark region has {largest} px. Check that the plate is in the camera's view, "
                "not occluded by the arm, and that the lighting gives a light bench and a dark plate"
            )
        best = 1 + ok[int(np.argmax(areas[ok]))]
        mask = np.zeros(dark.shape, dtype=bool)
        mask[y : y + h, x : x + w] = labels == best
        return mask

    def _largest_in_clusters(self, dark: np.ndarray) -> np.ndarray | None:
        """The mask of the largest plate-sized component, labelled cluster by cluster, or None when
        that cannot tell the answer alone (no plate-sized component, or two of the largest size:
        the caller's whole-box labelling then decides, and words the error).

        A pixel component lies inside one cluster of 8-connected dark 8 x 8 blocks (two 8-adjacent
        pixels lie in the same or 8-adjacent blocks), so each cluster's components, labelled in the
        cluster's own blocks, are whole components of the image; stray specks far from the plate no
        longer widen the box that is labelled."""
        rows, cols = dark.shape[0] // _BLOCK, dark.shape[1] // _BLOCK
        if rows * _BLOCK != dark.shape[0] or cols * _BLOCK != dark.shape[1]:
            return None
        blocks = cv2.resize(dark, (cols, rows), interpolation=cv2.INTER_AREA)  # > 0 where a block has a dark pixel
        n, clusters, stats, _ = cv2.connectedComponentsWithStats((blocks > 0).view(np.uint8), connectivity=8)
        best_area, best_mask, tie = 0, None, False
        for c in range(1, n):
            if stats[c, cv2.CC_STAT_AREA] * _BLOCK * _BLOCK < self.min_area_px:
                continue  # too few blocks to hold a plate
            bx, by, bw, bh = (int(v) for v in stats[c, :4])
            y, x, h, w = by * _BLOCK, bx * _BLOCK, bh * _BLOCK, bw * _BLOCK
            own = (clusters[by : by + bh, bx : bx + bw] == c).view(np.uint8)
            own = cv2.resize(own, (w, h), interpolation=cv2.INTER_NEAREST)
            part = cv2.bitwise_and(dark[y : y + h, x : x + w], dark[y : y + h, x : x + w], mask=own)
            _m, labels, cstats, _ = cv2.connectedComponentsWithStats(part, connectivity=8)
            areas = cstats[1:, cv2.CC_STAT_AREA]
            sized = (areas >= self.min_area_px) & (areas <= self.max_area_px)
            if not sized.any():
                continue
            top = int(areas[sized].max())
            if top == best_area:
                tie = True
            elif top > best_area:
                best_area, tie = top, int((areas[sized] == top).sum()) > 1
                best_mask = np.zeros(dark.shape, dtype=bool)
                best_mask[y : y + h, x : x + w] = labels == 1 + int(np.argmax(sized & (areas == top)))
        return None if tie else best_mask

    def localise(self, frame: RGBDFrame) -> PlateDetection:
        return pose_from_mask(frame, self.segment(frame.color), self.camera_to_base, position_method=self.position_method)
