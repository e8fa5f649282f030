"""The static part of the overhead camera's view, rendered once and reused frame after frame.

The geoms welded to the world (the bench, the box, the shelf, the arm's base: MuJoCo's static
category) look the same in every frame as long as they, the camera and the lights stay where
they are. In the cell every geom is opaque and nothing casts shadows or reflects, so a pixel
shows the nearest fragment, and a fragment's colour depends only on its own geom and the lights.
A frame is therefore the static render with the moving geoms' render (the arm's links, the
gripper, the plate) laid over it wherever they are nearer: the same pixels as rendering
everything at once. :class:`StaticLayer` keeps the static render (and its lens image) and
renders it again when anything it depends on changes; :class:`LensWindow` tells which pixels
of the lens image can change when a box of the ideal image does, so that only those are
resampled.

The layers are used only where this holds: an opaque scene whose static render sees no sky
(:class:`rmrl_env.sim.camera.SimCamera` renders everything at once otherwise).
"""

from __future__ import annotations

import cv2
import mujoco
import numpy as np


def static_geoms(model: mujoco.MjModel, data: mujoco.MjData, camera_id: int) -> np.ndarray:
    """Ids of the geoms MuJoCo puts in the static category (those of bodies welded to the world),
    in every geom group, shown or hidden."""
    scene = mujoco.MjvScene(model, maxgeom=model.ngeom + 10)
    option = mujoco.MjvOption()
    option.geomgroup[:] = 1
    mujoco.mjv_updateScene(model, data, option, None, fixed_camera(camera_id), mujoco.mjtCatBit.mjCAT_STATIC, scene)
    ids = [scene.geoms[i].objid for i in range(scene.ngeom) if scene.geoms[i].objtype == mujoco.mjtObj.mjOBJ_GEOM]
    return np.asarray(sorted(ids), dtype=np.intp)


def fixed_camera(camera_id: int) -> mujoco.MjvCamera:
    """An abstract camera that looks through the model's camera ``camera_id``."""
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
    camera.fixedcamid = camera_id
    return camera


class StaticLayer:
    """The static geoms' colour and depth buffers (bottom row first, as read from OpenGL), and the
    key of everything they depend on: a frame whose key differs renders them again.

    The key holds the static geoms' poses, shapes and looks, every material and light, the
    camera's pose and field of view, the headlight, the depth range and the tessellation; the
    moving geoms, and the plate among them, are not in it.
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, camera_id: int, height: int, width: int) -> None:
        self.model, self.data, self.camera_id = model, data, camera_id
        self.geoms = static_geoms(model, data, camera_id)
        #: every other geom: those that may move (drawn or not)
        self.moving_geoms = np.setdiff1d(np.arange(model.ngeom), self.geoms).astype(np.intp)
        self.rgba = np.empty((height, width, 4), dtype=np.uint8)
        self.depth = np.empty((height, width), dtype=np.float32)
        #: the static render through the lens (upright, as the frame), when the camera has one
        self.lens_rgba: np.ndarray | None = None
        #: whether the static geoms cover every pixel (no sky left to draw), so that frames may be layered
        self.usable = False
        self._key: bytes | None = None

    def key(self) -> bytes:
        """What the static render depends on, as bytes (compared, not hashed)."""
        m, d, g, c = self.model, self.data, self.geoms, self.camera_id
        vis = m.vis
        parts = (
            d.geom_xpos[g], d.geom_xmat[g], d.cam_xpos[c], d.cam_xmat[c], d.light_xpos, d.light_xdir,
            m.geom_type[g], m.geom_dataid[g], m.geom_size[g], m.geom_rgba[g], m.geom_matid[g],
            m.mat_rgba, m.mat_emission, m.mat_specular, m.mat_shininess, m.mat_reflectance, m.mat_texid,
            m.light_active, m.light_type, m.light_castshadow, m.light_ambient, m.light_diffuse, m.light_intensity,
            m.light_specular, m.light_attenuation, m.light_cutoff, m.light_exponent, m.cam_fovy[c],
            np.array([m.stat.extent, vis.map.znear, vis.map.zfar, vis.headlight.active, vis.quality.numslices,
                      vis.quality.numstacks, vis.quality.numquads]),
            vis.headlight.ambient, vis.headlight.diffuse, vis.headlight.specular,
        )  # fmt: skip
        return b"".join(np.ascontiguousarray(p).tobytes() for p in parts)

    def stale(self, key: bytes) -> bool:
        """Whether the buffers were rendered under another key (or never)."""
        return key != self._key

    def rendered(self, key: bytes) -> None:
        """Record that the buffers now hold the render under ``key`` (and whether it leaves sky)."""
        self._key = key
        self.usable = bool(self.depth.min() > 0.0)


#: side of the blocks whose clusters :func:`nonzero_boxes` boxes one by one, pixels
BLOCK_PX = 8


def nonzero_boxes(depth: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes ``(y0, y1, x0, x1)`` (ends exclusive) that together hold every pixel of ``depth``
    above 0 (a moving geom's fragment: the cleared buffer holds 0, the far plane): one around each
    cluster of 8-connected :data:`BLOCK_PX`-pixel blocks holding such a pixel, so that a plate and
    a piece of the arm far from it make two small boxes, not one large one. Empty: none."""
    h, w = depth.shape
    rows, cols = -(-h // BLOCK_PX), -(-w // BLOCK_PX)
    padded = depth
    if rows * BLOCK_PX != h or cols * BLOCK_PX != w:
        padded = np.zeros((rows * BLOCK_PX, cols * BLOCK_PX), dtype=depth.dtype)
        padded[:h, :w] = depth
    # A block's mean depth is above 0 exactly when one of its pixels is (depths are >= 0).
    blocks = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA) > 0
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(blocks.view(np.uint8), connectivity=8)
    boxes = []
    for x, y, bw, bh, _area in stats[1:n].tolist():
        y0, x0 = y * BLOCK_PX, x * BLOCK_PX
        boxes.append((y0, min((y + bh) * BLOCK_PX, h), x0, min((x + bw) * BLOCK_PX, w)))
    return boxes


#: pixels added around each projected box (rasterisation at the pixel grid, rounding)
BOX_MARGIN_PX = 2


def projected_boxes(
    model: mujoco.MjModel, data: mujoco.MjData, geoms: np.ndarray, camera_id: int, height: int, width: int
) -> list[tuple[int, int, int, int]] | None:
    """Boxes ``(y0, y1, x0, x1)`` of the render buffer (bottom row first, ends exclusive) that hold
    every pixel the model's ``geoms`` can cover, or None when they cannot be bounded this way (a
    geom without a bounding sphere, one reaching to the camera's plane).

    Each geom lies in its bounding sphere (``geom_rbound``, about its centre), and the sphere in
    the cube around it; the cube's corners, projected through the camera (MuJoCo's perspective:
    the principal point at the image centre, the focal length from ``cam_fovy``), bound the
    geom's image. Overlapping boxes are merged, and parts outside the image dropped.
    """
    if geoms.size == 0:
        return []
    radii = model.geom_rbound[geoms]
    if not np.all(radii > 0.0):
        return None
    f = (height / 2.0) / np.tan(np.radians(model.cam_fovy[camera_id]) / 2.0)
    rot, eye = data.cam_xmat[camera_id].reshape(3, 3), data.cam_xpos[camera_id]
    local = (data.geom_xpos[geoms] - eye) @ rot  # camera axes: x right, y up, looking along -z
    ahead = -local[:, 2]
    near, far = ahead - radii, ahead + radii
    if not np.all(near > 1e-3):
        return None
    bounds = []
    for centre in (local[:, 0], local[:, 1]):
        lo, hi = centre - radii, centre + radii
        ratios = np.stack([lo / near, lo / far, hi / near, hi / far])
        bounds.append((ratios.min(axis=0), ratios.max(axis=0)))
    # Image x grows with camera x; the buffer's rows grow with camera y (bottom row first).
    x0 = np.floor(width / 2.0 + f * bounds[0][0]) - BOX_MARGIN_PX
    x1 = np.ceil(width / 2.0 + f * bounds[0][1]) + BOX_MARGIN_PX
    y0 = np.floor(height / 2.0 + f * bounds[1][0]) - BOX_MARGIN_PX
    y1 = np.ceil(height / 2.0 + f * bounds[1][1]) + BOX_MARGIN_PX
    boxes = []
    for b in zip(y0.tolist(), y1.tolist(), x0.tolist(), x1.tolist(), strict=True):
        box = (max(int(b[0]), 0), min(int(b[1]), height), max(int(b[2]), 0), min(int(b[3]), width))
        if box[0] < box[1] and box[2] < box[3]:
            boxes.append(box)
    return merge_boxes(boxes)


def merge_boxes(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes ``(y0, y1, x0, x1)`` merged until no two overlap: each overlapping pair becomes the box around both."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]:
                    merged[i] = (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return merged


class LensWindow:
    """Which output pixels of a bilinear remap (:func:`cv2.convertMaps`'s fixed-point pair, border
    replicated) read any source pixel in a box.

    A remapped pixel reads the source pixels ``(x, y)``, ``(x + 1, y)``, ``(x, y + 1)`` and
    ``(x + 1, y + 1)`` of its table entry, clamped into the image. For each output row the
    lowest and highest source row any of its pixels reads, and likewise for each output column,
    bound the pixels that can read a box: rows whose range meets the box's rows, columns whose
    range meets its columns. The box they span holds every such pixel (and some that do not).
    """

    def __init__(self, map1: np.ndarray, source_height: int, source_width: int) -> None:
        x = map1[..., 0].astype(np.int32)
        y = map1[..., 1].astype(np.int32)
        self._row_lo = np.clip(y, 0, source_height - 1).min(axis=1)
        self._row_hi = np.clip(y + 1, 0, source_height - 1).max(axis=1)
        self._col_lo = np.clip(x, 0, source_width - 1).min(axis=0)
        self._col_hi = np.clip(x + 1, 0, source_width - 1).max(axis=0)

    def box(self, source: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        """``(y0, y1, x0, x1)`` of the output pixels that may read the source box ``(y0, y1, x0, x1)``
        (ends exclusive), or None when none does."""
        sy0, sy1, sx0, sx1 = source
        rows = np.flatnonzero((self._row_hi >= sy0) & (self._row_lo <= sy1 - 1))
        cols = np.flatnonzero((self._col_hi >= sx0) & (self._col_lo <= sx1 - 1))
        if rows.size == 0 or cols.size == 0:
            return None
        return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
