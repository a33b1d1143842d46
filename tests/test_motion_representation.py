import math

import numpy as np
import pytest
import torch

from genmo.body.rotations import rotation_about_y
from genmo.motion import LAYOUT, MOTION_DIM, Motion, Normalizer, decode, encode
from genmo.motion.synthetic import walking_motion


def _camera(frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    yaw = torch.linspace(0.0, 0.4, frames)
    flip = torch.diag(torch.tensor([-1.0, -1.0, 1.0]))  # OpenCV: y down; camera looking along -Z world
    cam_R = flip @ rotation_about_y(math.pi + yaw)
    cam_t = torch.tensor([0.0, 1.0, 4.0]).expand(frames, 3)
    return cam_R, cam_t


def test_layout_covers_every_dimension():
    covered = sorted(i for sl in LAYOUT.values() for i in range(sl.start, sl.stop))
    assert covered == list(range(MOTION_DIM))


def test_round_trip_reproduces_joints_and_camera():
    m = walking_motion(240)
    cam_R, cam_t = _camera(240)
    x = encode(m["local_rots"], m["root_pos"], torch.zeros(10), m["joints"], cam_R=cam_R, cam_t=cam_t)
    assert x.shape == (240, MOTION_DIM)
    out = decode(x, m["rest"], initial_heading=m["heading"][0], initial_xz=m["root_pos"][0, [0, 2]])
    err = (out["joints_world"] - m["joints"]).norm(dim=-1).max()
    assert err < 1e-3, err
    assert torch.allclose(out["cam_R"], cam_R, atol=1e-4)
    assert torch.allclose(out["cam_t"], cam_t, atol=1e-3)
    cam_joints = (cam_R[:, None] @ m["joints"][..., None])[..., 0] + cam_t[:, None]
    assert (out["joints_cam"] - cam_joints).norm(dim=-1).max() < 1e-3


def test_trajectory_integrates_over_1000_frames():
    m = walking_motion(1000, seed=3)
    x = encode(m["local_rots"], m["root_pos"], torch.zeros(10), m["joints"])
    out = decode(x, m["rest"], initial_heading=m["heading"][0], initial_xz=m["root_pos"][0, [0, 2]])
    drift = (out["root_pos"] - m["root_pos"]).norm(dim=-1)
    assert drift[-1] < 5e-3, drift[-1]
    path = (m["root_pos"][1:] - m["root_pos"][:-1]).norm(dim=-1).sum()
    assert path > 30  # the walk really goes somewhere


def test_decode_canonical_frame_starts_at_origin_facing_z():
    m = walking_motion(60)
    x = encode(m["local_rots"], m["root_pos"], torch.zeros(10), m["joints"])
    out = decode(x, m["rest"])
    assert out["root_pos"][0, [0, 2]].abs().max() < 1e-6
    forward = out["local_rots"][0, 0, :, 2]
    assert forward[2] > 0.9


def test_contacts_detect_planted_feet():
    m = walking_motion(30)
    joints = m["joints"].clone()
    joints[..., 1] -= joints[..., 1].min()  # ground the skeleton
    joints[:, [7, 10]] = joints[0, [7, 10]]  # left foot frozen on the ground
    x = encode(m["local_rots"], m["root_pos"], torch.zeros(10), joints)
    contacts = x[:, LAYOUT["contacts"]]
    assert contacts[:, 0].sum() + contacts[:, 1].sum() > 0
    assert contacts[:, 4:].sum() == 0  # hands are high in the air


def test_normalizer_round_trip(tmp_path):
    x = torch.randn(4, 50, MOTION_DIM) * 3 + 1
    norm = Normalizer.fit(x)
    assert torch.allclose(norm.denormalize(norm.normalize(x)), x, atol=1e-5)
    norm.save(tmp_path / "stats.safetensors")
    again = Normalizer.load(tmp_path / "stats.safetensors")
    assert torch.equal(again.mean, norm.mean)


def test_decode_rejects_wrong_dim():
    with pytest.raises(ValueError, match=str(MOTION_DIM)):
        decode(torch.zeros(3, 10), torch.zeros(24, 3))


def test_motion_file_round_trip_and_errors(tmp_path):
    n = 12
    motion = Motion(poses=np.zeros((n, 72)), trans=np.zeros((n, 3)), betas=np.zeros(10), fps=30,
                    joints=np.zeros((n, 24, 3)), contacts=np.zeros((n, 6)))
    path = motion.save(tmp_path / "m.npz")
    again = Motion.load(path)
    assert again.num_frames == n and again.fps == 30 and again.joints.shape == (n, 24, 3)
    with pytest.raises(ValueError, match="poses"):
        Motion(poses=np.zeros((n, 70)), trans=np.zeros((n, 3)), betas=np.zeros(10), fps=30)
    with pytest.raises(ValueError, match="NaN"):
        Motion(poses=np.zeros((n, 72)), trans=np.zeros((n, 3)), betas=np.zeros(10), fps=30, joints=np.full((n, 24, 3), np.nan))
    np.savez(tmp_path / "broken.npz", trans=np.zeros((n, 3)))
    with pytest.raises(ValueError, match="'poses'"):
        Motion.load(tmp_path / "broken.npz")
