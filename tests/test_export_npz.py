import numpy as np
import pytest

from genmo.motion.motion import Motion


def _full_motion(n=12, fps=25.0):
    rng = np.random.default_rng(0)
    return Motion(
        poses=rng.normal(0, 0.3, (n, 72)), trans=rng.normal(0, 1, (n, 3)), betas=rng.normal(0, 1, 10), fps=fps,
        joints=rng.normal(0, 1, (n, 24, 3)), contacts=rng.uniform(0, 1, (n, 6)),
        cam_R=np.broadcast_to(np.eye(3), (n, 3, 3)), cam_t=rng.normal(0, 1, (n, 3)),
    )


def test_npz_round_trip_keeps_every_field(tmp_path):
    motion = _full_motion()
    path = motion.save(tmp_path / "m.npz")
    back = Motion.load(path)
    for key in ("poses", "trans", "betas", "joints", "contacts", "cam_R", "cam_t"):
        np.testing.assert_array_equal(getattr(back, key), getattr(motion, key), err_msg=key)
    assert back.fps == 25.0 and back.num_frames == 12


def test_npz_has_amass_keys_readable_without_pickle(tmp_path):
    path = _full_motion(fps=60.0).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        assert {"poses", "trans", "betas", "mocap_framerate", "gender"} <= set(data.files)
        assert float(data["mocap_framerate"]) == 60.0
        assert str(data["gender"]) == "neutral"
        assert data["poses"].shape == (12, 72) and data["poses"].dtype == np.float32


def test_amass_smplh_file_keeps_body_joints_and_zeroes_hands(tmp_path):
    rng = np.random.default_rng(1)
    poses = rng.normal(0, 0.2, (5, 156)).astype(np.float32)
    np.savez(tmp_path / "amass.npz", poses=poses, trans=np.zeros((5, 3)), betas=rng.normal(0, 1, 16),
             mocap_framerate=np.array(120.0), gender=np.array("female"))
    motion = Motion.load(tmp_path / "amass.npz")
    np.testing.assert_array_equal(motion.poses[:, :66], poses[:, :66])
    assert not motion.poses[:, 66:].any()
    assert motion.fps == 120.0 and motion.betas.shape == (10,)


@pytest.mark.parametrize("drop,message", [("poses", "lacks key 'poses'"), ("trans", "lacks key 'trans'"),
                                          ("fps", "lacks key 'fps'")])
def test_missing_key_is_named(tmp_path, drop, message):
    arrays = {k: v for k, v in _full_motion().to_dict().items() if k not in (drop, "mocap_framerate")}
    if drop != "fps":
        arrays["fps"] = np.array(25.0)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        Motion.load(tmp_path / "bad.npz")


def test_nan_and_zero_length_are_reported(tmp_path):
    arrays = _full_motion().to_dict()
    arrays["trans"] = arrays["trans"].copy()
    arrays["trans"][3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(ValueError, match="'trans' contains NaN"):
        Motion.load(tmp_path / "nan.npz")
    np.savez(tmp_path / "empty.npz", poses=np.zeros((0, 72)), trans=np.zeros((0, 3)), fps=np.array(30.0))
    with pytest.raises(ValueError, match="zero frames"):
        Motion.load(tmp_path / "empty.npz")
