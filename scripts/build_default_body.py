"""Build checkpoints/body_models/default_body.npz from the Apache-2.0 ``mannequin-x`` wheel.

Only needed to rebuild the committed asset (``pip install mannequin-x fast-simplification``);
the runtime (genmo.body.default_body) reads the npz and never imports mannequin.

Steps: pose the wooden mannequin in its T-pose at zero shape (SMPL-X frame: Y up, facing +Z,
left at +X), collapse its 54-joint rig onto SMPL-24 (fingers -> left_hand/right_hand, the
zero-length palm joints -> wrists), decimate each mesh part, transfer the skin weights, and bake
linear shape directions: joints from mannequin's SMPL-X calibration, vertices by scaling every
bone segment towards its shaped child offsets (see ``bone_shape_matrices``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
from importlib.resources import files
from pathlib import Path

import sys

import numpy as np
from scipy.spatial import cKDTree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genmo.body.skeleton import NUM_JOINTS, PARENTS  # noqa: E402

OUT = REPO / "checkpoints" / "body_models" / "default_body.npz"
INFLUENCES = 4
# SMPL-24 joints 0..21 are mannequin joints 0..21; the SMPL hand joints sit at the middle-finger knuckle.
HAND_KNUCKLE = {22: "L_Middle1", 23: "R_Middle1"}


def mannequin_joint_to_smpl(names: list[str]) -> np.ndarray:
    """For every mannequin joint, the SMPL-24 joint that takes over its skin weight."""
    mapping = np.empty(len(names), dtype=np.int64)
    for i, name in enumerate(names):
        if i < 22:
            mapping[i] = i
        elif name in ("L_Hand", "R_Hand"):  # zero-length palm joints, rigid with the wrist
            mapping[i] = 20 if name[0] == "L" else 21
        else:  # finger joints
            mapping[i] = 22 if name[0] == "L" else 23
    return mapping


def dense_weights(src: np.lib.npyio.NpzFile, mapping: np.ndarray) -> np.ndarray:
    """Mannequin's runtime skin (strongest 4 influences, rigid parts pinned) collapsed to (V, 24)."""
    idx = src["skin_joint_indices"].astype(np.int64)
    w = src["skin_weights"].astype(np.float64)
    top = np.argsort(w, axis=1)[:, -INFLUENCES:]
    idx = np.take_along_axis(idx, top, axis=1)
    w = np.take_along_axis(w, top, axis=1)
    w /= w.sum(axis=1, keepdims=True)
    rigid = src["skin_rigid_joint_indices"].astype(np.int64)
    pinned = rigid >= 0
    idx[pinned] = rigid[pinned, None]
    w[pinned] = 0.0
    w[pinned, 0] = 1.0
    dense = np.zeros((len(w), NUM_JOINTS))
    np.add.at(dense, (np.arange(len(w))[:, None], mapping[idx]), w)
    return dense


def decimate_parts(verts: np.ndarray, faces: np.ndarray, src, reduction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decimate every mesh part separately; return new vertices, faces and each new vertex's source vertex."""
    import fast_simplification

    out_v, out_f, source = [], [], []
    offset = 0
    for vs, vc, fs, fc in zip(
        src["skin_part_vertex_starts"], src["skin_part_vertex_counts"],
        src["skin_part_face_starts"], src["skin_part_face_counts"], strict=True,
    ):
        pv = verts[vs : vs + vc]
        pf = faces[fs : fs + fc] - vs
        if pf.min() < 0 or pf.max() >= vc:
            raise ValueError("mesh part faces reference vertices outside the part")
        nv, nf = fast_simplification.simplify(pv, pf, target_reduction=reduction)
        _, nearest = cKDTree(pv).query(nv)
        out_v.append(nv)
        out_f.append(nf + offset)
        source.append(nearest + vs)
        offset += len(nv)
    return np.concatenate(out_v), np.concatenate(out_f), np.concatenate(source)


def _children(joint: int) -> list[int]:
    return [j for j, p in enumerate(PARENTS) if p == joint]


def bone_shape_matrices(joints: np.ndarray, joint_dirs: np.ndarray, head_extent: np.ndarray,
                        head_extent_dirs: np.ndarray) -> np.ndarray:
    """Per-joint linear bone deformation D (24, 3, 3, 10): a shaped segment maps x -> (I + D @ beta) x.

    One child: stretch along the neutral bone so it lands on the shaped child offset.
    Several children (pelvis, spine3): ridge least squares over the child offsets.
    Head: scale its bounding box as mannequin's calibration does. Feet, hands: follow their parent.
    """
    dmat = np.zeros((NUM_JOINTS, 3, 3, 10))
    for j in range(NUM_JOINTS):
        kids = _children(j)
        if not kids:
            continue
        neutral = np.stack([joints[c] - joints[j] for c in kids], axis=1)  # (3, C)
        delta = np.stack([joint_dirs[c] - joint_dirs[j] for c in kids], axis=1)  # (3, C, 10)
        ridge = 1e-4 if len(kids) > 1 else 0.0
        inv = neutral.T @ np.linalg.inv(neutral @ neutral.T + ridge * np.eye(3)) if len(kids) > 1 else neutral.T / (neutral**2).sum()
        dmat[j] = np.einsum("ack,cb->abk", delta, inv)
    head = 15
    dmat[head] = np.einsum("ab,ak->abk", np.eye(3), head_extent_dirs / head_extent[:, None])
    for leaf in (10, 11, 22, 23):
        dmat[leaf] = dmat[PARENTS[leaf]]
    return dmat


def build(reduction: float, out: Path) -> None:
    from mannequin import Mannequin

    assets = files("mannequin") / "assets"
    with (assets / "wooden.npz").open("rb") as fh:
        src = dict(np.load(fh, allow_pickle=False))
    with (assets / "smplx_calibration.npz").open("rb") as fh:
        cal = dict(np.load(fh, allow_pickle=False))
    names = src["joint_names"].tolist()

    model = Mannequin("wooden")  # relaxed SMPL-X mean hand; SMPL-24 cannot move fingers anyway
    rest_verts = np.asarray(model.vertices(model.rest_pose()), dtype=np.float64)
    weights_full = dense_weights(src, mannequin_joint_to_smpl(names))

    joints = cal["joint_rest"][:NUM_JOINTS].astype(np.float64)
    jdirs = cal["joint_dirs"][:NUM_JOINTS].astype(np.float64)
    for j, knuckle in HAND_KNUCKLE.items():
        joints[j] = cal["joint_rest"][names.index(knuckle)]
        jdirs[j] = cal["joint_dirs"][names.index(knuckle)]

    verts, faces, source = decimate_parts(rest_verts, src["faces"].astype(np.int64), src, reduction)
    weights = weights_full[source]

    head_extent = cal["head_max_rest"] - cal["head_min_rest"]
    head_dirs = cal["head_max_dirs"] - cal["head_min_dirs"]
    dmat = bone_shape_matrices(joints, jdirs, head_extent, head_dirs)
    rel = verts[:, None, :] - joints[None]  # (V, 24, 3)
    per_joint = np.einsum("jabk,vjb->vjak", dmat, rel) + jdirs[None]  # (V, 24, 3, 10)
    shapedirs = np.einsum("vj,vjak->vak", weights, per_joint)

    top = np.argsort(weights, axis=1)[:, -INFLUENCES:][:, ::-1]
    top_w = np.take_along_axis(weights, top, axis=1)
    top_w /= top_w.sum(axis=1, keepdims=True)

    meta = importlib.metadata.metadata("mannequin-x")
    licence = (
        f"Mesh, skin weights and SMPL-X shape calibration derived from mannequin-x "
        f"{meta['Version']} ('wooden' mannequin) by {meta['Author']}, licensed {meta['License-Expression']}. "
        "Collapsed to the SMPL-24 rig, decimated and re-baked by scripts/build_default_body.py."
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        vertices=verts.astype(np.float32),
        faces=faces.astype(np.uint16 if len(verts) < 65536 else np.int32),
        weight_joints=top.astype(np.uint8),
        weight_values=top_w.astype(np.float16),
        joints=joints.astype(np.float32),
        joint_dirs=jdirs.astype(np.float32),
        shape_dirs=shapedirs.astype(np.float16),
        licence=np.array(licence),
    )
    print(f"{out}: {len(verts)} vertices, {len(faces)} faces, {out.stat().st_size / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reduction", type=float, default=0.78, help="fraction of faces to remove")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    build(args.reduction, args.out)


if __name__ == "__main__":
    main()
