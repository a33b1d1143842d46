import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from genmo.body import load_body
from genmo.body.rotations import matrix_to_axis_angle
from genmo.body.skeleton import JOINT_NAMES, PARENTS
from genmo.export.glb import accessor_array, motion_to_glb, read_glb, top_influences, validate_glb
from genmo.motion.motion import Motion
from genmo.motion.synthetic import walking_motion


@pytest.fixture(scope="module")
def body():
    return load_body("default")


def _motion(frames=30, fps=30.0):
    walk = walking_motion(frames, fps)
    poses = matrix_to_axis_angle(walk["local_rots"]).reshape(frames, 72).numpy()
    return Motion(poses=poses, trans=walk["root_pos"].numpy(), betas=np.linspace(-1, 1, 10), fps=fps)


def _skinned_vertices(doc, blob, frame):
    """Pose the GLB's mesh with its animation at keyframe ``frame`` (glTF skinning equations)."""
    nodes = doc["nodes"]
    local = {i: np.eye(4) for i in range(len(nodes))}
    for i, node in enumerate(nodes):
        local[i][:3, 3] = node.get("translation", [0, 0, 0])
        local[i][:3, :3] = Rotation.from_quat(node.get("rotation", [0, 0, 0, 1])).as_matrix()
    anim = doc["animations"][0]
    for ch in anim["channels"]:
        value = accessor_array(doc, blob, anim["samplers"][ch["sampler"]]["output"])[frame]
        target = ch["target"]
        if target["path"] == "rotation":
            local[target["node"]][:3, :3] = Rotation.from_quat(value).as_matrix()
        else:
            local[target["node"]][:3, 3] = value
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    glob = {}
    for i in range(len(nodes)):  # parents precede children in this file
        glob[i] = glob[parent[i]] @ local[i] if i in parent else local[i]
    skin = doc["skins"][0]
    ibm = accessor_array(doc, blob, skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    mats = np.stack([glob[j] @ ibm[k] for k, j in enumerate(skin["joints"])])
    prim = doc["meshes"][0]["primitives"][0]["attributes"]
    pos = accessor_array(doc, blob, prim["POSITION"]).astype(np.float64)
    idx = accessor_array(doc, blob, prim["JOINTS_0"]).astype(int)
    w = accessor_array(doc, blob, prim["WEIGHTS_0"]).astype(np.float64)
    blend = np.einsum("vk,vkab->vab", w, mats[idx])
    return np.einsum("vab,vb->va", blend[:, :3, :3], pos) + blend[:, :3, 3]


def test_glb_is_consistent_and_small(tmp_path, body):
    motion = _motion(frames=300)  # 10 s
    path = motion_to_glb(motion, tmp_path / "walk.glb", body)
    summary = validate_glb(path)
    assert summary["joints"] == 24 and summary["frames"] == 300 and summary["channels"] == 25
    assert summary["vertices"] == body.weights.shape[0] and summary["triangles"] == len(body.faces)
    assert summary["duration"] == pytest.approx(299 / 30.0, abs=1e-5)
    assert path.stat().st_size < 3_000_000
    doc, _ = read_glb(path)
    joint_nodes = doc["skins"][0]["joints"]
    assert [doc["nodes"][j]["name"] for j in joint_nodes] == list(JOINT_NAMES)
    for k, j in enumerate(joint_nodes):  # the node tree is the SMPL tree
        kids = [joint_nodes.index(c) for c in doc["nodes"][j].get("children", [])]
        assert kids == [c for c in range(24) if PARENTS[c] == k]
    sampler = doc["animations"][0]["samplers"][0]
    assert sampler["interpolation"] == "LINEAR"
    assert doc["accessors"][sampler["input"]]["max"][0] == pytest.approx(299 / 30.0, abs=1e-5)


@pytest.mark.parametrize("frame", [0, 17])
def test_glb_skinning_reproduces_body_vertices(tmp_path, body, frame):
    motion = _motion()
    doc, blob = read_glb(motion_to_glb(motion, tmp_path / "walk.glb", body))
    got = _skinned_vertices(doc, blob, frame)
    with torch.no_grad():
        want = body(torch.from_numpy(motion.poses[frame]), torch.from_numpy(motion.betas),
                    torch.from_numpy(motion.trans[frame])).vertices.numpy()
    assert np.abs(got - want).max() < 2e-3


def test_glb_reads_with_pygltflib(tmp_path, body):
    pygltflib = pytest.importorskip("pygltflib")
    path = motion_to_glb(_motion(frames=5), tmp_path / "a.glb", body)
    gltf = pygltflib.GLTF2().load(str(path))
    assert len(gltf.skins[0].joints) == 24 and len(gltf.animations[0].channels) == 25
    assert gltf.meshes[0].primitives[0].attributes.JOINTS_0 is not None


def test_quaternions_are_continuous_and_unit(tmp_path, body):
    motion = _motion(frames=60)
    motion.poses[:, 3:6] = np.linspace(0, 2 * np.pi - 0.1, 60)[:, None] * np.array([0, 1.0, 0])  # crosses pi
    doc, blob = read_glb(motion_to_glb(motion, tmp_path / "spin.glb", body))
    q = accessor_array(doc, blob, doc["animations"][0]["samplers"][1]["output"])
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert ((q[1:] * q[:-1]).sum(1) > 0).all()


def test_top_influences_renormalise():
    w = np.array([[0.5, 0.2, 0.1, 0.1, 0.1] + [0.0] * 19, [1.0] + [0.0] * 23])
    idx, val = top_influences(w)
    assert idx[0].tolist()[:2] == [0, 1] and np.allclose(val.sum(1), 1.0)
    assert val[0, 0] == pytest.approx(0.5 / 0.9) and val[1].tolist() == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="no positive weight"):
        top_influences(np.zeros((2, 24)))


def test_validate_glb_names_a_broken_file(tmp_path):
    path = tmp_path / "bad.glb"
    path.write_bytes(b"not a glb file at all")
    with pytest.raises(ValueError, match="not a binary glTF"):
        validate_glb(path)
