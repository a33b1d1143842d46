"""The batch format shared by the collate function, the denoiser, the sampler and the losses.

Every tensor is batch-first; B samples, T frames, K text prompts, L text tokens.

    x0               (B, T, D) float  normalised motion vector (D = model.motion_dim)
    valid            (B, T) bool      real frames (False = padding)
    cond             {"kp2d": (B, T, 17, 3), "bbox": (B, T, 3), "cam_angvel": (B, T, 6),
                      "music": (B, T, 35), "video": (B, T, 1024)} float
                     kp2d: x, y in normalised bbox coordinates 2 (xy - c) / b and a confidence
    cond_mask        same keys, (B, T) bool: the condition exists at that frame
    text_tokens      (B, K, L, 384) float   per-token text encoder states
    text_token_mask  (B, K, L) bool         real tokens
    text_windows     (B, K, T) bool         frames each prompt covers
    text_present     (B, K) bool            the prompt exists
    has_2d           (B,) bool        the sample has 2D observations (estimation mode applies)
    K_intrinsics     (B, 3, 3) float  camera intrinsics in pixels, for the reprojection loss
    bbx_xys          (B, T, 3) float  bbox centre x, y and size in pixels
    rest_joints      (B, 24, 3) float rest-pose joints of the sample's body shape
    has_3d           (B,) bool        optional; the sample has 3D ground truth (default all True).
                                      2D-only samples (has_2d and not has_3d) get only 2D losses.

The denoiser and the sampler need only the condition part (``ConditionBatch``: everything but x0
and the training-only keys), so a sampling batch omits x0, has_2d, K_intrinsics, bbx_xys,
rest_joints. docs/model.md describes the format with the model.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict, TypeVar

import torch
from torch import Tensor

from genmo.model.config import COND_DIMS, TEXT_DIM

COND_KEYS: tuple[str, ...] = tuple(COND_DIMS)
# Conditions the classifier-free-guidance null removes (text is handled separately).
GUIDED_COND_KEYS: tuple[str, ...] = ("music",)


class ConditionBatch(TypedDict):
    """The condition part the denoiser and the sampler read (see the module docstring for shapes)."""

    valid: Tensor
    cond: dict[str, Tensor]
    cond_mask: dict[str, Tensor]
    text_tokens: Tensor
    text_token_mask: Tensor
    text_windows: Tensor
    text_present: Tensor


class Batch(ConditionBatch):
    """A training batch: the conditions plus the target and what the losses need (module docstring)."""

    x0: Tensor
    has_2d: Tensor
    K_intrinsics: Tensor
    bbx_xys: Tensor
    rest_joints: Tensor
    has_3d: NotRequired[Tensor]


B = TypeVar("B", ConditionBatch, Batch, dict)  # the helpers below keep the kind of batch they are given


def empty_conditions(batch: int, frames: int, device: torch.device | str = "cpu", texts: int = 1,
                     tokens: int = 1) -> ConditionBatch:
    """A condition batch with nothing present: every mask False, every feature zero."""
    cond = {k: torch.zeros(batch, frames, *d, device=device) for k, d in COND_DIMS.items()}
    return {
        "valid": torch.ones(batch, frames, dtype=torch.bool, device=device),
        "cond": cond,
        "cond_mask": {k: torch.zeros(batch, frames, dtype=torch.bool, device=device) for k in COND_DIMS},
        "text_tokens": torch.zeros(batch, texts, tokens, TEXT_DIM, device=device),
        "text_token_mask": torch.zeros(batch, texts, tokens, dtype=torch.bool, device=device),
        "text_windows": torch.zeros(batch, texts, frames, dtype=torch.bool, device=device),
        "text_present": torch.zeros(batch, texts, dtype=torch.bool, device=device),
    }


def check_conditions(batch: ConditionBatch, frames: int) -> None:
    """Raise ValueError naming the first condition tensor whose shape does not fit (B, frames)."""
    valid = batch.get("valid")
    if valid is None or valid.ndim != 2 or valid.shape[1] != frames:
        raise ValueError(f"batch['valid']: expected shape (B, {frames})")
    b = valid.shape[0]
    for key, dims in COND_DIMS.items():
        if key not in batch["cond"] or key not in batch["cond_mask"]:
            raise ValueError(f"batch['cond'] / batch['cond_mask']: missing key {key!r}")
        if tuple(batch["cond"][key].shape) != (b, frames, *dims):
            raise ValueError(f"batch['cond'][{key!r}]: expected {(b, frames, *dims)}, got {tuple(batch['cond'][key].shape)}")
        if tuple(batch["cond_mask"][key].shape) != (b, frames):
            raise ValueError(f"batch['cond_mask'][{key!r}]: expected {(b, frames)}, got {tuple(batch['cond_mask'][key].shape)}")
    tok = batch["text_tokens"]
    if tok.ndim != 4 or tok.shape[0] != b or tok.shape[-1] != TEXT_DIM:
        raise ValueError(f"batch['text_tokens']: expected (B, K, L, {TEXT_DIM}), got {tuple(tok.shape)}")
    k, n_tok = tok.shape[1], tok.shape[2]
    expected = {"text_token_mask": (b, k, n_tok), "text_windows": (b, k, frames), "text_present": (b, k)}
    for key, shape in expected.items():
        if tuple(batch[key].shape) != shape:
            raise ValueError(f"batch[{key!r}]: expected {shape}, got {tuple(batch[key].shape)}")


def batch_to(batch: B, device: torch.device | str) -> B:
    """Move every tensor of a (nested) batch dict to a device."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, dict):
            out[key] = batch_to(value, device)
        elif isinstance(value, Tensor):
            out[key] = value.to(device, non_blocking=True)
        else:
            out[key] = value
    return out


def cat_batches(a: B, b: B) -> B:
    """Concatenate two batches of the same structure along the batch dimension."""
    out = {}
    for key, value in a.items():
        if isinstance(value, dict):
            out[key] = cat_batches(value, b[key])
        elif isinstance(value, Tensor):
            out[key] = torch.cat([value, b[key]], dim=0)
        else:
            out[key] = value
    return out


def select(batch: B, index: Tensor) -> B:
    """The samples of a batch at the given indices (a bool mask or integer indices)."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, dict):
            out[key] = select(value, index)
        elif isinstance(value, Tensor) and value.ndim > 0:
            out[key] = value[index]
        else:
            out[key] = value
    return out
