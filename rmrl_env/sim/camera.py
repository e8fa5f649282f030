"""Simulated RealSense D435 (implements :class:`rmrl_env.protocols.Camera`).

Renders colour and depth from the true camera pose, bends both through the true lens
distortion, and adds stereo depth noise, a depth scale error and colour sensor noise. The
frame carries the *believed* pinhole intrinsics, as a real pipeline would have them.
"""

from __future__ import annotations

import cv2
import mujoco
import numpy as np

from rmrl_env.errors import HardwareError
from rmrl_env.protocols import CameraIntrinsics, RGBDFrame, RigidTransform
from rmrl_env.sim.error_sources import ErrorSources
from rmrl_env.sim.static_layer import LensWindow, StaticLayer, fixed_camera, nonzero_boxes, projected_boxes
from rmrl_env.sim.world import D435_COLOR_FY_PX, SimWorld

#: MuJoCo cameras look along -z with y up; OpenCV cameras along +z with y down.
_MJ_TO_CV = np.diag([1.0, -1.0, -1.0])


def pinhole_intrinsics(width: int = 640, height: int = 480) -> CameraIntrinsics:
    """The D435 colour stream's pinhole intrinsics as the renderer produces them.

    MuJoCo's principal point is the image centre; in OpenCV's pixel-centre convention that is
    ``((W - 1) / 2, (H - 1) / 2)``.
    """
    return CameraIntrinsics(width, height, D435_COLOR_FY_PX, D435_COLOR_FY_PX, (width - 1) / 2.0, (height - 1) / 2.0)


def distortion_maps(intrinsics: CameraIntrinsics, distortion: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """Remap tables that turn an ideal pinhole image into the image of a distorting lens.

    For every pixel of the distorted output, the point it sees is found by undistorting its
    coordinates; the ideal image is sampled there. ``None`` when there is no distortion.
    """
    if not any(distortion):
        return None
    w, h = intrinsics.width, intrinsics.height
    uu, vv = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pts = np.stack([uu.ravel(), vv.ravel()], axis=-1).reshape(-1, 1, 2)
    k = intrinsics.matrix
    ideal = cv2.undistortPoints(pts, k, np.asarray(distortion, dtype=np.float64), P=k).reshape(h, w, 2)
    return cv2.convertMaps(ideal[..., 0].astype(np.float32), ideal[..., 1].astype(np.float32), cv2.CV_16SC2)


def flip_maps(map1: np.ndarray, map2: np.ndarray, height: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Fixed-point remap tables (:func:`cv2.convertMaps`'s ``CV_16SC2`` pair) that sample an image
    stored upside down (row ``height - 1 - v`` holding row ``v``) where the given ones sample it upright.

    Returns the pair for bilinear sampling and one table for nearest sampling, with the pixel that
    :func:`cv2.remap`'s nearest sampling reads through the pair (each coordinate rounded: the
    whole-pixel part, plus one from half a pixel up), so it needs no fraction table. A coordinate is a whole number of 1/32 px: ``32 y + f``
    becomes ``32 (height - 1) - (32 y + f)`` exactly, and bilinear weights on the two rows are
    products of multiples of 1/32, exact in OpenCV's fixed point, so each output pixel is the same
    integer sum of the same source pixels with the same weights: the same image, bit for bit.
    """
    bits = 5  # cv2.INTER_BITS: 32 sub-pixel steps
    mask = (1 << bits) - 1
    y = map1[..., 1].astype(np.int32)
    fixed = (y << bits) | ((map2.astype(np.int32) >> bits) & mask)  # 32 y + f, f = the row fraction
    flipped = ((height - 1) << bits) - fixed
    linear1 = map1.copy()
    linear1[..., 1] = flipped >> bits
    linear2 = ((flipped & mask) << bits | (map2.astype(np.int32) & mask)).astype(map2.dtype)
    half = 1 << (bits - 1)
    nearest = map1.copy()
    nearest[..., 0] += (map2 & mask) >= half
    nearest[..., 1] = height - 1 - (y + (((map2.astype(np.int32) >> bits) & mask) >= half))
    return (linear1, linear2), nearest


def _depth_coefficients(model: mujoco.MjModel) -> tuple[np.float32, np.float32]:
    """``(c, d)`` with metric depth ``d / (w + c)`` for a reversed-Z window depth ``w`` of a
    perspective camera, computed in float32 like :class:`mujoco.Renderer` (so depths match it)."""
    extent = model.stat.extent
    zfar, znear = np.float32(model.vis.map.zfar * extent), np.float32(model.vis.map.znear * extent)
    c = -(zfar + znear) / (zfar - znear)
    d = -(np.float32(2) * zfar * znear) / (zfar - znear)
    return np.float32(-0.5) * c - np.float32(0.5), np.float32(-0.5) * d


def _opaque(model: mujoco.MjModel) -> bool:
    """Nothing in ``model`` lets the skybox show through or mirrors it: no translucent geom or
    material, no reflective material."""
    translucent = np.any(model.geom_rgba[model.geom_matid < 0, 3] < 1.0) or np.any(model.mat_rgba[:, 3] < 1.0)
    return not (translucent or np.any(model.mat_reflectance > 0.0))


def true_camera_to_base(world: SimWorld) -> RigidTransform:
    """The overhead camera's true pose (OpenCV axes) in the base frame of ``world`` (after a forward pass)."""
    d = world.data
    rot = d.cam_xmat[world.camera_id].reshape(3, 3) @ _MJ_TO_CV
    return RigidTransform(rot.copy(), d.cam_xpos[world.camera_id].copy())


def metric_depth(window: np.ndarray, c: np.float32, d: np.float32) -> np.ndarray:
    """Metric depth (float32, a new array) of reversed-Z window depths, elementwise ``d / (w + c)``
    in float64: the same value for a pixel whether it is converted alone or with the frame."""
    scratch = np.add(window, c, dtype=np.float64)
    np.divide(d, scratch, out=scratch)
    return scratch.astype(np.float32)


class SensorDepth:
    """The depth of one capture, made from its window-depth buffer when it is read: the whole frame
    (:meth:`full`) or a few pixels (:meth:`at`), the same float32 values either way.

    Every step of the sensor model is elementwise (the lens's nearest sample, the conversion to
    metres, the stereo noise from the capture's window of the noise bank, the scale error), so a
    pixel's depth does not depend on which other pixels are computed. Localisation reads only the
    plate's pixels, a few thousand of the frame's 307,200.

    buffer: the capture's window depths, bottom row first (a copy the camera does not reuse).
    nearest: the lens's nearest-sample table into the bottom-first buffer (``flip_maps``), or None.
    coefficients: ``(c, d)`` of :func:`metric_depth`.
    noise: ``(k, bank)`` with the noise's sd ``k · depth²`` and the bank's window for this capture
        (one value per pixel, raster order), or None.
    scale: ``1 + depth_scale_error`` (None: no scale error).
    """

    def __init__(
        self,
        buffer: np.ndarray,
        nearest: np.ndarray | None,
        coefficients: tuple[np.float32, np.float32],
        noise: tuple[float, np.ndarray] | None,
        scale: np.float32 | None,
    ) -> None:
        self.buffer, self.nearest, self.coefficients, self.noise, self.scale = buffer, nearest, coefficients, noise, scale

    def _sensor(self, window: np.ndarray, bank: np.ndarray | None) -> np.ndarray:
        depth = metric_depth(window, *self.coefficients)
        if self.noise is not None and bank is not None:
            sigma = np.multiply(depth, depth)
            sigma *= self.noise[0]
            sigma *= bank
            depth += sigma
        if self.scale is not None:
            depth *= self.scale
        return depth

    def full(self) -> np.ndarray:
        """The whole depth image (float32 m, H x W)."""
        h, w = self.buffer.shape
        if self.nearest is None:
            window = self.buffer[::-1]
        else:
            window = cv2.remap(self.buffer, self.nearest, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        return self._sensor(window, None if self.noise is None else self.noise[1].reshape(h, w))

    def at(self, vs: np.ndarray, us: np.ndarray) -> np.ndarray:
        """The depth (float32 m) at pixels ``(vs[i], us[i])`` alone."""
        h, w = self.buffer.shape
        vs, us = np.asarray(vs, dtype=np.intp), np.asarray(us, dtype=np.intp)
        if self.nearest is None:
            window = self.buffer[h - 1 - vs, us]
        else:  # cv2.remap's nearest sample with a replicated border: the table's pixel, clamped
            xy = self.nearest[vs, us]
            window = self.buffer[np.clip(xy[..., 1], 0, h - 1), np.clip(xy[..., 0], 0, w - 1)]
        return self._sensor(window, None if self.noise is None else self.noise[1][vs * w + us])


class SimFrame(RGBDFrame):
    """An :class:`RGBDFrame` whose depth is computed when it is first read (:class:`SensorDepth`):
    ``depth_m`` makes the whole image (once), ``depth_at`` only the pixels asked for."""

    def __init__(self, color: np.ndarray, depth: SensorDepth, intrinsics: CameraIntrinsics, timestamp_s: float) -> None:
        self.color, self.intrinsics, self.timestamp_s = color, intrinsics, timestamp_s
        self._sensor_depth = depth
        self._depth_m: np.ndarray | None = None

    @property
    def depth_m(self) -> np.ndarray:
        if self._depth_m is None:
            self._depth_m = self._sensor_depth.full()
        return self._depth_m

    @depth_m.setter
    def depth_m(self, value: np.ndarray) -> None:
        self._depth_m = value

    def depth_at(self, vs: np.ndarray, us: np.ndarray) -> np.ndarray:
        if self._depth_m is not None:
            return self._depth_m[vs, us]
        return self._sensor_depth.at(vs, us)


class SimCamera:
    """Args:
    world: the simulated cell.
    errors: distortion and noise parameters.
    width / height: frame size, pixels (640 x 480 like the D435 colour stream).
    reuse_static: render the geoms welded to the world once and reuse them while they, the camera
        and the lights stay put (:mod:`rmrl_env.sim.static_layer`; the same frames, bit for bit);
        False renders every geom for every frame.
    """

    def __init__(
        self, world: SimWorld, errors: ErrorSources, width: int = 640, height: int = 480, reuse_static: bool = True
    ) -> None:
        self.world = world
        self.errors = errors
        self._intrinsics = pinhole_intrinsics(width, height)
        try:
            self._renderer = mujoco.Renderer(world.model, height=height, width=width)
        except mujoco.FatalError as err:
            raise HardwareError(
                f"MuJoCo could not create an OpenGL context to render the camera ({err}). On a machine "
                "without a display set MUJOCO_GL=egl (or osmesa) before mujoco is first imported; "
                "importing rmrl_env before mujoco does this for you"
            ) from err
        self._maps = distortion_maps(self._intrinsics, errors.lens_distortion)
        self._flipped_maps = None if self._maps is None else flip_maps(*self._maps, height)
        # The renderer's context is current now, with PyOpenGL on its platform (MUJOCO_GL).
        from OpenGL import GL

        self._gl = GL
        self._rgba_buf = np.empty((height, width, 4), dtype=np.uint8)
        self._depth_buf = np.empty((height, width), dtype=np.float32)
        self._depth_c, self._depth_d = _depth_coefficients(world.model)
        self._lens_rgba = np.empty((height, width, 4), dtype=np.uint8)
        self._lens_color = np.empty((height, width, 3), dtype=np.uint8)
        self._camera = fixed_camera(world.camera_id)
        self._static = StaticLayer(world.model, world.data, world.camera_id, height, width) if reuse_static else None
        self._moving_rgba = np.empty((height, width, 4), dtype=np.uint8)
        self._moving_depth = np.empty((height, width), dtype=np.float32)
        self._lens_window = None if self._flipped_maps is None else LensWindow(self._flipped_maps[0][0], height, width)
        #: the boxes ``(y0, y1, x0, x1)`` of the last render's buffers that may differ from the
        #: static layer's, or None when the frame was rendered whole (the next frame restores those)
        self._changed: list[tuple[int, int, int, int]] | None = None
        # The boxes where the lens image differs from the static layer's (None: anywhere).
        self._lens_over_static: list[tuple[int, int, int, int]] | None = None
        self.rng = np.random.default_rng(0)
        # Noise is read from a fixed bank at seeded random offsets (see _standard_normal).
        self._noise_bank = np.random.default_rng(0x5EED).standard_normal(4 * width * height * 3, dtype=np.float32)
        self._scaled_bank: tuple[float, np.ndarray] = (1.0, self._noise_bank)
        self._color_scratch = np.empty((height, width, 3), dtype=np.float32)

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return self._intrinsics

    def close(self) -> None:
        """Release the renderer's GL context (call it from the thread that renders)."""
        self._renderer.close()

    def true_camera_to_base(self) -> RigidTransform:
        """The camera's true pose (OpenCV axes) in the base frame."""
        return true_camera_to_base(self.world)

    def seed(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(seed)

    def _standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        """Standard-normal float32 noise of ``shape``, a window of the bank at a random offset.

        Drawing ~1 M normals per frame costs several ms; a bank four colour frames long, read
        at an offset drawn from the seeded generator, has the same statistics for a view.
        """
        size = int(np.prod(shape))
        start = int(self.rng.integers(0, self._noise_bank.size - size))
        return self._noise_bank[start : start + size].reshape(shape)

    def _scaled_noise(self, shape: tuple[int, ...], std: float) -> np.ndarray:
        """``std`` times a window of the bank (as :meth:`_standard_normal`), from a copy of the
        bank scaled once per ``std`` rather than on every frame."""
        if self._scaled_bank[0] != std:
            self._scaled_bank = (std, self._noise_bank * np.float32(std))
        size = int(np.prod(shape))
        start = int(self.rng.integers(0, self._noise_bank.size - size))
        return self._scaled_bank[1][start : start + size].reshape(shape)

    def render_ideal(self) -> tuple[np.ndarray, np.ndarray]:
        """Colour (uint8, H x W x 3) and depth (float32 metres) of an ideal pinhole camera."""
        self.render_buffers()
        # The buffers hold the image bottom row first.
        return np.ascontiguousarray(self._rgba_buf[::-1, :, :3]), metric_depth(
            self._depth_buf[::-1], self._depth_c, self._depth_d
        )

    def render_buffers(self) -> None:
        """Render the scene into the colour and depth buffers (bottom row first; depth is OpenGL's
        reversed-Z window depth, :func:`metric_depth` turns it into metres).

        One render pass, both buffers read back together: the same pixels as
        :class:`mujoco.Renderer`'s separate colour and depth passes (``tests/env/test_sim_speed.py``
        checks them bit for bit) at little more than the cost of the colour pass. The pass leaves
        out the skybox, which the depth pass does not draw either and which shows in colour only
        where a pixel sees no geometry (window depth 0): the overhead camera sees the bench
        everywhere, and a frame with such a pixel gets its colour from a second pass with the sky.

        With ``reuse_static``, an opaque scene whose static geoms hide the sky is rendered in two
        layers instead (:mod:`rmrl_env.sim.static_layer`): the static geoms, once while they, the
        camera and the lights stay put, and the moving geoms, laid over them where nearer.
        """
        r = self._renderer
        if r._gl_context:
            r._gl_context.make_current()
        opaque = _opaque(self.world.model)
        if self._static is not None and opaque and self._render_layers(self._static):
            return
        self._changed = None
        self._render_pass(mujoco.mjtCatBit.mjCAT_ALL, self._rgba_buf, self._depth_buf, sky=False)
        # A pixel saw no geometry (window depth 0, the least there is): the sky shows there.
        if not (opaque and self._depth_buf.min() > 0.0):
            self._render_pass(mujoco.mjtCatBit.mjCAT_ALL, self._rgba_buf, None, sky=True)

    def _render_layers(self, static: StaticLayer) -> bool:
        """The frame as the static layer with the moving geoms over it; False (nothing rendered)
        when the static geoms leave a pixel to the sky."""
        key = static.key()
        fresh = static.stale(key)
        if fresh:
            self._render_pass(mujoco.mjtCatBit.mjCAT_STATIC, static.rgba, static.depth, sky=False)
            static.rendered(key)
            if static.usable and self._flipped_maps is not None:
                static.lens_rgba = self._lens(static.rgba)
            self._lens_over_static = None
        if not static.usable:
            return False
        # The buffers back to the static layer: where the last frame changed them, or whole.
        changed = None if fresh else self._changed
        restore(self._rgba_buf, static.rgba, changed)
        restore(self._depth_buf, static.depth, changed)
        self._changed = self._render_moving(static)
        for y0, y1, x0, x1 in self._changed:  # a moving geom's fragment shows where it is nearer (higher reversed-Z depth)
            depth, moving_depth = self._depth_buf[y0:y1, x0:x1], self._moving_depth[y0:y1, x0:x1]
            nearer = moving_depth > depth
            np.copyto(depth, moving_depth, where=nearer)
            # RGBA pixels as 32-bit words: one copy per pixel, the same bytes.
            rgba, moving_rgba = self._rgba_buf[y0:y1, x0:x1], self._moving_rgba[y0:y1, x0:x1]
            np.copyto(rgba.view(np.uint32), moving_rgba.view(np.uint32), where=nearer[..., None])
        return True

    def _render_moving(self, static: StaticLayer) -> list[tuple[int, int, int, int]]:
        """Render the moving geoms into the moving buffers and return the boxes that hold their
        pixels: their projected bounding spheres', read back alone, or, when those cannot bound
        the scene (a decorative element drawn, a flex or skin, a geom without a bound), the boxes
        around the pixels of the whole buffers."""
        r, m, d = self._renderer, self.world.model, self.world.data
        self._update_scene(mujoco.mjtCatBit.mjCAT_DYNAMIC, sky=False)
        geoms_drawn = r.scene.ngeom
        self._update_scene(mujoco.mjtCatBit.mjCAT_DYNAMIC | mujoco.mjtCatBit.mjCAT_DECOR, sky=False)
        mujoco.mjr_render(r._rect, r.scene, r._mjr_context)
        boxes = None
        if r.scene.ngeom == geoms_drawn and m.nflex == 0 and m.nskin == 0:
            boxes = projected_boxes(m, d, static.moving_geoms, self.world.camera_id, r.height, r.width)
        if boxes is None:
            self._read(self._moving_rgba, self._moving_depth)
            return nonzero_boxes(self._moving_depth)
        gl, tight = self._gl, []
        for y0, y1, x0, x1 in boxes:
            rgba, depth = np.empty((y1 - y0, x1 - x0, 4), np.uint8), np.empty((y1 - y0, x1 - x0), np.float32)
            gl.glReadPixels(x0, y0, x1 - x0, y1 - y0, gl.GL_RGBA, gl.GL_UNSIGNED_BYTE, rgba)
            gl.glReadPixels(x0, y0, x1 - x0, y1 - y0, gl.GL_DEPTH_COMPONENT, gl.GL_FLOAT, depth)
            self._moving_rgba[y0:y1, x0:x1], self._moving_depth[y0:y1, x0:x1] = rgba, depth
            # The box shrunk to the pixels the geoms did cover (a bounding sphere is loose).
            rows = np.flatnonzero(depth.max(axis=1))
            if rows.size:
                cols = np.flatnonzero(depth[rows[0] : rows[-1] + 1].max(axis=0))
                tight.append((y0 + int(rows[0]), y0 + int(rows[-1]) + 1, x0 + int(cols[0]), x0 + int(cols[-1]) + 1))
        return tight

    def _render_pass(self, categories: int, rgba: np.ndarray, depth: np.ndarray | None, sky: bool) -> None:
        """Render the geoms of MuJoCo's ``categories`` (the skybox drawn or not) and read colour
        (and depth) back into the given buffers."""
        r = self._renderer
        self._update_scene(categories, sky)
        mujoco.mjr_render(r._rect, r.scene, r._mjr_context)
        self._read(rgba, depth)

    def _update_scene(self, categories: int, sky: bool) -> None:
        r = self._renderer
        mujoco.mjv_updateScene(self.world.model, self.world.data, r._scene_option, None, self._camera, categories, r.scene)
        r.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = sky

    def _read(self, rgba: np.ndarray, depth: np.ndarray | None) -> None:
        """Read the rendered colour (and depth) back."""
        r = self._renderer
        # Colour read as RGBA, the framebuffer's own layout: a plain copy, where MuJoCo's RGB read
        # repacks every pixel; the same red, green and blue (tests/env/test_sim_speed.py).
        self._gl.glReadPixels(0, 0, r.width, r.height, self._gl.GL_RGBA, self._gl.GL_UNSIGNED_BYTE, rgba)
        if depth is not None:
            mujoco.mjr_readPixels(None, depth, r._rect, r._mjr_context)

    def _lens(self, rgba: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The lens applied to a bottom-first RGBA buffer: the whole upright image, or its output box
        ``(y0, y1, x0, x1)`` alone (every pixel of it as in the whole image)."""
        assert self._flipped_maps is not None
        map1, map2 = self._flipped_maps[0]
        border = cv2.BORDER_REPLICATE
        if box is None:
            return cv2.remap(rgba, map1, map2, cv2.INTER_LINEAR, borderMode=border)
        y0, y1, x0, x1 = box
        part1, part2 = np.ascontiguousarray(map1[y0:y1, x0:x1]), np.ascontiguousarray(map2[y0:y1, x0:x1])
        return cv2.remap(rgba, part1, part2, cv2.INTER_LINEAR, borderMode=border)

    def _apply_lens(self, maps: tuple[np.ndarray, np.ndarray]) -> None:
        """The lens image of the last render into ``_lens_rgba`` through the flipped bilinear
        ``maps``: resampled whole, or, over the static layer's own lens image, only in the boxes of
        output pixels that read what the moving geoms changed."""
        static, window = self._static, self._lens_window
        if self._changed is None or static is None or static.lens_rgba is None or window is None:
            cv2.remap(self._rgba_buf, *maps, cv2.INTER_LINEAR, dst=self._lens_rgba, borderMode=cv2.BORDER_REPLICATE)
            self._lens_over_static = None
            return
        restore(self._lens_rgba, static.lens_rgba, self._lens_over_static)
        boxes = [box for box in (window.box(changed) for changed in self._changed) if box is not None]
        for y0, y1, x0, x1 in boxes:
            self._lens_rgba[y0:y1, x0:x1] = self._lens(self._rgba_buf, (y0, y1, x0, x1))
        self._lens_over_static = boxes

    def capture(self) -> RGBDFrame:
        self.render_buffers()
        if self._flipped_maps is None:
            color = np.ascontiguousarray(self._rgba_buf[::-1, :, :3])
        else:
            # The lens straight from the bottom-first buffer (the maps flipped instead of the image):
            # the same frame as distorting render_ideal's (tests/env/test_sim_speed.py), with less
            # copying. Intermediate images go to scratch buffers: a fresh array of a frame's size
            # costs its page faults. Four channels, each sampled on its own as three would be, and
            # the alpha dropped after.
            self._apply_lens(self._flipped_maps[0])
            lens = self._lens_color if self.errors.color_noise_std > 0 else None  # else the frame's own
            color = cv2.cvtColor(self._lens_rgba, cv2.COLOR_RGBA2RGB, dst=lens)
        e = self.errors
        if e.color_noise_std > 0:
            # color + noise in float32 and clipped to [0, 255] as NumPy computes it (the same IEEE
            # float32 sums; thresholds that cap at 255 and zero what is below 0), then truncated.
            noisy = self._color_scratch
            cv2.add(color, self._scaled_noise(color.shape, e.color_noise_std), dst=noisy, dtype=cv2.CV_32F)
            cv2.threshold(noisy, 255.0, 255.0, cv2.THRESH_TRUNC, dst=noisy)
            cv2.threshold(noisy, 0.0, 0.0, cv2.THRESH_TOZERO, dst=noisy)
            color = noisy.astype(np.uint8)
        # The depth is made when it is read, from this capture's own copy of the window depths and
        # its window of the noise bank (drawn now, in the generator's order).
        noise = None
        if e.depth_noise_subpixel > 0:
            k = e.depth_noise_subpixel / (e.depth_focal_px * e.depth_baseline_m)
            noise = (k, self._standard_normal((self._depth_buf.size,)))
        depth = SensorDepth(
            self._depth_buf.copy(),
            None if self._flipped_maps is None else self._flipped_maps[1],
            (self._depth_c, self._depth_d),
            noise,
            np.float32(1.0 + e.depth_scale_error) if e.depth_scale_error else None,
        )
        return SimFrame(color, depth, self._intrinsics, float(self.world.data.time))


def restore(buffer: np.ndarray, layer: np.ndarray, boxes: list[tuple[int, int, int, int]] | None) -> None:
    """Copy ``layer`` into ``buffer`` in the boxes ``(y0, y1, x0, x1)``, or everywhere (None)."""
    if boxes is None:
        np.copyto(buffer, layer)
        return
    for y0, y1, x0, x1 in boxes:
        buffer[y0:y1, x0:x1] = layer[y0:y1, x0:x1]


def believed_camera_to_base(true: RigidTransform, errors: ErrorSources) -> RigidTransform:
    """The extrinsics a calibration with the given error would report.

    The rotation error turns the camera about its own centre; the translation error moves it.
    """
    rotvec = np.radians(np.asarray(errors.extrinsic_rot_deg, dtype=float))
    delta, _ = cv2.Rodrigues(rotvec)
    return RigidTransform(
        delta @ np.asarray(true.rotation), np.asarray(true.translation) + np.asarray(errors.extrinsic_trans_mm) / 1000.0
    )
