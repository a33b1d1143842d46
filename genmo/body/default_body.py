"""The open default body: a skinned wooden mannequin rigged to SMPL-24 (Apache-2.0, no SMPL files needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genmo.body.model import BodyModel
from genmo.body.skeleton import NUM_JOINTS
from genmo.paths import checkpoints_dir, missing_checkpoint_file

NUM_BETAS = 10
_KEYS = ("vertices", "faces", "weight_joints", "weight_values", "joints", "joint_dirs", "shape_dirs", "licence")


def default_body_path() -> Path:
    """The shipped mannequin: <checkpoints>/body_models/default_body.npz ($GENMO_CHECKPOINTS honoured)."""
    return checkpoints_dir() / "body_models" / "default_body.npz"


class DefaultBody(BodyModel):
    """Mannequin mesh with linear shape: rest joints and vertices are affine in the 10 betas.

    Betas move the joints exactly as the first ten SMPL-X shape coefficients move SMPL-X's
    skeleton; vertices follow by stretching each bone segment (no body-fat or soft-tissue change).
    """

    name = "default"

    def __init__(self, path: str | Path | None = None) -> None:
        path = Path(path) if path is not None else default_body_path()
        if not path.is_file():
            raise missing_checkpoint_file("default body file", path)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in _KEYS if k not in data.files]
                if missing:
                    raise ValueError(f"{path}: default body file lacks {', '.join(missing)}")
                arrays = {k: data[k] for k in _KEYS}
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: cannot read the default body file ({exc})") from None
        self.faces = arrays["faces"].astype(np.int64)
        self.licence = str(arrays["licence"])
        self._template = torch.from_numpy(arrays["vertices"].astype(np.float32))
        self._joints = torch.from_numpy(arrays["joints"].astype(np.float32))
        self._joint_dirs = torch.from_numpy(arrays["joint_dirs"].astype(np.float32))
        self._shape_dirs = torch.from_numpy(arrays["shape_dirs"].astype(np.float32))
        num_verts = len(self._template)
        values = arrays["weight_values"].astype(np.float32)
        values /= values.sum(axis=1, keepdims=True)
        dense = np.zeros((num_verts, NUM_JOINTS), dtype=np.float32)
        np.add.at(dense, (np.arange(num_verts)[:, None], arrays["weight_joints"].astype(np.int64)), values)
        self.weights = torch.from_numpy(dense)
        if self.faces.max() >= num_verts or self._joints.shape != (NUM_JOINTS, 3):
            raise ValueError(f"{path}: default body arrays are inconsistent")

    @property
    def num_vertices(self) -> int:
        """Number of mesh vertices."""
        return len(self._template)

    def rest_joints(self, betas: Tensor | None = None) -> Tensor:
        """T-pose joints (..., 24, 3) for betas (..., 10); zero betas when None."""
        if betas is None:
            return self._joints.clone()
        betas = _check_betas(betas)
        return self._joints.to(betas.dtype) + torch.einsum("jak,...k->...ja", self._joint_dirs.to(betas.dtype), betas)

    def rest_vertices(self, betas: Tensor | None = None) -> Tensor:
        """T-pose vertices (V, 3) for betas (10,); zero betas when None."""
        if betas is None:
            return self._template.clone()
        betas = _check_betas(betas)
        if betas.dim() != 1:
            raise ValueError(f"betas: rest_vertices takes one shape (10,), got {tuple(betas.shape)}")
        return self._template.to(betas.dtype) + self._shape_dirs.to(betas.dtype) @ betas


def _check_betas(betas: Tensor) -> Tensor:
    betas = torch.as_tensor(betas)
    if not torch.is_floating_point(betas):
        betas = betas.float()
    if betas.shape[-1:] != (NUM_BETAS,) or not torch.isfinite(betas).all():
        raise ValueError(f"betas: expected finite values of shape (..., {NUM_BETAS}), got {tuple(betas.shape)}")
    return betas
