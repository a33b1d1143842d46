"""Contact labels of heels, toes and hands from joint height and speed."""

from __future__ import annotations

import torch
from torch import Tensor

from genmo.body.skeleton import CONTACT_JOINTS

# Thresholds per contact joint (left ankle, left foot, right ankle, right foot, left wrist, right wrist).
CONTACT_SPEED_MPS = 0.25
CONTACT_HEIGHT_M = (0.14, 0.08, 0.14, 0.08, 0.12, 0.12)


def contact_labels(joints: Tensor, fps: float, ground_y: float | Tensor = 0.0) -> Tensor:
    """Binary contacts (..., T, 6) for world joints (..., T, 24, 3), Y up.

    A joint is in contact when it is near the ground and nearly still; the speed of the last
    frame repeats the one before.
    """
    pts = joints[..., list(CONTACT_JOINTS), :]
    if pts.shape[-3] < 2:
        speed = torch.zeros(pts.shape[:-1], dtype=pts.dtype, device=pts.device)
    else:
        step = (pts[..., 1:, :, :] - pts[..., :-1, :, :]).norm(dim=-1) * fps
        speed = torch.cat((step, step[..., -1:, :]), dim=-2)
    height = pts[..., 1] - torch.as_tensor(ground_y, dtype=pts.dtype)
    limit = torch.tensor(CONTACT_HEIGHT_M, dtype=pts.dtype, device=pts.device)
    return ((speed < CONTACT_SPEED_MPS) & (height < limit)).to(pts.dtype)
