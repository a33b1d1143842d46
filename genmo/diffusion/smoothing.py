"""Temporal Gaussian smoothing of sampled (normalised) motion vectors: the sampler's output low-pass.

A small model leaves frame-to-frame noise in what it samples (most at 2+ DDIM steps). A Gaussian
over time with sigma of a couple of frames removes it; the reference implementation likewise
Gaussian-smooths its root translation in post-processing (docs/model.md, "Sampler").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_kernel(sigma: float) -> Tensor:
    """A normalised 1-D Gaussian of radius ceil(3 sigma) (float32)."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    weights = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def smooth_time(x: Tensor, sigma: float, valid: Tensor | None = None, keep: Tensor | None = None) -> Tensor:
    """Gaussian-smooth x (B, T, D) along time with ``sigma`` frames; 0 returns x unchanged.

    Only valid frames (valid (B, T) bool) contribute, and the kernel is renormalised where it
    runs past the ends or into padding, so the first and last frames are not pulled toward zero.
    Entries where ``keep`` (B, T, D) bool is set (keyframe constraints) keep their value.
    """
    if sigma < 0:
        raise ValueError(f"smoothing sigma must be >= 0, got {sigma}")
    if sigma == 0 or x.shape[1] < 2:
        return x
    b, t, d = x.shape
    weights = valid.to(x.dtype) if valid is not None else torch.ones(b, t, dtype=x.dtype, device=x.device)
    kernel = gaussian_kernel(sigma).to(device=x.device, dtype=x.dtype).view(1, 1, -1)
    pad = kernel.shape[-1] // 2
    signal = (x * weights[..., None]).transpose(1, 2).reshape(b * d, 1, t)
    num = F.conv1d(signal, kernel, padding=pad).view(b, d, t)
    den = F.conv1d(weights[:, None, :], kernel, padding=pad)
    out = (num / den.clamp_min(1e-8)).transpose(1, 2)
    if valid is not None:
        out = torch.where(valid[..., None], out, x)
    if keep is not None:
        out = torch.where(keep, x, out)
    return out
