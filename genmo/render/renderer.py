"""Offscreen pyrender renderer for posed body meshes: one scene, reused across frames.

World frame: metres, Y up, ground plane at y = 0. Cameras given to ``render_overlay`` are
world-to-camera extrinsics in OpenCV axes (x right, y down, z forward): x_cam = R x_world + t.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.ndimage import gaussian_filter1d

from genmo.render._gl import GL, pyrender
from genmo.render.ground import GroundPainter

BODY_COLOR = (0.84, 0.66, 0.45)
GROUND_COLORS = ((0.90, 0.91, 0.93), (0.74, 0.76, 0.80))
BACKGROUND = (0.93, 0.95, 0.97)
KEY_LIGHT_POSITION = np.array([1.5, 4.0, 3.0])
SHADOW_STRENGTH = 0.45
_GL_FROM_CV = np.diag([1.0, -1.0, -1.0, 1.0])
ZNEAR = 0.05
SHADER_DIR = Path(__file__).with_name("shaders")


@dataclass
class FollowView:
    """Where a following camera sits relative to the (smoothed) body centre, in metres / degrees."""

    distance: float = 4.2
    height: float = 1.35
    target_height: float = 0.9
    azimuth_deg: float = 0.0  # 0 = in front of a body facing +Z
    yfov_deg: float = 40.0
    smooth_s: float = 0.6


def look_at(eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 1.0, 0.0)) -> np.ndarray:
    """OpenGL camera-to-world pose (4, 4) of a camera at ``eye`` looking at ``target``."""
    eye = np.asarray(eye, dtype=np.float64)
    z = eye - np.asarray(target, dtype=np.float64)
    if np.linalg.norm(z) < 1e-9:
        raise ValueError("look_at: eye and target coincide")
    z /= np.linalg.norm(z)
    x = np.cross(np.asarray(up, dtype=np.float64), z)
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("look_at: viewing direction is parallel to up")
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, np.cross(z, x), z, eye
    return pose


def follow_camera_poses(centres: np.ndarray, fps: float, view: FollowView | None = None) -> np.ndarray:
    """Camera poses (N, 4, 4) following body centres (N, 3), smoothed over ``view.smooth_s`` seconds."""
    view = view or FollowView()
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != 3 or len(centres) == 0:
        raise ValueError(f"centres: expected shape (N, 3) with N > 0, got {centres.shape}")
    sigma = max(view.smooth_s * fps / 2.0, 1e-3)
    ground = gaussian_filter1d(centres[:, [0, 2]], sigma, axis=0, mode="nearest") if len(centres) > 1 else centres[:, [0, 2]]
    az = np.radians(view.azimuth_deg)
    offset = np.array([np.sin(az) * view.distance, view.height, np.cos(az) * view.distance])
    poses = np.empty((len(centres), 4, 4))
    for i, (x, z) in enumerate(ground):
        target = np.array([x, view.target_height, z])
        poses[i] = look_at(target + offset - np.array([0.0, view.target_height, 0.0]), target)
    return poses


def cv_extrinsics_to_gl_pose(cam_R: np.ndarray, cam_t: np.ndarray) -> np.ndarray:
    """World-to-camera OpenCV extrinsics (R, t) -> pyrender camera-to-world pose (4, 4)."""
    cam_R = np.asarray(cam_R, dtype=np.float64)
    cam_t = np.asarray(cam_t, dtype=np.float64)
    if cam_R.shape != (3, 3) or cam_t.shape != (3,):
        raise ValueError(f"camera: expected R (3, 3) and t (3,), got {cam_R.shape} and {cam_t.shape}")
    world_to_cam = np.eye(4)
    world_to_cam[:3, :3], world_to_cam[:3, 3] = cam_R, cam_t
    return np.linalg.inv(world_to_cam) @ _GL_FROM_CV


def screen_box(vertices: np.ndarray, camera_pose: np.ndarray, yfov: float, width: int, height: int,
               znear: float = ZNEAR, margin: int = 2) -> tuple[slice, slice] | None:
    """Image rows and columns that hold every pixel the mesh can cover, or None when it is out of view.

    The pinhole projection of ``vertices`` (V, 3) for a camera-to-world pose (OpenGL axes) and
    vertical field of view ``yfov`` (radians), padded by ``margin`` pixels; the whole image when a
    vertex lies closer than the near plane (its triangles may then project anywhere).
    """
    cam = (np.asarray(vertices, dtype=np.float64) - camera_pose[:3, 3]) @ camera_pose[:3, :3]
    depth = -cam[:, 2]
    if depth.max() <= znear:
        return None
    if depth.min() <= znear:
        return slice(0, height), slice(0, width)
    focal = (height / 2.0) / np.tan(yfov / 2.0)
    u = width / 2.0 + focal * cam[:, 0] / depth
    v = height / 2.0 - focal * cam[:, 1] / depth
    c0, c1 = max(int(np.floor(u.min())) - margin, 0), min(int(np.ceil(u.max())) + margin, width)
    r0, r1 = max(int(np.floor(v.min())) - margin, 0), min(int(np.ceil(v.max())) + margin, height)
    if c0 >= c1 or r0 >= r1:
        return None
    return slice(r0, r1), slice(c0, c1)


class _BodyPrograms:
    """pyrender's shader-program cache with the lit-mesh program taken from shaders/.

    That program is pyrender's lighting model written out for BodyRenderer's one key and one fill
    light: llvmpipe shades a body pixel in about 40% of the time (2.8 instead of 7.5 ms per
    640x480 frame, one core). Every other program pyrender asks for is its own.
    """

    def __init__(self) -> None:
        cache = pyrender.shader_program.ShaderProgramCache
        self._body, self._stock = cache(shader_dir=str(SHADER_DIR)), cache()

    def get_program(self, vertex_shader: str, fragment_shader: str, geometry_shader: str | None = None,
                    defines: dict | None = None) -> object:
        """The compiled program for these shader files and defines (pyrender's cache interface)."""
        cache = self._body if (vertex_shader, fragment_shader) == ("mesh.vert", "mesh.frag") else self._stock
        return cache.get_program(vertex_shader, fragment_shader, geometry_shader, defines)

    def clear(self) -> None:
        """Delete every compiled program (pyrender calls this when its renderer is deleted)."""
        self._body.clear()
        self._stock.clear()


class BodyRenderer:
    """Renders one body mesh (fixed faces, new vertices every frame) on a checkerboard ground.

    The scene, GL buffers and camera nodes are built once; each frame only re-uploads the body's
    vertex buffer and moves the camera. The ground (y = 0) and the soft shadow are painted in numpy
    (see ground.py); pyrender draws the body only inside its screen box, which is read back and
    pasted where the depth buffer is set. Close it (or use ``with``) to free GL.
    """

    def __init__(
        self,
        faces: np.ndarray,
        num_vertices: int,
        width: int = 640,
        height: int = 480,
        *,
        shadows: bool = False,
        color: tuple[float, float, float] = BODY_COLOR,
        ground: bool = True,
        background: tuple[float, float, float] = BACKGROUND,
    ) -> None:
        faces = np.asarray(faces, dtype=np.int64)
        if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= num_vertices:
            raise ValueError(f"faces: expected (F, 3) indices below {num_vertices}, got shape {faces.shape}")
        if width < 16 or height < 16:
            raise ValueError(f"image size too small: {width}x{height}")
        self.width, self.height, self.shadows = int(width), int(height), shadows
        self._faces = faces
        self._num_vertices = num_vertices
        rows = faces.ravel()
        cols = np.repeat(np.arange(len(faces)), 3)
        self._incidence = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, len(faces)))
        self._background = background

        self.scene = pyrender.Scene(bg_color=(*background, 1.0), ambient_light=(0.28, 0.28, 0.3))
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(*color, 1.0), metallicFactor=0.0, roughnessFactor=0.75
        )
        zeros = np.zeros((num_vertices, 3), dtype=np.float32)
        normals = np.tile(np.array([0.0, 1.0, 0.0], np.float32), (num_vertices, 1))
        self._body_prim = pyrender.Primitive(positions=zeros, normals=normals, indices=faces, material=material)
        self._body_mesh = pyrender.Mesh([self._body_prim])
        self.scene.add(self._body_mesh)
        self._ground = GroundPainter(self.width, self.height, GROUND_COLORS, background) if ground else None
        key_pose = look_at(KEY_LIGHT_POSITION, np.zeros(3))
        self._light_dir = -key_pose[:3, 2]
        self.scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.2), pose=key_pose)
        # Fill light rides with the camera.
        self._fill = self.scene.add(pyrender.PointLight(color=np.ones(3), intensity=14.0))
        self._follow_cam = self.scene.add(
            pyrender.PerspectiveCamera(yfov=np.radians(40.0), aspectRatio=width / height, znear=ZNEAR, zfar=80.0)
        )
        self._overlay_cam: pyrender.Node | None = None
        self._renderer = pyrender.OffscreenRenderer(self.width, self.height)
        self._renderer._renderer._program_cache = _BodyPrograms()

    def __enter__(self) -> BodyRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the GL context.

        The steps of pyrender's ``OffscreenRenderer.delete`` without its closing ``gc.collect()``, a full
        collection that took 130-230 ms per render in a process holding torch. Its parts are then
        dropped, so pyrender's ``__del__`` finds nothing left to free.
        """
        if self._renderer is not None:
            offscreen, self._renderer = self._renderer, None
            offscreen._platform.make_current()
            offscreen._renderer.delete()
            offscreen._platform.delete_context()
            offscreen._renderer = offscreen._platform = None

    def _set_vertices(self, vertices: np.ndarray) -> None:
        verts = np.asarray(vertices, dtype=np.float32)
        if verts.shape != (self._num_vertices, 3):
            raise ValueError(f"vertices: expected shape ({self._num_vertices}, 3), got {verts.shape}")
        if not np.isfinite(verts).all():
            raise ValueError("vertices contain NaN or inf")
        tri = verts[self._faces]
        face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normals = np.asarray(self._incidence @ face_n, dtype=np.float32)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        self._body_prim.positions = verts
        self._body_prim.normals = normals
        self._body_mesh._bounds = None  # pyrender caches mesh bounds
        if self._body_prim._vaid is None:  # not yet in the GL context: the first render uploads it
            return
        data = np.ascontiguousarray(np.hstack([verts, normals]).ravel())
        self._renderer._platform.make_current()
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._body_prim._buffers[0])
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, data.nbytes, data)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def render(self, vertices: np.ndarray, camera_pose: np.ndarray, yfov_deg: float = 40.0) -> np.ndarray:
        """Render one frame (H, W, 3) uint8 from a pyrender camera-to-world pose (4, 4)."""
        if self._renderer is None:
            raise ValueError("renderer is closed")
        pose = np.asarray(camera_pose, dtype=np.float64)
        yfov = np.radians(yfov_deg)
        self._set_vertices(vertices)
        self._follow_cam.camera.yfov = yfov
        self.scene.set_pose(self._follow_cam, pose)
        self.scene.main_camera_node = self._follow_cam
        self.scene.set_pose(self._fill, pose)
        self.scene.bg_color = np.array([*self._background, 1.0])
        if self._ground is None:
            return self._renderer.render(self.scene)[0]
        ground = self._ground.paint(pose, yfov)
        if self.shadows:
            self._ground.darken(ground, np.asarray(vertices), self._light_dir, pose, yfov, SHADOW_STRENGTH)
        box = screen_box(np.asarray(vertices), pose, yfov, self.width, self.height)
        if box is not None:
            rows, cols = box
            color, covered = self._draw_box(rows, cols)
            np.copyto(ground[rows, cols], color, where=covered[..., None])
        return ground

    def _draw_box(self, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
        """Draw the scene with GL restricted to image ``rows`` x ``cols``; return that patch's colour and coverage.

        The ground is painted in numpy, so only the body's screen box is drawn (a scissor: llvmpipe
        then skips clearing and shading the rest) and read back. Without OSMesa (a framebuffer-backed
        platform) the whole image is drawn and read.
        """
        platform = self._renderer._platform
        if platform.supports_framebuffers():
            color, depth = self._renderer.render(self.scene)
            return color[rows, cols], depth[rows, cols] > 0
        x, y = cols.start, self.height - rows.stop  # GL counts rows from the bottom
        w, h = cols.stop - cols.start, rows.stop - rows.start
        platform.make_current()
        GL.glEnable(GL.GL_SCISSOR_TEST)
        GL.glScissor(x, y, w, h)
        try:
            self._renderer._renderer.render(self.scene, pyrender.RenderFlags.NONE)
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
            GL.glReadBuffer(GL.GL_FRONT)
            GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
            color = np.frombuffer(GL.glReadPixels(x, y, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE), np.uint8)
            depth = np.frombuffer(GL.glReadPixels(x, y, w, h, GL.GL_DEPTH_COMPONENT, GL.GL_FLOAT), np.float32)
        finally:
            GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
            GL.glDisable(GL.GL_SCISSOR_TEST)
            platform.make_uncurrent()
        return color.reshape(h, w, 3)[::-1], depth.reshape(h, w)[::-1] < 1.0

    def render_overlay(
        self,
        vertices: np.ndarray,
        cam_R: np.ndarray,
        cam_t: np.ndarray,
        focal: float,
        image: np.ndarray | None = None,
        principal: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """Render the body seen by a fixed camera and composite it over ``image`` (H, W, 3) when given.

        Without an image, returns RGBA (H, W, 4): alpha 255 where the body covers the pixel, else 0.
        """
        if self._renderer is None:
            raise ValueError("renderer is closed")
        if image is not None and np.asarray(image).shape != (self.height, self.width, 3):
            raise ValueError(f"image: expected shape ({self.height}, {self.width}, 3), got {np.asarray(image).shape}")
        if not focal > 0:
            raise ValueError(f"focal must be positive, got {focal}")
        cx, cy = principal if principal is not None else (self.width / 2.0, self.height / 2.0)
        cam = pyrender.IntrinsicsCamera(fx=focal, fy=focal, cx=cx, cy=cy, znear=0.05, zfar=200.0)
        if self._overlay_cam is None:
            self._overlay_cam = self.scene.add(cam)
        else:
            self._overlay_cam.camera = cam
        self.scene.set_pose(self._overlay_cam, cv_extrinsics_to_gl_pose(cam_R, cam_t))
        self.scene.main_camera_node = self._overlay_cam
        self.scene.set_pose(self._fill, self.scene.get_pose(self._overlay_cam))
        self._set_vertices(vertices)
        self.scene.bg_color = np.array([*self._background, 1.0])
        color, depth = self._renderer.render(self.scene)
        mask = depth > 0  # OSMesa has no alpha channel: coverage comes from the depth buffer
        if image is None:
            return np.concatenate([color, (mask * 255).astype(np.uint8)[..., None]], axis=-1)
        return np.where(mask[..., None], color, np.asarray(image, dtype=np.uint8))

    def render_sequence(
        self, vertices: np.ndarray, fps: float, view: FollowView | None = None
    ) -> Iterator[np.ndarray]:
        """Yield frames for vertices (N, V, 3) with a smoothed camera following the body."""
        vertices = np.asarray(vertices)
        if vertices.ndim != 3:
            raise ValueError(f"vertices: expected shape (N, V, 3), got {vertices.shape}")
        view = view or FollowView()
        poses = follow_camera_poses(vertices.mean(axis=1), fps, view)
        for verts, pose in zip(vertices, poses, strict=True):
            yield self.render(verts, pose, view.yfov_deg)
