"""Readers on small synthetic files written in the test: BVH, DeepMimic, Dance with Melody, AMASS npz, AIST++ pkl."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from genmo.body.skeleton import JOINT_NAMES, PARENTS
from genmo.data.clip import default_rest_joints, joints_of
from genmo.data.convert import bvh_to_clip
from genmo.data.jointmap import auto_joint_map, load_joint_map
from genmo.data.readers import (
    _DM_WIDTH,
    deepmimic_to_clip,
    dwm_to_clip,
    load_pkl_arrays,
    read_aistpp,
    read_amass_npz,
    read_dance_with_melody,
)
from genmo.motion.bvh import BvhError, parse_bvh, read_bvh, write_bvh

SIMPLE = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Chest
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
  JOINT Arm
  {
    OFFSET 5 0 0
    CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 10 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
1 2 3 0 0 0 90 0 0 5 0 0 0 0 0
0 0 0 90 0 0 0 0 0 0 0 0 0 0 90
"""


def test_bvh_parse_and_fk() -> None:
    bvh = parse_bvh(SIMPLE, "simple.bvh")
    assert bvh.names == ["Hips", "Chest", "Arm"] and bvh.parents == [-1, 0, 0]
    assert bvh.fps == pytest.approx(2.0)
    rots, pos = bvh.forward_kinematics()
    np.testing.assert_allclose(pos[0, 0], [1, 2, 3])
    # Chest rotated 90 deg about Z: its End Site (0, 10, 0) goes to (-10, 0, 0).
    sites = bvh.end_site_positions(rots, pos)
    np.testing.assert_allclose(sites[1][0], [1 - 10, 12, 3], atol=1e-9)
    # Arm position channels replace its offset; frame 1: Arm Zrotation 90 -> site (10,0,0) -> (0,10,0).
    np.testing.assert_allclose(pos[0, 2], [6, 2, 3], atol=1e-9)
    # Frame 1: root rotated 90 deg about Z, Arm local position (0, 0, 0).
    np.testing.assert_allclose(sites[2][1], [-10, 0, 0], atol=1e-9)


@pytest.mark.parametrize(
    "text, needle",
    [
        (SIMPLE.replace("CHANNELS 3 Zrotation", "CHANNELS 4 Zrotation"), "simple.bvh:10: joint .Chest.: unknown channel"),
        (SIMPLE.replace("0 0 0 90 0 0 0 0 0 0 0 0 0 0 90\n", ""), "truncated"),
        (SIMPLE.replace("1 2 3 0 0 0 90", "1 2 3 0 0 90"), "frame 0 has 14 values"),
        (SIMPLE.replace("  JOINT Chest\n  {", "  JOINT Chest\n"), "simple.bvh"),
        (SIMPLE.replace("HIERARCHY", "HIERARCH"), "simple.bvh:1"),
    ],
)
def test_bvh_malformed_names_file_and_line(text: str, needle: str) -> None:
    with pytest.raises(BvhError, match=needle):
        parse_bvh(text, "simple.bvh")


def test_read_bvh_missing_file(tmp_path) -> None:
    with pytest.raises(BvhError, match="cannot read"):
        read_bvh(tmp_path / "nope.bvh")


def _smpl_bvh(tmp_path, rots: np.ndarray, root: np.ndarray, cm: bool = True):
    """Write a BVH of the SMPL skeleton (SMPL names in Mixamo style) with known local rotations."""
    rest = default_rest_joints()
    offsets = rest - rest[[max(p, 0) for p in PARENTS]]
    offsets[0] = rest[0]
    names = [_mixamo(n) for n in JOINT_NAMES]
    unit = 100.0 if cm else 1.0
    return write_bvh(tmp_path / "smpl.bvh", names, list(PARENTS), offsets * unit, rots, root * unit, 30.0), rest


def _mixamo(name: str) -> str:
    table = {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck", "head": "Head",
             "hip": "UpLeg", "knee": "Leg", "ankle": "Foot", "foot": "ToeBase", "collar": "Shoulder", "shoulder": "Arm",
             "elbow": "ForeArm", "wrist": "Hand", "hand": "HandMiddle1"}
    if name.startswith(("left_", "right_")):
        side, part = name.split("_", 1)
        return ("Left" if side == "left" else "Right") + table[part]
    return table[name]


def _random_motion(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    aa = rng.normal(0, 0.35, (n, 24, 3))
    aa[:, 0] = [0, 0.3, 0]
    aa[:, [22, 23]] = 0  # the hand tips carry no motion
    rots = Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3)
    root = np.stack([np.linspace(0, 1, n), np.full(n, 0.9), np.zeros(n)], -1)
    return rots, root


def test_auto_joint_map_conventions() -> None:
    names = [_mixamo(n) for n in JOINT_NAMES]
    mapping = auto_joint_map(names, list(PARENTS))
    assert all(mapping[i] == i for i in range(24)), {JOINT_NAMES[k]: names[v] for k, v in mapping.items()}
    bandai = ["joint_Root", "Hips", "Spine", "Chest", "Neck", "Head", "Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L",
              "UpperLeg_L", "LowerLeg_L", "Foot_L", "Toes_L", "UpperLeg_R"]
    parents = [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 1, 10, 11, 12, 1]
    m = {JOINT_NAMES[k]: bandai[v] for k, v in auto_joint_map(bandai, parents).items()}
    assert m["pelvis"] == "Hips" and m["left_collar"] == "Shoulder_L" and m["left_shoulder"] == "UpperArm_L"
    assert m["left_knee"] == "LowerLeg_L" and m["left_foot"] == "Toes_L" and m["spine3"] == "Chest"
    iclone = ["RL_BoneRoot", "CC_Base_Hip", "CC_Base_Pelvis", "CC_Base_L_Thigh", "CC_Base_L_Calf", "CC_Base_R_Thigh",
              "CC_Base_L_ThighTwist01", "CC_Base_Waist", "CC_Base_Spine01", "CC_Base_Spine02", "CC_Base_NeckTwist01", "CC_Base_Head"]
    parents = [-1, 0, 1, 2, 3, 2, 3, 1, 7, 8, 9, 10]
    m = {JOINT_NAMES[k]: iclone[v] for k, v in auto_joint_map(iclone, parents).items()}
    assert m["pelvis"] == "CC_Base_Pelvis" and m["left_hip"] == "CC_Base_L_Thigh" and m["neck"] == "CC_Base_NeckTwist01"
    assert (m["spine1"], m["spine2"], m["spine3"]) == ("CC_Base_Waist", "CC_Base_Spine01", "CC_Base_Spine02")


def test_explicit_joint_map(tmp_path) -> None:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"pelvis": "Hips", "left_hip": "Arm"}))
    assert load_joint_map(path, ["Hips", "Chest", "Arm"]) == {0: 0, 1: 2}
    path.write_text(json.dumps({"pelvis": "Nope"}))
    with pytest.raises(ValueError, match="Nope"):
        load_joint_map(path, ["Hips"])


@pytest.mark.parametrize("cm", [True, False])
def test_bvh_roundtrip_joint_positions(tmp_path, cm: bool) -> None:
    """A BVH written from known SMPL rotations reads back to the same joint positions (< 5 mm)."""
    rots, root = _random_motion(20)
    path, rest = _smpl_bvh(tmp_path, rots, root, cm)
    clip, joints = bvh_to_clip(read_bvh(path), rest_joints=rest)
    truth = joints_of(rots.astype(np.float32), root - rest[0], rest)
    # Undo the clip's canonical start (yaw + shift) and floor placement by rigid alignment.
    a, b = truth.reshape(-1, 3), joints.reshape(-1, 3)
    ca, cb = a.mean(0), b.mean(0)
    u, _, vt = np.linalg.svd((b - cb).T @ (a - ca))
    r = u @ vt
    aligned = (a - ca) @ r.T + cb
    err = np.linalg.norm(aligned - b, axis=-1)
    assert err.max() < 0.005, err.max()
    # Rotations survive too (local, below the root).
    np.testing.assert_allclose(clip.local_rots[:, 1:22], rots[:, 1:22], atol=2e-3)


def _deepmimic_text(n: int = 12, dt: float = 1 / 60) -> str:
    frames = []
    for i in range(n):
        f = [dt, 0.02 * i, 0.85, 0.0, 1, 0, 0, 0]
        for name_kind in ["b", "b", "b", "h", "b", "b", "h", "b", "h", "b", "b", "h"]:
            f += [1, 0, 0, 0] if name_kind == "b" else [-0.3 * (i % 3)]
        frames.append(f)
    return json.dumps({"Loop": "wrap", "Frames": frames})


def test_deepmimic_reader(tmp_path) -> None:
    path = tmp_path / "humanoid3d_walk.txt"
    path.write_text(_deepmimic_text())
    assert len(json.loads(path.read_text())["Frames"][0]) == _DM_WIDTH
    clip, joints = deepmimic_to_clip(path)
    assert clip.fps == 30 and clip.num_frames == 6  # 11/60 s at 30 fps
    # Rest pose with arms down: SMPL elbows end up below the shoulders, feet at the floor.
    assert (joints[:, 18, 1] < joints[:, 16, 1] - 0.15).all()
    assert joints[:, [7, 8, 10, 11], 1].min() == pytest.approx(0.0, abs=0.02)
    # Moves along +X in the source, faces +X: after canonicalisation it walks along +Z.
    assert joints[-1, 0, 2] - joints[0, 0, 2] > 0.1
    path.write_text(json.dumps({"Frames": [[0.1, 1, 2]]}))
    with pytest.raises(ValueError, match="humanoid3d_walk.txt"):
        deepmimic_to_clip(path)


def test_dance_with_melody_reader(tmp_path) -> None:
    folder = tmp_path / "DANCE_W_1"
    folder.mkdir()
    rest = default_rest_joints() * 100  # cm, SMPL layout -> the 23 points
    pts = np.zeros((23, 3))
    layout = {7: 2, 16: 1, 2: 3, 8: 5, 17: 4, 9: 8, 18: 7, 11: 11, 20: 10, 12: 12, 3: 17, 13: 16, 4: 19, 14: 18,
              6: 21, 15: 20, 22: 23, 0: 15, 1: 15, 5: 19, 21: 20, 10: 8, 19: 7}
    for k, s in layout.items():
        pts[k] = rest[s]
    sk = np.repeat(pts[None], 30, 0)
    centre = np.stack([np.linspace(0, 50, 30), np.full(30, 120.0), np.zeros(30)], -1)
    (folder / "skeletons.json").write_text(json.dumps({"length": 30, "center": centre.tolist(), "skeletons": (sk - 0).tolist()}))
    (folder / "config.json").write_text(json.dumps({"start_position": 50, "end_position": 80}))
    rec = read_dance_with_melody(folder)
    assert rec["genre"] == "W" and rec["music_start"] == pytest.approx(2.0)
    clip, joints = dwm_to_clip(rec)
    assert clip.num_frames == 35
    # A T-pose in the points gives (nearly) the SMPL T-pose: arms horizontal, legs straight.
    assert abs(joints[0, 20, 1] - joints[0, 16, 1]) < 0.05
    assert np.linalg.norm(joints[0, 20] - joints[0, 21]) > 1.2
    (folder / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="DANCE_W_1"):
        read_dance_with_melody(folder)


def test_amass_npz_reader(tmp_path) -> None:
    rots, _ = _random_motion(12)
    aa = Rotation.from_matrix(rots.reshape(-1, 3, 3)).as_rotvec().reshape(12, 72)
    poses = np.concatenate([aa, np.zeros((12, 84))], axis=1)  # SMPL-H width
    path = tmp_path / "07_03_poses.npz"
    np.savez(path, poses=poses, trans=np.zeros((12, 3)), mocap_framerate=np.array(60.0), betas=np.zeros(16))
    clip, joints = read_amass_npz(path)
    assert clip.num_frames == 6 and clip.fps == 30
    np.testing.assert_allclose(clip.local_rots[:, 1:], rots[::2, 1:], atol=1e-4)
    assert joints[..., [7, 8, 10, 11], 1].min() == pytest.approx(0.0, abs=1e-4)
    np.savez(path, poses=poses)
    with pytest.raises(ValueError, match="07_03_poses"):
        read_amass_npz(path)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_aistpp_pkl_reader_and_restricted_unpickler(tmp_path) -> None:
    rots, _ = _random_motion(8)
    aa = Rotation.from_matrix(rots.reshape(-1, 3, 3)).as_rotvec().reshape(8, 72)
    path = tmp_path / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
    path.write_bytes(pickle.dumps({"smpl_poses": aa, "smpl_trans": np.full((8, 3), 100.0), "smpl_scaling": np.array([100.0])}))
    clip, _ = read_aistpp(path)
    assert clip.num_frames == 4 and clip.meta["music_id"] == "mBR0" and clip.meta["genre"] == "BR"
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"x": _Evil()}))
    with pytest.raises(ValueError, match="refusing to load"):
        load_pkl_arrays(bad)
