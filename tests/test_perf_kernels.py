"""The fast paths added for speed agree with the straightforward versions they replace."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from genmo.model.attention import (apply_rope, apply_rope_complex, chunked_window_attention, dense_attention,
                                   rope_rotation, rope_tables)
from genmo.render.ground import GroundPainter
from genmo.render.renderer import look_at


def test_complex_rope_equals_interleaved_rope_on_strided_views() -> None:
    g = torch.Generator().manual_seed(0)
    qkv = torch.randn(2, 50, 3, 4, 16, generator=g).permute(2, 0, 3, 1, 4)  # (3, B, H, L, d) view
    cos, sin = rope_tables(50, 16, torch.device("cpu"))
    fast = apply_rope_complex(qkv[:2], rope_rotation(50, 16, torch.device("cpu")))
    assert torch.allclose(fast, apply_rope(qkv[:2], cos, sin), atol=1e-6)


def test_cached_window_masks_work_for_training_after_inference() -> None:
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 2, 90, 8, generator=g) for _ in range(3))
    with torch.inference_mode():  # fills the mask caches inside inference mode
        ref = dense_attention(q, k, v, None, 20)
        assert torch.allclose(chunked_window_attention(q, k, v, None, 20, 16), ref, atol=1e-5)
    qg = q.clone().requires_grad_(True)
    out = chunked_window_attention(qg, k, v, None, 20, 16)
    out.square().sum().backward()
    assert torch.allclose(out.detach(), ref, atol=1e-5) and torch.isfinite(qg.grad).all()


def _paint_reference(painter: GroundPainter, pose: np.ndarray, yfov: float) -> np.ndarray:
    """The whole-image version: warp every pixel, then blank those at or above the horizon."""
    rays = painter._camera_rays(pose, yfov)
    ox, oy, oz = pose[:3, 3]
    if oy <= 0:
        return np.full((painter.height, painter.width, 3), painter._background, np.uint8)
    step = 2 * painter.tile
    cx, cz = np.round(np.array([ox, oz]) / step) * step
    plane = np.stack([ox * rays[1] - oy * rays[0], oz * rays[1] - oy * rays[2], rays[1]])
    to_texture = np.array([[1 / painter.resolution, 0, (painter.radius - cx) / painter.resolution],
                           [0, 1 / painter.resolution, (painter.radius - cz) / painter.resolution], [0, 0, 1]])
    image = cv2.warpPerspective(painter._texture, to_texture @ plane, (painter.width, painter.height),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=painter._background)
    w = rays[1, 0] * painter._u + rays[1, 1] * painter._v + rays[1, 2]
    image[w > -1e-4] = painter._background
    return image


def test_ground_band_paint_matches_whole_image_paint() -> None:
    painter = GroundPainter(160, 120, ((0.9, 0.9, 0.9), (0.7, 0.7, 0.8)), (0.95, 0.95, 0.97))
    rolled = look_at(np.array([0.0, 1.4, 4.0]), np.array([0.0, 0.9, 0.0]))
    c, s = np.cos(0.3), np.sin(0.3)
    rolled[:3, :3] = rolled[:3, :3] @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    poses = [look_at(np.array([0.0, 1.4, 4.0]), np.array([0.0, 0.9, 0.0])),  # horizon in view
             look_at(np.array([3.0, 0.4, 2.0]), np.array([0.0, 1.5, 0.0])),  # looking up
             look_at(np.array([0.5, 6.0, 0.5]), np.zeros(3)),  # looking down: no horizon
             look_at(np.array([0.0, 2.0, 3.0]), np.array([0.0, 3.0, 0.0])),  # looking above the horizon
             rolled]
    for pose in poses:
        expected = _paint_reference(painter, pose, np.radians(40.0)).astype(int)
        got = painter.paint(pose, np.radians(40.0)).astype(int)
        assert np.abs(got - expected).max() <= 1, np.abs(got - expected).max()
    ground = painter.paint(poses[0], np.radians(40.0))
    assert (ground[-1] != ground[0]).any()  # the bottom row sees ground, the top row only backdrop


def test_folded_keypoint_embedder_equals_per_joint_embeddings():
    """The folded keypoint embedder computes exactly the per-joint embed -> concat -> MLP of its docstring."""
    import torch

    from genmo.model.embedders import KeypointEmbedder

    torch.manual_seed(0)
    emb = KeypointEmbedder(d_model=16, width=8, dropout=0.0).eval()
    with torch.no_grad():
        emb.bias.normal_()
    kp = torch.randn(2, 5, 17, 3)
    kp[..., 2] = torch.rand(2, 5, 17)
    visible = (kp[..., 2:3] > 0.5).float()
    per_joint = torch.einsum("btjc,jce->btje", kp[..., :2], emb.weight) + emb.bias
    per_joint = visible * per_joint + (1 - visible) * emb.invisible
    reference = emb.out(per_joint.flatten(-2))
    assert torch.allclose(emb(kp), reference, atol=1e-5)


def test_ground_texture_is_built_once_and_read_only() -> None:
    colors, backdrop = ((0.9, 0.9, 0.9), (0.7, 0.7, 0.8)), (0.95, 0.95, 0.97)
    first, second = GroundPainter(160, 120, colors, backdrop), GroundPainter(320, 240, list(colors), list(backdrop))
    assert first._texture is second._texture and not first._texture.flags.writeable
    assert GroundPainter(160, 120, colors, (0.5, 0.5, 0.5))._texture is not first._texture
