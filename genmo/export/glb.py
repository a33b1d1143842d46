"""Animated GLB export (binary glTF 2.0): the skinned body mesh, a 24-joint skin and one animation.

trimesh cannot write skins, so the file is assembled here: a JSON chunk describing nodes, mesh,
skin and animation, and one binary chunk with every array (float32, 4-byte aligned).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch

from genmo.body.model import BodyModel
from genmo.body.rotations import axis_angle_to_matrix, matrix_to_quaternion
from genmo.body.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from genmo.motion.motion import Motion

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
FLOAT, UBYTE, USHORT, UINT = 5126, 5121, 5123, 5125
_DTYPES = {FLOAT: np.float32, UBYTE: np.uint8, USHORT: np.uint16, UINT: np.uint32, 5120: np.int8, 5122: np.int16}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
INFLUENCES = 4
BODY_COLOR = (0.80, 0.64, 0.46, 1.0)


class _Builder:
    """Collects arrays into one binary buffer and describes them as glTF bufferViews and accessors."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        array = np.ascontiguousarray(array)
        component = {np.dtype(v): k for k, v in _DTYPES.items()}[array.dtype]
        view = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": array.nbytes}
        if target is not None:
            view["target"] = target
        self.blob += array.tobytes()
        self.blob += b"\0" * (-len(self.blob) % 4)
        self.views.append(view)
        accessor = {"bufferView": len(self.views) - 1, "componentType": component,
                    "count": int(len(array)), "type": kind}
        if bounds:
            flat = array.reshape(len(array), -1)
            accessor["min"] = flat.min(axis=0).tolist()
            accessor["max"] = flat.max(axis=0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3); isolated vertices get +Y."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.where(length > 1e-12, normals / np.maximum(length, 1e-12), np.array([0.0, 1.0, 0.0]))


def top_influences(weights: np.ndarray, count: int = INFLUENCES) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` largest skinning weights per vertex, renormalised: joints (V, count) uint8, weights float32."""
    order = np.argsort(-weights, axis=1, kind="stable")[:, :count]
    values = np.take_along_axis(weights, order, axis=1).clip(min=0.0)
    total = values.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError(f"skinning weights: {int((total <= 0).sum())} vertices have no positive weight")
    values = values / total
    order = np.where(values > 0, order, 0)  # unused slots point at joint 0 with weight 0
    return order.astype(np.uint8), values.astype(np.float32)


def continuous_quaternions(quats: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so consecutive quaternions (T, ..., 4) lie in the same hemisphere."""
    quats = quats.copy()
    for t in range(1, len(quats)):
        flip = (quats[t] * quats[t - 1]).sum(-1) < 0
        quats[t][flip] *= -1
    return quats


def motion_to_glb(motion: Motion, path: str | Path, body: BodyModel | None = None) -> Path:
    """Write ``motion`` as an animated, skinned binary glTF 2.0 file; return the path.

    The mesh is the body in its T-pose for ``motion.betas``; joints are nodes in the SMPL tree
    with rest translations (metres, Y up, facing +Z); the animation has one rotation channel
    (quaternion xyzw) per joint and a translation channel on the pelvis, sampled at motion.fps
    with LINEAR interpolation.
    """
    if body is None:
        from genmo.body import load_body

        body = load_body()
    betas = torch.from_numpy(motion.betas)
    with torch.no_grad():
        rest = body.rest_joints(betas).double().numpy()
        verts = body.rest_vertices(betas).double().numpy()
        weights = body.weights.double().numpy()
    faces = np.asarray(body.faces, dtype=np.int64)
    joints_idx, joint_w = top_influences(weights)
    index_type = np.uint16 if len(verts) < 65535 else np.uint32

    local = axis_angle_to_matrix(torch.from_numpy(motion.poses).double().reshape(-1, NUM_JOINTS, 3))
    wxyz = matrix_to_quaternion(local).numpy()
    quats = continuous_quaternions(wxyz[..., [1, 2, 3, 0]])
    root = motion.trans.astype(np.float64) + rest[0]
    times = np.arange(motion.num_frames, dtype=np.float64) / motion.fps

    b = _Builder()
    attrs = {
        "POSITION": b.add(verts.astype(np.float32), "VEC3", ARRAY_BUFFER, bounds=True),
        "NORMAL": b.add(vertex_normals(verts, faces).astype(np.float32), "VEC3", ARRAY_BUFFER),
        "JOINTS_0": b.add(joints_idx, "VEC4", ARRAY_BUFFER),
        "WEIGHTS_0": b.add(joint_w, "VEC4", ARRAY_BUFFER),
    }
    indices = b.add(faces.reshape(-1).astype(index_type), "SCALAR", ELEMENT_ARRAY_BUFFER)
    inverse_bind = np.tile(np.eye(4), (NUM_JOINTS, 1, 1))
    inverse_bind[:, :3, 3] = -rest
    # glTF matrices are column-major: store the transpose of each row-major matrix.
    ibm = b.add(inverse_bind.transpose(0, 2, 1).reshape(NUM_JOINTS, 16).astype(np.float32), "MAT4")
    t_acc = b.add(times.astype(np.float32), "SCALAR", bounds=True)
    samplers, channels = [], []
    for j in range(NUM_JOINTS):
        out = b.add(quats[:, j].astype(np.float32), "VEC4")
        samplers.append({"input": t_acc, "output": out, "interpolation": "LINEAR"})
        channels.append({"sampler": j, "target": {"node": 1 + j, "path": "rotation"}})
    samplers.append({"input": t_acc, "output": b.add(root.astype(np.float32), "VEC3"), "interpolation": "LINEAR"})
    channels.append({"sampler": NUM_JOINTS, "target": {"node": 1, "path": "translation"}})

    nodes: list[dict] = [{"name": "body", "mesh": 0, "skin": 0}]
    for j in range(NUM_JOINTS):
        parent = PARENTS[j]
        offset = rest[j] - (rest[parent] if parent >= 0 else 0.0)
        node: dict = {"name": JOINT_NAMES[j], "translation": [float(v) for v in offset]}
        kids = [1 + k for k in range(NUM_JOINTS) if PARENTS[k] == j]
        if kids:
            node["children"] = kids
        nodes.append(node)
    doc = {
        "asset": {"version": "2.0", "generator": "genmo-studio"},
        "scene": 0,
        "scenes": [{"name": "motion", "nodes": [0, 1]}],
        "nodes": nodes,
        "meshes": [{"name": "body", "primitives": [{"attributes": attrs, "indices": indices, "material": 0, "mode": 4}]}],
        "materials": [{"name": "body", "pbrMetallicRoughness": {"baseColorFactor": list(BODY_COLOR),
                                                               "metallicFactor": 0.0, "roughnessFactor": 0.7}}],
        "skins": [{"name": "smpl24", "joints": list(range(1, NUM_JOINTS + 1)), "inverseBindMatrices": ibm,
                   "skeleton": 1}],
        "animations": [{"name": "motion", "samplers": samplers, "channels": channels}],
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": len(b.blob)}],
        "extras": {"fps": motion.fps, "frames": motion.num_frames},
    }
    return _write_glb(path, doc, bytes(b.blob))


def _write_glb(path: str | Path, doc: dict, blob: bytes) -> Path:
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(blob)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(GLB_MAGIC + struct.pack("<II", 2, total))
        f.write(struct.pack("<II", len(text), CHUNK_JSON) + text)
        f.write(struct.pack("<II", len(blob), CHUNK_BIN) + blob)
    return path


# -- reading back ---------------------------------------------------------------------------------


def read_glb(path: str | Path) -> tuple[dict, bytes]:
    """Parse a binary glTF 2.0 file into its JSON document and binary chunk."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise ValueError(f"{path}: not a binary glTF file")
    version, total = struct.unpack_from("<II", data, 4)
    if version != 2 or total != len(data):
        raise ValueError(f"{path}: glTF version {version} or length {total} (file has {len(data)} bytes) unsupported")
    doc, blob, pos = None, b"", 12
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from("<II", data, pos)
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == CHUNK_JSON:
            doc = json.loads(chunk)
        elif kind == CHUNK_BIN:
            blob = chunk
        pos += 8 + length
    if doc is None:
        raise ValueError(f"{path}: no JSON chunk")
    return doc, blob


def accessor_array(doc: dict, blob: bytes, index: int) -> np.ndarray:
    """The data of accessor ``index`` as an array (count, width) (or (count,) for scalars)."""
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_DTYPES[acc["componentType"]])
    width = _WIDTH[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    stride = view.get("byteStride", width * dtype.itemsize)
    rows = np.ndarray((acc["count"], width), dtype, buffer=blob, offset=start, strides=(stride, dtype.itemsize))
    rows = rows.copy()
    return rows[:, 0] if width == 1 else rows


def validate_glb(path: str | Path) -> dict:
    """Check that a skinned, animated GLB is consistent; return a summary.

    Checks: attribute counts agree, POSITION min/max match the data, indices are triangles within
    range, normals are unit, joint indices and weights are valid, the skin has one inverse bind
    matrix per joint, animation times strictly increase and every sampler output has one value per
    time. Raises ValueError naming the first problem.
    """
    doc, blob = read_glb(path)

    def fail(msg: str) -> ValueError:
        return ValueError(f"{path}: {msg}")

    prim = doc["meshes"][0]["primitives"][0]
    attrs = {k: accessor_array(doc, blob, i) for k, i in prim["attributes"].items()}
    for key in ("POSITION", "NORMAL", "JOINTS_0", "WEIGHTS_0"):
        if key not in attrs:
            raise fail(f"mesh lacks {key}")
    num_verts = len(attrs["POSITION"])
    if any(len(a) != num_verts for a in attrs.values()):
        raise fail("mesh attributes have different counts")
    pos_acc = doc["accessors"][prim["attributes"]["POSITION"]]
    if not (np.allclose(pos_acc["min"], attrs["POSITION"].min(0)) and np.allclose(pos_acc["max"], attrs["POSITION"].max(0))):
        raise fail("POSITION min/max do not match the data")
    if not np.allclose(np.linalg.norm(attrs["NORMAL"], axis=1), 1.0, atol=1e-3):
        raise fail("NORMAL vectors are not unit length")
    indices = accessor_array(doc, blob, prim["indices"])
    if len(indices) % 3 or indices.max() >= num_verts:
        raise fail("indices are not triangles within the vertex range")
    skin = doc["skins"][0]
    num_joints = len(skin["joints"])
    ibm = accessor_array(doc, blob, skin["inverseBindMatrices"])
    if len(ibm) != num_joints:
        raise fail(f"{len(ibm)} inverse bind matrices for {num_joints} joints")
    if attrs["JOINTS_0"].max() >= num_joints:
        raise fail("JOINTS_0 refers to a joint outside the skin")
    if not np.allclose(attrs["WEIGHTS_0"].sum(1), 1.0, atol=1e-3):
        raise fail("WEIGHTS_0 do not sum to one")
    anim = doc["animations"][0]
    times = None
    for k, sampler in enumerate(anim["samplers"]):
        t = accessor_array(doc, blob, sampler["input"])
        if len(t) > 1 and not (np.diff(t) > 0).all():
            raise fail(f"animation sampler {k}: times do not increase")
        if len(accessor_array(doc, blob, sampler["output"])) != len(t):
            raise fail(f"animation sampler {k}: output count differs from its {len(t)} times")
        times = t if times is None or len(t) > len(times) else times
    targets = {c["target"]["node"] for c in anim["channels"]}
    if not targets <= set(skin["joints"]):
        raise fail("animation targets a node that is not a skin joint")
    return {"vertices": num_verts, "triangles": len(indices) // 3, "joints": num_joints,
            "frames": len(times), "duration": float(times[-1]) if len(times) else 0.0,
            "channels": len(anim["channels"])}
