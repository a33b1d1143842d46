"""Per-dimension normalisation statistics of the motion vector, saved with a checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from genmo.motion.representation import MOTION_DIM

STD_FLOOR = 0.01


class Normalizer:
    """x_n = (x - mean) / std with std floored at STD_FLOOR (constant dims are only mean-shifted)."""

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        if mean.shape != (MOTION_DIM,) or std.shape != (MOTION_DIM,):
            raise ValueError(f"normaliser stats: expected shape ({MOTION_DIM},), got {tuple(mean.shape)}, {tuple(std.shape)}")
        self.mean = mean.float()
        self.std = std.float().clamp_min(STD_FLOOR)

    @classmethod
    def identity(cls) -> "Normalizer":
        return cls(torch.zeros(MOTION_DIM), torch.ones(MOTION_DIM))

    @classmethod
    def fit(cls, x: Tensor, valid: Tensor | None = None) -> "Normalizer":
        """Statistics over all valid frames of x (..., T, D)."""
        flat = x.reshape(-1, MOTION_DIM)
        if valid is not None:
            flat = flat[valid.reshape(-1).bool()]
        return cls(flat.mean(0), flat.std(0))

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.mean.to(x)) / self.std.to(x)

    def denormalize(self, x: Tensor) -> Tensor:
        return x * self.std.to(x) + self.mean.to(x)

    def save(self, path: str | Path) -> None:
        save_file({"mean": self.mean.contiguous(), "std": self.std.contiguous()}, str(path))

    @classmethod
    def load(cls, path: str | Path) -> "Normalizer":
        tensors = load_file(str(path))
        return cls(tensors["mean"], tensors["std"])
