"""Estimation from 2D keypoints on held-out virtual cameras (GVHMR protocol, GENMO Table 8 sweep).

Each test clip (its first ``max_frames`` frames, as one whole sequence: the model's sliding
window handles the length) is seen by a virtual camera drawn from a generator seeded with
EVAL_CAMERA_SEED + clip index (training draws cameras from unseeded generators), with the
projection's keypoint noise, dropped joints and leg occlusions. With ``occlusion`` set, that
fraction of frames additionally loses all keypoints, in blocks of 10-30 frames.

Camera-space metrics compare decode()'s joints_cam with the GT joints in the virtual camera;
world metrics compare decoded world joints with GT world joints (each metric's own alignment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genmo.conditions.keypoints2d import VideoObservation, condition_arrays
from genmo.data.corpus import Corpus
from genmo.data.projection import observe_2d, random_camera
from genmo.eval import metrics as M
from genmo.eval.common import (
    body_vertices,
    decode_sample,
    ground_truth,
    mean_or_none,
    padded_conditions,
    sample,
    split_clips,
    to_camera,
)

EVAL_CAMERA_SEED = 7_000_001
MIN_VISIBLE = 4
RTE_MIN_PATH_M = 0.5  # RTE is a percentage of the GT path: skipped for clips that barely move


@dataclass
class EstimationSettings:
    clips: int = 24
    max_frames: int = 300
    steps: tuple[int, ...] = (1, 2, 5, 10, 50)
    with_vertices: bool = True
    split: str = "test"  # "val" only to choose settings (e.g. smoothing), never to report


def occlusion_mask(frames: int, fraction: float, rng: np.random.Generator, block: tuple[int, int] = (10, 30)) -> np.ndarray:
    """(frames,) bool, True on about ``fraction`` of the frames, in blocks of block[0]..block[1] frames."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"occlusion fraction must be in [0, 1), got {fraction}")
    mask = np.zeros(frames, bool)
    target = int(round(fraction * frames))
    while mask.sum() < target:
        length = int(min(rng.integers(block[0], block[1] + 1), target - mask.sum()))
        start = int(rng.integers(0, max(1, frames - length + 1)))
        mask[start:start + length] = True
    return mask


def observe(joints: np.ndarray, seed: int, occlusion: float = 0.0) -> tuple[dict, dict]:
    """A held-out 2D observation of world joints (T, 24, 3): (condition arrays, camera/obs dict)."""
    rng = np.random.default_rng(seed)
    camera = random_camera(joints, rng)
    obs = observe_2d(joints, rng, camera=camera)
    keypoints = obs["keypoints"].copy()
    if occlusion > 0:
        hidden = occlusion_mask(len(joints), occlusion, np.random.default_rng(seed + 1))
        keypoints[hidden] = 0.0
    seen = (keypoints[..., 2] > 0).sum(-1) >= MIN_VISIBLE
    video = VideoObservation(keypoints=keypoints, bbox=obs["bbox"], focal=float(obs["K"][0, 0]),
                             image_size=tuple(int(v) for v in obs["image_size"]), cam_angvel=obs["cam_angvel"],
                             fps=30.0, person_found=seen)
    return condition_arrays(video), obs


def estimation_batch(arrays: list[dict]) -> dict:
    """A padded condition batch holding each clip's 2D keypoints, bbox and camera rotation."""
    lengths = [len(a["mask"]) for a in arrays]
    batch = padded_conditions(lengths)
    for i, a in enumerate(arrays):
        n = lengths[i]
        batch["cond"]["kp2d"][i, :n] = torch.from_numpy(a["kp2d"])
        batch["cond"]["bbox"][i, :n] = torch.from_numpy(a["bbox_feature"])
        batch["cond"]["cam_angvel"][i, :n] = torch.from_numpy(a["cam_angvel"])
        batch["cond_mask"]["kp2d"][i, :n] = torch.from_numpy(a["mask"])
        batch["cond_mask"]["bbox"][i, :n] = torch.from_numpy(a["mask"])
        batch["cond_mask"]["cam_angvel"][i, :n] = True
    return batch


def evaluate_estimation(pipe, corpus: Corpus, settings: EstimationSettings, occlusion: float = 0.0,
                        seed: int = 0) -> dict:
    """Metrics per step count: {"clips", "frames", "steps": {steps: {metric: value}}}."""
    clips = split_clips(corpus, settings.split, min_frames=30, limit=settings.clips)
    if not clips:
        raise ValueError("the corpus has no test clips of at least 30 frames")
    rest = pipe.body.rest_joints().float()
    gts, arrays, cams = [], [], []
    for i, clip in enumerate(clips):
        gt = ground_truth(corpus, clip, rest, frames=settings.max_frames)
        cond, obs = observe(gt.joints, EVAL_CAMERA_SEED + i, occlusion)
        gts.append(gt)
        arrays.append(cond)
        cams.append(obs)
    gt_cam = [to_camera(g.joints, c["cam_R"], c["cam_t"]) for g, c in zip(gts, cams)]
    gt_verts = None
    if settings.with_vertices:
        gt_verts = [to_camera(body_vertices(pipe.body, g.local_rots, g.root), c["cam_R"], c["cam_t"])
                    for g, c in zip(gts, cams)]
    batch = estimation_batch(arrays)
    results = {}
    for steps in settings.steps:
        x = sample(pipe, batch, steps, guidance=1.0, seed=seed)
        per: dict[str, list] = {k: [] for k in ("mpjpe", "pa_mpjpe", "pve", "accel", "w_mpjpe100", "wa_mpjpe100",
                                                 "rte", "jitter", "foot_sliding")}
        for i, gt in enumerate(gts):
            pred = decode_sample(pipe, x[i], gt.num_frames, with_vertices=settings.with_vertices)
            pc = pred["joints_cam"]
            per["mpjpe"].append(M.mpjpe(pc, gt_cam[i]))
            per["pa_mpjpe"].append(M.pa_mpjpe(pc, gt_cam[i]))
            per["accel"].append(M.accel_error(pc - pc[:, :1], gt_cam[i] - gt_cam[i][:, :1]))
            if gt_verts is not None:
                pv = to_camera(pred["verts_world"], pred["cam_R"], pred["cam_t"])
                per["pve"].append(M.pve(pv, gt_verts[i], pc[:, 0], gt_cam[i][:, 0]))
            pw = pred["joints_world"]
            per["w_mpjpe100"].append(M.w_mpjpe(pw, gt.joints))
            per["wa_mpjpe100"].append(M.wa_mpjpe(pw, gt.joints))
            if np.linalg.norm(np.diff(gt.joints[:, 0], axis=0), axis=-1).sum() >= RTE_MIN_PATH_M:
                per["rte"].append(M.rte(pw[:, 0], gt.joints[:, 0]))
            per["jitter"].append(M.jitter(pw))
            feet = list(M.FOOT_JOINTS)
            per["foot_sliding"].append(M.foot_sliding(pw[:, feet], gt.joints[:, feet]))
        results[str(steps)] = {k: mean_or_none(v) for k, v in per.items()}
    reference = {"jitter": mean_or_none([M.jitter(g.joints) for g in gts])}
    return {"clips": len(clips), "frames": int(sum(g.num_frames for g in gts)), "occlusion": occlusion,
            "rte_clips": int(sum(np.linalg.norm(np.diff(g.joints[:, 0], axis=0), axis=-1).sum() >= RTE_MIN_PATH_M
                                 for g in gts)),
            "steps": results, "real": reference}
