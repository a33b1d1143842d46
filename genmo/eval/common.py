"""Shared pieces of the evaluation: test-split clip selection, ground-truth motion of a clip,
batched sampling with a pipeline and decoding back to joints.

Every task reads clips through `split_clips(corpus, "test", ...)`; only the evaluator training
(genmo.eval.evaluator) reads the train split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from genmo.body.kinematics import forward_kinematics
from genmo.data.corpus import Corpus
from genmo.model.batch import ConditionBatch, empty_conditions
from genmo.motion.representation import LAYOUT, decode, encode

FPS = 30.0


@dataclass
class GroundTruth:
    """A ground-truth motion segment on the pipeline's body: local_rots (T, 24, 3, 3),
    root (T, 3) world pelvis, joints (T, 24, 3) world."""

    local_rots: np.ndarray
    root: np.ndarray
    joints: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.root)


def split_clips(corpus: Corpus, split: str, sources: tuple[str, ...] | None = None, min_frames: int = 1,
                need_text: bool = False, need_music: bool = False, limit: int | None = None) -> list[dict]:
    """Clips of one split (sorted by source and id), evenly thinned to ``limit`` when given."""
    clips = [c for c in corpus.clips if c["split"] == split and c["length"] >= min_frames
             and (sources is None or c["source"] in sources)
             and (not need_text or c["texts"]) and (not need_music or c.get("has_music"))]
    clips.sort(key=lambda c: (c["source"], c["id"]))
    if limit is not None and len(clips) > limit:
        picks = np.linspace(0, len(clips) - 1, limit).round().astype(int)
        clips = [clips[i] for i in picks]
    return clips


def ground_truth(corpus: Corpus, clip: dict, rest_joints: torch.Tensor, start: int = 0,
                 frames: int | None = None) -> GroundTruth:
    """Frames [start, start + frames) of a clip, posed on ``rest_joints`` (24, 3)."""
    arr = corpus.clip_arrays(clip)
    end = clip["length"] if frames is None else min(clip["length"], start + frames)
    if end <= start:
        raise ValueError(f"clip {clip['id']}: no frames in [{start}, {end})")
    n = end - start
    rots = Rotation.from_rotvec(arr["poses"][start:end].reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3)
    rest = rest_joints.float()
    root = rest[0] + torch.as_tensor(arr["trans"][start:end], dtype=torch.float32)
    _, joints = forward_kinematics(torch.as_tensor(rots, dtype=torch.float32), rest, root)
    return GroundTruth(rots.astype(np.float32), root.numpy(), joints.numpy())


def encode_gt(gt: GroundTruth, cam_R: np.ndarray | None = None, cam_t: np.ndarray | None = None) -> torch.Tensor:
    """The unnormalised motion vectors (T, D) of a ground-truth segment (camera fields when given)."""
    kwargs = {}
    if cam_R is not None:
        kwargs = {"cam_R": torch.as_tensor(cam_R, dtype=torch.float32), "cam_t": torch.as_tensor(cam_t, dtype=torch.float32)}
    return encode(torch.as_tensor(gt.local_rots), torch.as_tensor(gt.root), torch.zeros(10),
                  torch.as_tensor(gt.joints), **kwargs)


def padded_conditions(lengths: list[int], texts: int = 1, tokens: int = 1) -> ConditionBatch:
    """An empty condition batch for samples of the given lengths (valid marks real frames)."""
    t_max = max(lengths)
    batch = empty_conditions(len(lengths), t_max, texts=texts, tokens=tokens)
    for i, n in enumerate(lengths):
        batch["valid"][i, n:] = False
    return batch


def sample(pipe, batch: ConditionBatch, steps: int, guidance: float = 1.0, seed: int = 0,
           keyframes: torch.Tensor | None = None, keyframe_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Sample a condition batch as the product does (`GenmoPipeline.sample_batch`, smoothing included);
    returns unnormalised x (B, T, D) on the CPU. keyframes: unnormalised values with keyframe_mask."""
    return pipe.sample_batch(batch, steps, guidance=guidance, seed=seed, keyframes=keyframes, keyframe_mask=keyframe_mask)


def decode_sample(pipe, x: torch.Tensor, frames: int, with_vertices: bool = False) -> dict[str, np.ndarray]:
    """Decode one sample's vectors x (T, D) (first ``frames`` frames) on the pipeline's body.

    Returns numpy joints_world, joints_cam (T, 24, 3), root, local_rots, cam_R, cam_t and, with
    with_vertices, verts_world (T, V, 3).
    """
    x = x[:frames]
    betas = x[:, LAYOUT["betas"]].mean(0)
    rest = pipe.body.rest_joints(betas).float()
    with torch.no_grad():
        out = decode(x, rest)
        result = {k: out[k].numpy() for k in ("joints_world", "joints_cam", "root_pos", "local_rots", "cam_R", "cam_t")}
        if with_vertices:
            result["verts_world"] = body_vertices(pipe.body, out["local_rots"], out["root_pos"], betas)
    return result


def body_vertices(body, local_rots: torch.Tensor | np.ndarray, root: torch.Tensor | np.ndarray,
                  betas: torch.Tensor | None = None) -> np.ndarray:
    """World vertices (T, V, 3) of a posed body given local rotations and the world pelvis."""
    betas = torch.zeros(10) if betas is None else betas
    rest = body.rest_joints(betas).float()
    trans = torch.as_tensor(root, dtype=torch.float32) - rest[0]
    with torch.no_grad():
        out = body(torch.as_tensor(local_rots, dtype=torch.float32), betas, trans, with_vertices=True)
    return out.vertices.numpy()


def to_camera(points: np.ndarray, cam_R: np.ndarray, cam_t: np.ndarray) -> np.ndarray:
    """World points (T, P, 3) -> camera space with per-frame extrinsics R (T, 3, 3), t (T, 3)."""
    return np.einsum("tab,tpb->tpa", cam_R, points) + cam_t[:, None, :]


def mean_or_none(values: list[np.ndarray] | np.ndarray) -> float | None:
    """Mean of concatenated per-frame values (None when there are none), rounded for reports."""
    if isinstance(values, list):
        values = np.concatenate([np.asarray(v, dtype=np.float64).reshape(-1) for v in values]) if values else np.zeros(0)
    values = np.asarray(values, dtype=np.float64)
    return round(float(values.mean()), 4) if values.size else None
