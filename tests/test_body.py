"""Default body skinning, FK, shape; SMPL loading, fallback and the pickle converter."""

from __future__ import annotations

import importlib.util
import logging
import math
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from genmo.body import DefaultBody, SmplBody, load_body
from genmo.body.skeleton import joint_index

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def body() -> DefaultBody:
    return DefaultBody()


def _pose(**angles: tuple[float, float, float]) -> torch.Tensor:
    pose = torch.zeros(72)
    for name, aa in angles.items():
        j = joint_index(name)
        pose[3 * j : 3 * j + 3] = torch.tensor(aa)
    return pose


def test_default_body_layout(body: DefaultBody) -> None:
    assert body.num_joints == 24
    assert body.faces.shape[1] == 3 and body.faces.max() < body.num_vertices
    assert 8_000 <= len(body.faces) <= 14_000
    assert torch.allclose(body.weights.sum(1), torch.ones(body.num_vertices), atol=1e-5)
    assert "Apache-2.0" in body.licence and "mannequin-x" in body.licence
    assert (REPO / "checkpoints" / "body_models" / "default_body.npz").stat().st_size < 2_000_000


def test_rest_pose_axes(body: DefaultBody) -> None:
    j = body.rest_joints()
    v = body.rest_vertices()
    assert j[joint_index("head"), 1] > j[0, 1] > j[joint_index("left_ankle"), 1]  # Y up
    assert j[joint_index("left_shoulder"), 0] > 0.1 and j[joint_index("right_shoulder"), 0] < -0.1  # left at +X
    assert j[joint_index("left_foot"), 2] > j[joint_index("left_ankle"), 2] + 0.05  # toes point +Z
    # T-pose: wrists at shoulder height, far out to the sides
    assert abs(j[joint_index("left_wrist"), 1] - j[joint_index("left_shoulder"), 1]) < 0.1
    assert j[joint_index("left_wrist"), 0] > 0.55
    assert 1.6 < float(v[:, 1].max() - v[:, 1].min()) < 1.85


def test_rest_pose_reproduces_rest_mesh(body: DefaultBody) -> None:
    out = body(torch.zeros(72))
    assert torch.allclose(out.vertices, body.rest_vertices(), atol=1e-6)
    assert torch.allclose(out.joints, body.rest_joints(), atol=1e-6)


def test_elbow_bend_moves_only_forearm_and_hand(body: DefaultBody) -> None:
    out = body(_pose(left_elbow=(0.0, -math.pi / 2, 0.0)))
    moved = (out.vertices - body.rest_vertices()).norm(dim=1)
    arm = [joint_index(n) for n in ("left_elbow", "left_wrist", "left_hand")]
    influence = body.weights[:, arm].sum(1)
    assert moved[influence == 0].max() < 1e-6
    far = (body.rest_vertices() - body.rest_joints()[joint_index("left_elbow")])[:, [0, 2]].norm(dim=1) > 0.1
    # a 90-degree turn about Y moves a point at distance d from the axis by d * sqrt(2)
    assert moved[(influence > 0.99) & far].min() > 0.14
    assert ((influence > 0.99) & far).sum() > 200
    # the hand ends up in front of the elbow (bent forward, towards +Z)
    wrist = out.joints[joint_index("left_wrist")]
    elbow = out.joints[joint_index("left_elbow")]
    assert wrist[2] - elbow[2] > 0.2 and abs(wrist[0] - elbow[0]) < 0.05


def test_fk_knee_bend_matches_hand_computation(body: DefaultBody) -> None:
    trans = torch.tensor([0.3, 1.0, -2.0])
    out = body(_pose(left_knee=(math.pi / 2, 0.0, 0.0)), trans=trans)
    rest = body.rest_joints()
    knee, ankle = joint_index("left_knee"), joint_index("left_ankle")
    dx, dy, dz = (rest[ankle] - rest[knee]).tolist()
    # rotation of 90 degrees about X: (x, y, z) -> (x, -z, y)
    expected = rest[knee] + trans + torch.tensor([dx, -dz, dy])
    assert torch.allclose(out.joints[ankle], expected, atol=1e-5)
    assert torch.allclose(out.joints[0], rest[0] + trans, atol=1e-6)
    assert torch.allclose(out.joints[knee], rest[knee] + trans, atol=1e-6)
    # the shin now points backwards (-Z), the foot is lifted
    assert out.joints[ankle, 2] < out.joints[knee, 2] - 0.3


def test_betas_change_height_monotonically(body: DefaultBody) -> None:
    heights = []
    for b0 in (-2.0, -1.0, 0.0, 1.0, 2.0):
        betas = torch.zeros(10)
        betas[0] = b0
        v = body.rest_vertices(betas)
        heights.append(float(v[:, 1].max() - v[:, 1].min()))
    assert all(b > a + 0.05 for a, b in zip(heights, heights[1:], strict=False))
    # joints follow the vertices: a taller body has a longer leg
    betas = torch.zeros(2, 10)
    betas[1, 0] = 2.0
    legs = body.rest_joints(betas)[:, joint_index("left_hip"), 1] - body.rest_joints(betas)[:, joint_index("left_ankle"), 1]
    assert legs[1] > legs[0] + 0.05


def test_batched_forward_and_bad_input(body: DefaultBody) -> None:
    poses = torch.zeros(5, 72)
    out = body(poses, betas=torch.zeros(10), trans=torch.zeros(5, 3))
    assert out.vertices.shape == (5, body.num_vertices, 3) and out.joints.shape == (5, 24, 3)
    with pytest.raises(ValueError, match="betas"):
        body.rest_joints(torch.zeros(7))
    with pytest.raises(ValueError, match="pose"):
        body(torch.zeros(5, 70))


def test_load_body_is_cached_and_default_without_smpl(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="genmo.body"):
        first = load_body(folder=tmp_path)
        second = load_body(folder=tmp_path)
    assert isinstance(first, DefaultBody) and first is second
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "SMPL_NEUTRAL.npz" in messages[0] and str(tmp_path) in messages[0]
    with pytest.raises(ValueError, match="body kind"):
        load_body("nope")


def test_load_body_corrupt_smpl_warns_and_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "SMPL_NEUTRAL.npz").write_bytes(b"this is not an npz file")
    with caplog.at_level(logging.WARNING, logger="genmo.body"):
        loaded = load_body("auto", folder=tmp_path)
    assert isinstance(loaded, DefaultBody)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "unusable" in message and str(tmp_path / "SMPL_NEUTRAL.npz") in message and "\n" not in message
    with pytest.raises(ValueError, match="SMPL_NEUTRAL.npz"):
        load_body("smpl", folder=tmp_path)


def _fake_smpl_arrays(body: DefaultBody) -> dict[str, np.ndarray]:
    """An SMPL-format model built from the default body (real SMPL files cannot be shipped)."""
    verts = body.rest_vertices().numpy()
    joints = body.rest_joints().numpy()
    regressor = np.zeros((24, len(verts)), dtype=np.float32)
    for j in range(24):
        near = np.argsort(np.linalg.norm(verts - joints[j], axis=1))[:8]
        regressor[j, near] = 1.0 / 8
    parents = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21])
    return {
        "v_template": verts,
        "shapedirs": body._shape_dirs.numpy(),
        "posedirs": np.zeros((len(verts), 3, 207), dtype=np.float32),
        "J_regressor": regressor,
        "weights": body.weights.numpy(),
        "kintree_table": np.stack([np.where(parents < 0, 4294967295, parents), np.arange(24)]).astype(np.int64),
        "f": body.faces.astype(np.uint32),
    }


def test_smpl_body_from_npz(tmp_path: Path, body: DefaultBody) -> None:
    arrays = _fake_smpl_arrays(body)
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **arrays)
    smpl = load_body("auto", folder=tmp_path)
    assert isinstance(smpl, SmplBody) and smpl.num_joints == 24
    rest = smpl.rest_joints()
    assert torch.allclose(rest, torch.from_numpy(arrays["J_regressor"] @ arrays["v_template"]), atol=1e-5)
    trans = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.5, 2.0]])
    pose = torch.stack([torch.zeros(72), _pose(left_knee=(math.pi / 2, 0.0, 0.0))])
    out = smpl(pose, trans=trans)
    assert out.vertices.shape == (2, body.num_vertices, 3)
    assert torch.allclose(out.joints[:, 0], rest[0] + trans, atol=1e-5)
    assert torch.allclose(out.vertices[0], smpl.rest_vertices() + trans[0], atol=1e-5)
    knee, ankle = joint_index("left_knee"), joint_index("left_ankle")
    dx, dy, dz = (rest[ankle] - rest[knee]).tolist()
    assert torch.allclose(out.joints[1, ankle], rest[knee] + trans[1] + torch.tensor([dx, -dz, dy]), atol=1e-5)


def _load_converter() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("convert_smpl_pkl", REPO / "scripts" / "convert_smpl_pkl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_convert_smpl_pkl_maps_chumpy_and_sparse(tmp_path: Path, body: DefaultBody, monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy import sparse

    chumpy = types.ModuleType("chumpy")
    chumpy_ch = types.ModuleType("chumpy.ch")

    class Ch:  # pickles like chumpy.ch.Ch: the value lives in the instance dict under "x"
        def __init__(self, x: np.ndarray) -> None:
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    chumpy_ch.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", chumpy_ch)
    arrays = _fake_smpl_arrays(body)
    raw = dict(arrays)
    raw["v_template"] = Ch(arrays["v_template"].astype(np.float64))
    raw["shapedirs"] = Ch(arrays["shapedirs"].astype(np.float64))
    raw["J_regressor"] = sparse.csc_matrix(arrays["J_regressor"])
    raw["bs_style"] = "lbs"
    pkl = tmp_path / "basicModel_neutral.pkl"
    pkl.write_bytes(pickle.dumps(raw, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    monkeypatch.delitem(sys.modules, "chumpy")

    converter = _load_converter()
    out = tmp_path / "smpl" / "SMPL_NEUTRAL.npz"
    converter.convert(pkl, out)
    with np.load(out, allow_pickle=False) as data:
        assert np.allclose(data["v_template"], arrays["v_template"])
        assert np.allclose(data["J_regressor"], arrays["J_regressor"])
        assert "bs_style" not in data.files
    assert isinstance(load_body("smpl", folder=out.parent), SmplBody)

    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"v_template": Evil()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        converter.convert(bad, tmp_path / "evil.npz")
