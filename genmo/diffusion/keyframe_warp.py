"""Keyframe motion warping: ease sampled motion into its in-painted keyframes.

In-painting fixes a keyframe's dims on its own frame only; a small denoiser leaves the frames
around it where they were, so the pose jumps to the keyframe for one frame and back (a pop).
Motion warping (Witkin & Popovic 1995) adds to each constrained dim a smooth displacement that
is the keyframe's offset from the motion around it at the keyframe and fades to zero over
``radius`` frames on both sides (a raised cosine), so the motion eases into the key and out of it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

WARP_RADIUS = 12  # frames (0.4 s at 30 fps) over which the motion eases into and out of a keyframe


def warp_to_keyframes(x: Tensor, known: Tensor, mask: Tensor, radius: int = WARP_RADIUS) -> Tensor:
    """x, known (B, T, D) normalised; mask (B, T, D) bool where known values are fixed.

    For every keyframe frame k and fixed dim, the offset between the known value and the mean of the
    unconstrained neighbours x[k - 1], x[k + 1] is spread over [k - radius, k + radius] with weight
    (1 + cos(pi d / (radius + 1))) / 2; overlapping keyframes add their displacements, each fading
    before the next key. The constrained entries end exactly at their known values.
    """
    if radius < 1 or not bool(mask.any()):
        return torch.where(mask, known, x)
    b, t, _ = x.shape
    out = x.clone()
    offsets = torch.arange(-radius, radius + 1, device=x.device)
    weights = 0.5 * (1 + torch.cos(math.pi * offsets.to(x.dtype) / (radius + 1)))
    for bi, k in mask.any(dim=-1).nonzero().tolist():
        dims = mask[bi, k]
        neighbours = [i for i in (k - 1, k + 1) if 0 <= i < t and not bool(mask[bi, i].any())]
        base = torch.stack([x[bi, i] for i in neighbours]).mean(0) if neighbours else x[bi, k]
        delta = torch.where(dims, known[bi, k] - base, torch.zeros_like(base))
        frames = k + offsets
        inside = (frames >= 0) & (frames < t)
        out[bi, frames[inside]] += weights[inside, None] * delta
    return torch.where(mask, known, out)
