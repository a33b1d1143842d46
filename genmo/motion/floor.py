"""Keep the feet on or above the floor: lift the root of frames where the lowest foot sinks under it.

The sampler knows the floor only as learned statistics, so a motion between two keyframes can dip a
foot through it (a squat eased into too early). The lift of each frame is the depth of its lowest
foot joint under ``-tolerance``; it is spread into a smooth curve that never falls below that depth
(a running maximum over ``radius`` frames, then a raised-cosine average over the same radius), so
the correction itself cannot pop. Only the root height moves; frames with the feet on or above the
floor and more than ``2 * radius`` frames from a sinking one are unchanged. Pinned frames (a
keyframe's root height) are never moved: within ``radius`` frames of one the smooth curve fades
out, and the lift there is the frame's own depth.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from genmo.body.model import BodyModel
from genmo.body.skeleton import FOOT_JOINTS
from genmo.motion.representation import LAYOUT, decode

FLOOR_TOLERANCE_M = 0.02  # real clips: the lowest foot's 1st percentile is 0.03 m under the floor
LIFT_RADIUS = 6  # frames (0.2 s at 30 fps)


def smooth_lift(depth: Tensor, radius: int = LIFT_RADIUS) -> Tensor:
    """A smooth curve (B, T) that is >= depth (B, T) everywhere and 0 far from any positive depth."""
    if radius < 1:
        return depth
    size = 2 * radius + 1
    held = F.max_pool1d(F.pad(depth[:, None], (radius, radius)), size, stride=1)  # running maximum
    offsets = torch.arange(-radius, radius + 1, dtype=depth.dtype, device=depth.device)
    window = 0.5 * (1 + torch.cos(math.pi * offsets / (radius + 1)))
    window = (window / window.sum()).view(1, 1, -1)
    return F.conv1d(F.pad(held, (radius, radius), mode="replicate"), window)[:, 0]


def lowest_foot(x: Tensor, body: BodyModel) -> Tensor:
    """Height (B, T) of the lowest foot joint of unnormalised motion vectors x (B, T, D)."""
    heights = []
    for sample in x:
        rest = body.rest_joints(sample[:, LAYOUT["betas"]].mean(0)).to(sample)
        heights.append(decode(sample, rest)["joints_world"][:, list(FOOT_JOINTS), 1].min(dim=-1).values)
    return torch.stack(heights)


def distance_to_pinned(pinned: Tensor) -> Tensor:
    """Frames (B, T) from each frame to the nearest pinned frame of pinned (B, T) bool (T if none)."""
    t = pinned.shape[1]
    frames = torch.arange(t, dtype=torch.float32).expand(pinned.shape)
    far = torch.full_like(frames, float(2 * t))
    before = torch.where(pinned, frames, -far).cummax(dim=1).values  # the last pinned frame so far
    after = torch.where(pinned, frames, far).flip(1).cummin(dim=1).values.flip(1)  # the next one
    return torch.minimum(frames - before, after - frames).clamp(max=float(t))


def floor_lift(x: Tensor, body: BodyModel, valid: Tensor, pinned: Tensor | None = None,
               tolerance: float = FLOOR_TOLERANCE_M, radius: int = LIFT_RADIUS) -> Tensor:
    """The root-height lift (B, T) in metres that brings every valid frame's lowest foot of x
    (B, T, D, unnormalised) to at most ``tolerance`` under the floor, 0 on ``pinned`` (B, T) frames."""
    with torch.no_grad():
        depth = (-lowest_foot(x, body) - tolerance).clamp_min(0) * valid.to(x.dtype)
        lift = smooth_lift(depth, radius)
        if pinned is not None and bool(pinned.any()):
            pinned = pinned.to(torch.bool)
            fade = (distance_to_pinned(pinned) / max(radius, 1)).clamp(max=1.0).to(x.dtype)
            lift = torch.maximum(depth * ~pinned, lift * fade)
        return lift * valid.to(x.dtype)
