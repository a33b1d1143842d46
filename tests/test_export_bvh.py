import numpy as np
import pytest
import torch

from genmo.body import load_body
from genmo.body.rotations import matrix_to_axis_angle
from genmo.body.skeleton import JOINT_NAMES
from genmo.export.bvh import motion_to_bvh
from genmo.motion.bvh import read_bvh
from genmo.motion.motion import Motion
from genmo.motion.synthetic import walking_motion


@pytest.fixture(scope="module")
def body():
    return load_body("default")


def _motion(frames=40, fps=30.0, betas=None):
    walk = walking_motion(frames, fps)
    poses = matrix_to_axis_angle(walk["local_rots"]).reshape(frames, 72).numpy()
    betas = np.zeros(10, np.float32) if betas is None else betas
    return Motion(poses=poses, trans=walk["root_pos"].numpy(), betas=betas, fps=fps)


def _joints(motion, body):
    with torch.no_grad():
        out = body(torch.from_numpy(motion.poses), torch.from_numpy(motion.betas), torch.from_numpy(motion.trans),
                   with_vertices=False)
    return out.joints.numpy()


@pytest.mark.parametrize("units,scale", [("m", 1.0), ("cm", 0.01)])
def test_bvh_round_trip_joint_positions_within_1mm(tmp_path, body, units, scale):
    betas = np.linspace(-1.5, 1.5, 10).astype(np.float32)
    motion = _motion(betas=betas, fps=24.0)
    path = motion_to_bvh(motion, tmp_path / "walk.bvh", body, units=units)
    bvh = read_bvh(path)
    assert bvh.num_frames == motion.num_frames
    assert bvh.frame_time == pytest.approx(1 / 24.0, abs=1e-8)
    assert sorted(bvh.names) == sorted(JOINT_NAMES)
    assert bvh.channels[0][:3] == ["Xposition", "Yposition", "Zposition"]
    assert all(ch[-3:] == ["Zrotation", "Xrotation", "Yrotation"] for ch in bvh.channels)
    assert bvh.guess_scale() == scale
    _, pos = bvh.forward_kinematics(scale=scale)
    order = [bvh.names.index(n) for n in JOINT_NAMES]
    err = np.linalg.norm(pos[:, order] - _joints(motion, body), axis=-1).max()
    assert err < 1e-3


def test_bvh_rest_offsets_are_the_body_skeleton(tmp_path, body):
    betas = np.full(10, 0.8, np.float32)
    bvh = read_bvh(motion_to_bvh(_motion(frames=3, betas=betas), tmp_path / "a.bvh", body))
    rest = body.rest_joints(torch.from_numpy(betas)).numpy()
    for j, name in enumerate(bvh.names):
        k = JOINT_NAMES.index(name)
        p = bvh.parents[j]
        want = rest[k] - (rest[JOINT_NAMES.index(bvh.names[p])] if p >= 0 else 0.0)
        np.testing.assert_allclose(bvh.offsets[j], want, atol=1e-5)
    assert len(bvh.end_sites) == 5  # head, both hands, both feet


def test_bvh_other_order_and_bad_arguments(tmp_path, body):
    motion = _motion(frames=10)
    bvh = read_bvh(motion_to_bvh(motion, tmp_path / "xyz.bvh", body, order="xyz"))
    _, pos = bvh.forward_kinematics()
    order = [bvh.names.index(n) for n in JOINT_NAMES]
    assert np.linalg.norm(pos[:, order] - _joints(motion, body), axis=-1).max() < 1e-3
    with pytest.raises(ValueError, match="units"):
        motion_to_bvh(motion, tmp_path / "b.bvh", body, units="inch")
    with pytest.raises(ValueError, match="order"):
        motion_to_bvh(motion, tmp_path / "b.bvh", body, order="XXY")
