"""Per-condition embedders (additive fusion, docs/model.md (3.1)) and the timestep embedding."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genmo.model.config import COND_DIMS


def sinusoidal(positions: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of (...,) positions -> (..., dim), sin half then cos half."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    args = positions.float()[..., None] * freqs
    emb = torch.cat([args.sin(), args.cos()], dim=-1)
    return emb if dim % 2 == 0 else nn.functional.pad(emb, (0, 1))


def mlp(d_in: int, d_hidden: int, d_out: int, dropout: float = 0.0) -> nn.Sequential:
    """Linear -> GELU -> Dropout -> Linear."""
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_hidden, d_out))


def zero_init(layer: nn.Linear) -> nn.Linear:
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class TimestepEmbedder(nn.Module):
    """Diffusion step t (B,) -> (B, D): sinusoid -> Linear -> SiLU -> Linear."""

    def __init__(self, d_model: int):
        super().__init__()
        self.d_model = d_model
        self.net = nn.Sequential(nn.Linear(d_model, d_model), nn.SiLU(), nn.Linear(d_model, d_model))

    def forward(self, t: Tensor) -> Tensor:
        return self.net(sinusoidal(t, self.d_model))


class KeypointEmbedder(nn.Module):
    """2D keypoints (B, T, 17, 3) -> (B, T, D).

    Visible joints (conf > 0.5): a per-joint Linear(2 -> E) of x, y; invisible joints: a learned
    per-joint vector. The 17 joint embeddings are concatenated and passed through an MLP.
    The per-joint layer and the MLP's first Linear are both linear, so they are applied as one
    folded product (34 + 17 inputs) instead of materialising the (B, T, 17, E) embeddings.
    """

    def __init__(self, d_model: int, width: int, dropout: float):
        super().__init__()
        n_joints = COND_DIMS["kp2d"][0]
        self.weight = nn.Parameter(torch.randn(n_joints, 2, width) / math.sqrt(2))
        self.bias = nn.Parameter(torch.zeros(n_joints, width))
        self.invisible = nn.Parameter(torch.randn(n_joints, width) * 0.02)
        self.out = mlp(n_joints * width, 2 * d_model, d_model, dropout)

    def forward(self, kp: Tensor) -> Tensor:
        first, rest = self.out[0], self.out[1:]
        n_joints, _, width = self.weight.shape
        w1 = first.weight.t().reshape(n_joints, width, -1)  # (J, E, H)
        xy_proj = torch.einsum("jce,jeh->jch", self.weight, w1).reshape(2 * n_joints, -1)
        seen_proj = torch.einsum("je,jeh->jh", self.bias - self.invisible, w1)
        const = torch.einsum("je,jeh->h", self.invisible, w1) + first.bias
        visible = (kp[..., 2] > 0.5).to(kp.dtype)
        xy = (kp[..., :2] * visible[..., None]).flatten(-2)
        return rest(xy @ xy_proj + visible @ seen_proj + const)


class SmallVectorEmbedder(nn.Module):
    """Low-dimensional per-frame vectors (bbox, camera angular velocity) -> (B, T, D).

    Linear -> SiLU -> Dropout -> zero-init Linear, so a new condition starts as a no-op.
    """

    def __init__(self, d_in: int, d_model: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, d_model), nn.SiLU(), nn.Dropout(dropout),
                                 zero_init(nn.Linear(d_model, d_model)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class FeatureEmbedder(nn.Module):
    """Wide precomputed features (video tokens) -> (B, T, D): LayerNorm -> zero-init Linear."""

    def __init__(self, d_in: int, d_model: int):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(d_in), zero_init(nn.Linear(d_in, d_model)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConditionFusion(nn.Module):
    """Embed every frame-aligned condition, multiply by its per-frame mask and sum: (B, T, D)."""

    def __init__(self, d_model: int, kp_width: int, dropout: float):
        super().__init__()
        self.embedders = nn.ModuleDict({
            "kp2d": KeypointEmbedder(d_model, kp_width, dropout),
            "bbox": SmallVectorEmbedder(COND_DIMS["bbox"][0], d_model, dropout),
            "cam_angvel": SmallVectorEmbedder(COND_DIMS["cam_angvel"][0], d_model, dropout),
            "music": mlp(COND_DIMS["music"][0], 2 * d_model, d_model, dropout),
            "video": FeatureEmbedder(COND_DIMS["video"][0], d_model),
        })

    def forward(self, cond: dict[str, Tensor], cond_mask: dict[str, Tensor]) -> Tensor:
        total = None
        for key, embed in self.embedders.items():
            mask = cond_mask[key]
            if not torch.is_grad_enabled() and not bool(mask.any()):
                continue  # inference shortcut; in training every embedder runs so DDP sees all params
            emb = embed(cond[key]) * mask[..., None].to(cond[key].dtype)
            total = emb if total is None else total + emb
        if total is None:
            ref = cond["bbox"]
            total = ref.new_zeros(*ref.shape[:2], self.embedders["video"].net[1].out_features)
        return total
