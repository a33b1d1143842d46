"""Real SMPL (through ``smplx``) from model files the user places under checkpoints/body_models/smpl/.

The files must be plain numpy npz (convert the official .pkl once with scripts/convert_smpl_pkl.py);
they are read with ``allow_pickle=False`` and handed to ``smplx.SMPL`` as its data struct.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genmo.body.kinematics import local_to_global
from genmo.body.model import BodyModel, BodyOutput, _as_rotmats
from genmo.body.skeleton import NUM_JOINTS, PARENTS
from genmo.errors import UserInputError

SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
NUM_BETAS = 10


def smpl_file_name(gender: str = "neutral") -> str:
    """File name expected for a gender: SMPL_NEUTRAL.npz, SMPL_MALE.npz or SMPL_FEMALE.npz."""
    if gender not in ("neutral", "male", "female"):
        raise UserInputError(f"gender must be neutral, male or female, got {gender!r}")
    return f"SMPL_{gender.upper()}.npz"


def read_smpl_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Load and check an SMPL npz; ValueError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"SMPL model file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = data.files
            arrays = {k: np.asarray(data[k]) for k in SMPL_KEYS if k in files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UserInputError(f"{path}: not a readable plain-numpy SMPL npz ({exc})") from None
    missing = [k for k in SMPL_KEYS if k not in arrays]
    if missing:
        raise UserInputError(f"{path}: SMPL file lacks {', '.join(missing)}")
    num_verts = arrays["v_template"].shape[0]
    expected = {
        "v_template": (num_verts, 3),
        "J_regressor": (NUM_JOINTS, num_verts),
        "weights": (num_verts, NUM_JOINTS),
        "kintree_table": (2, NUM_JOINTS),
    }
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise UserInputError(f"{path}: SMPL key {key!r} has shape {arrays[key].shape}, expected {shape}")
    if arrays["shapedirs"].shape[:2] != (num_verts, 3) or arrays["shapedirs"].shape[2] < NUM_BETAS:
        raise UserInputError(f"{path}: SMPL key 'shapedirs' has shape {arrays['shapedirs'].shape}")
    if arrays["posedirs"].shape != (num_verts, 3, (NUM_JOINTS - 1) * 9):
        raise UserInputError(f"{path}: SMPL key 'posedirs' has shape {arrays['posedirs'].shape}")
    faces = arrays["f"]
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= num_verts:
        raise UserInputError(f"{path}: SMPL key 'f' is not a valid (F, 3) face array")
    parents = arrays["kintree_table"][0].astype(np.int64)
    parents[0] = -1
    if tuple(parents.tolist()) != PARENTS:
        raise UserInputError(f"{path}: SMPL kinematic tree differs from SMPL-24")
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        if not np.isfinite(arrays[key]).all():
            raise UserInputError(f"{path}: SMPL key {key!r} contains NaN or inf")
    return arrays


class SmplBody(BodyModel):
    """SMPL with pose-corrective blend shapes, evaluated by ``smplx.lbs``."""

    name = "smpl"

    def __init__(self, path: str | Path, gender: str = "neutral") -> None:
        import smplx
        from smplx.utils import Struct

        arrays = read_smpl_arrays(path)
        self.path = Path(path)
        self.gender = gender
        self._smpl = smplx.SMPL(
            model_path=str(path), data_struct=Struct(**arrays), gender=gender, num_betas=NUM_BETAS,
            create_betas=False, create_global_orient=False, create_body_pose=False, create_transl=False,
        )
        self.faces = arrays["f"].astype(np.int64)
        self.weights = self._smpl.lbs_weights.detach().clone()
        self.licence = "SMPL model files supplied by the user (SMPL licence, https://smpl.is.tue.mpg.de)."

    @property
    def num_vertices(self) -> int:
        """Number of mesh vertices."""
        return int(self._smpl.v_template.shape[0])

    def rest_vertices(self, betas: Tensor | None = None) -> Tensor:
        """T-pose vertices (V, 3) for betas (10,); zero betas when None."""
        betas = _betas(betas)
        if betas.dim() != 1:
            raise UserInputError(f"betas: rest_vertices takes one shape (10,), got {tuple(betas.shape)}")
        return self._smpl.v_template + torch.einsum("vak,k->va", self._smpl.shapedirs, betas)

    def rest_joints(self, betas: Tensor | None = None) -> Tensor:
        """T-pose joints (..., 24, 3) regressed from the shaped template."""
        betas = _betas(betas)
        shaped = self._smpl.v_template + torch.einsum("vak,...k->...va", self._smpl.shapedirs, betas)
        return torch.einsum("jv,...va->...ja", self._smpl.J_regressor, shaped)

    def forward(
        self,
        pose: Tensor,
        betas: Tensor | None = None,
        trans: Tensor | None = None,
        with_vertices: bool = True,
    ) -> BodyOutput:
        """Pose SMPL: pose (..., 72) axis-angle or (..., 24, 3, 3); betas (10,) or (..., 10); trans (..., 3)."""
        from smplx.lbs import lbs

        local = _as_rotmats(pose).float()
        batch = local.shape[:-3]
        flat = local.reshape(-1, NUM_JOINTS, 3, 3)
        count = flat.shape[0]
        betas = _betas(betas)
        flat_betas = betas.expand(*batch, NUM_BETAS).reshape(count, NUM_BETAS) if betas.dim() == 1 else betas.reshape(count, NUM_BETAS)
        trans = torch.zeros(*batch, 3) if trans is None else torch.as_tensor(trans, dtype=torch.float32)
        if trans.shape != (*batch, 3) or not torch.isfinite(trans).all():
            raise UserInputError(f"trans: expected finite values of shape {(*batch, 3)}, got {tuple(trans.shape)}")
        s = self._smpl
        verts, joints = lbs(flat_betas, flat, s.v_template, s.shapedirs, s.posedirs, s.J_regressor, s.parents,
                            s.lbs_weights, pose2rot=False)
        offset = trans.reshape(count, 1, 3)
        joints = (joints + offset).reshape(*batch, NUM_JOINTS, 3)
        vertices = (verts + offset).reshape(*batch, -1, 3) if with_vertices else None
        return BodyOutput(joints=joints, global_rots=local_to_global(local), vertices=vertices)

    __call__ = forward


def _betas(betas: Tensor | None) -> Tensor:
    if betas is None:
        return torch.zeros(NUM_BETAS)
    betas = torch.as_tensor(betas, dtype=torch.float32)
    if betas.shape[-1:] != (NUM_BETAS,) or not torch.isfinite(betas).all():
        raise UserInputError(f"betas: expected finite values of shape (..., {NUM_BETAS}), got {tuple(betas.shape)}")
    return betas
