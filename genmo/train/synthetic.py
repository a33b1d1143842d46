"""A synthetic motion dataset in the training batch format (genmo.model.batch), for tests and
smoke runs of the trainer without real data.

Each sample is a smooth random motion (sinusoidal joint rotations, a root walking along a
turning heading) seen by a static virtual camera: it has 3D ground truth, projected COCO-17
keypoints with their bbox (has_2d for a fraction of samples), a text prompt from one of a few
"classes" (random token states per class) and, for some samples, music-like features.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.utils.data import Dataset

from genmo.body.kinematics import forward_kinematics
from genmo.body.rotations import axis_angle_to_matrix
from genmo.constants import MODEL_FPS
from genmo.model.batch import Batch
from genmo.model.config import COND_DIMS, TEXT_DIM
from genmo.motion.contacts import contact_labels
from genmo.motion.normalizer import Normalizer
from genmo.motion.representation import encode
from genmo.motion.synthetic import REST_JOINTS
from genmo.train.losses import COCO_BODY, SMPL_FOR_COCO_BODY

FOCAL = 1000.0
IMAGE_SIZE = 1000.0
TEXT_TOKENS = 4


def look_at(cam_pos: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """World-to-camera R, t (OpenCV axes: x right, y down, z forward) of a camera looking at target."""
    z = torch.nn.functional.normalize(target - cam_pos, dim=0)
    x = torch.nn.functional.normalize(torch.linalg.cross(torch.tensor([0.0, -1.0, 0.0]), z), dim=0)
    y = torch.linalg.cross(z, x)
    rot = torch.stack([x, y, z])
    return rot, -rot @ cam_pos


class SyntheticMotionDataset(Dataset):
    """`size` random samples of `seq_len` frames, normalised with stats fitted on themselves
    (or on `normalizer` if given). Items are dicts of the batch format without the batch dim."""

    def __init__(self, size: int, seq_len: int = 120, seed: int = 0, has_2d_fraction: float = 0.5,
                 two_d_only_fraction: float = 0.0, num_classes: int = 4, normalizer: Normalizer | None = None):
        if size < 1 or seq_len < 2:
            raise ValueError("synthetic dataset: size must be >= 1 and seq_len >= 2")
        gen = torch.Generator().manual_seed(seed)
        text_gen = torch.Generator().manual_seed(1234)  # class prompts shared across splits
        self.class_tokens = torch.randn(num_classes, TEXT_TOKENS, TEXT_DIM, generator=text_gen)
        self.items = [self._sample(seq_len, gen, has_2d_fraction, two_d_only_fraction, num_classes)
                      for _ in range(size)]
        if normalizer is None:
            raw = torch.stack([it["x_raw"] for it in self.items])
            normalizer = Normalizer.fit(raw)
        self.normalizer = normalizer
        for it in self.items:
            it["x0"] = normalizer.normalize(it.pop("x_raw"))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Batch:
        return self.items[index]

    def _sample(self, length: int, gen: torch.Generator, p2d: float, p2d_only: float, num_classes: int) -> dict:
        def rand(*shape: int) -> Tensor:
            return torch.rand(*shape, generator=gen)

        label = int(torch.randint(num_classes, (1,), generator=gen))
        t = torch.arange(length, dtype=torch.float32) / MODEL_FPS
        freq = 0.6 + 0.3 * label + 0.2 * rand(1)
        amp = (0.1 + 0.3 * rand(24, 3)) * (1 + label) / num_classes
        phase = 2 * math.pi * rand(24, 3)
        aa = amp * torch.sin(2 * math.pi * freq * t[:, None, None] + phase)  # (T, 24, 3)
        yaw0, turn = 2 * math.pi * rand(1), (rand(1) - 0.5) * 0.6
        heading = yaw0 + turn * t
        aa[:, 0] = torch.stack([0.05 * torch.sin(t), heading, torch.zeros_like(t)], dim=-1) * torch.tensor([1, 1, 0.0])
        local_rots = axis_angle_to_matrix(aa)
        speed = 0.3 + 0.4 * label / max(num_classes - 1, 1)
        step = torch.stack([torch.sin(heading), torch.zeros_like(t), torch.cos(heading)], -1) * speed / MODEL_FPS
        root = torch.cumsum(step, 0) + torch.tensor([0.0, 0.95, 0.0])
        _, joints = forward_kinematics(local_rots, REST_JOINTS, root)
        lift = joints[..., 1].min()
        root, joints = root - torch.tensor([0.0, 1.0, 0.0]) * lift, joints - torch.tensor([0.0, 1.0, 0.0]) * lift
        contacts = contact_labels(joints, MODEL_FPS)
        target = root[0] * torch.tensor([1.0, 0.0, 1.0]) + torch.tensor([0.0, 1.0, 0.0])
        angle = 2 * math.pi * rand(1)
        cam_pos = target + torch.cat([4 * torch.sin(angle), torch.tensor([0.5]), 4 * torch.cos(angle)])
        cam_R, cam_t = look_at(cam_pos, target)
        cam_Rs, cam_ts = cam_R.expand(length, 3, 3), cam_t.expand(length, 3)
        x_raw = encode(local_rots, root, torch.zeros(10), joints, MODEL_FPS, cam_Rs, cam_ts, contacts)
        joints_cam = joints @ cam_R.T + cam_t
        uv = joints_cam[..., :2] / joints_cam[..., 2:3] * FOCAL + IMAGE_SIZE / 2
        kp = torch.zeros(length, 17, 3)
        kp[:, list(COCO_BODY), :2] = uv[:, list(SMPL_FOR_COCO_BODY)]
        kp[:, list(COCO_BODY), 2] = 1.0
        lo, hi = kp[:, 5:, :2].amin(1), kp[:, 5:, :2].amax(1)
        bbx = torch.cat([(lo + hi) / 2, (hi - lo).amax(-1, keepdim=True) * 1.2], -1)
        kp[..., :2] = 2 * (kp[..., :2] - bbx[:, None, :2]) / bbx[:, None, 2:]
        has_2d = bool(rand(1) < p2d)
        has_3d = not (has_2d and bool(rand(1) < p2d_only))
        has_text = not has_2d or bool(rand(1) < 0.5)
        has_music = bool(rand(1) < 0.3)
        cond = {k: torch.zeros(length, *d) for k, d in COND_DIMS.items()}
        cond["kp2d"] = kp
        cond["bbox"] = torch.stack([(bbx[:, 0] - IMAGE_SIZE / 2) / FOCAL, (bbx[:, 1] - IMAGE_SIZE / 2) / FOCAL,
                                    bbx[:, 2] / FOCAL], -1)
        cond["music"] = torch.sin(2 * math.pi * freq * t[:, None] * torch.arange(1, 36) / 4)
        frames = torch.ones(length, dtype=torch.bool)
        cond_mask = {k: torch.zeros(length, dtype=torch.bool) for k in COND_DIMS}
        for key in ("kp2d", "bbox", "cam_angvel"):
            cond_mask[key] = frames & has_2d
        cond_mask["music"] = frames & has_music
        return {
            "x_raw": x_raw,
            "valid": frames,
            "cond": cond,
            "cond_mask": cond_mask,
            "text_tokens": self.class_tokens[label][None],
            "text_token_mask": torch.ones(1, TEXT_TOKENS, dtype=torch.bool),
            "text_windows": frames[None].clone(),
            "text_present": torch.tensor([has_text]),
            "has_2d": torch.tensor(has_2d),
            "has_3d": torch.tensor(has_3d),
            "K_intrinsics": torch.tensor([[FOCAL, 0, IMAGE_SIZE / 2], [0, FOCAL, IMAGE_SIZE / 2], [0, 0, 1]]),
            "bbx_xys": bbx,
            "rest_joints": REST_JOINTS.clone(),
        }
