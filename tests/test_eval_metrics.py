"""Every evaluation metric on cases with known answers."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from genmo.eval import metrics as M


def _motion(frames=150, joints=24, seed=0):
    """A smooth random joint trajectory (T, J, 3) that travels about 3 m."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / 30.0
    base = rng.normal(0, 0.3, (1, joints, 3))
    wobble = 0.05 * np.sin(2 * np.pi * t * rng.uniform(0.5, 2, (1, joints, 3)) + rng.uniform(0, 6, (1, joints, 3)))
    travel = np.concatenate([t, np.zeros_like(t), 0.5 * t], -1)
    return base + wobble + travel


def _rigid(x, angle=0.7, axis=(0.2, 1.0, -0.3), shift=(1.0, -2.0, 0.5), scale=1.0):
    rot = Rotation.from_rotvec(np.array(axis) / np.linalg.norm(axis) * angle).as_matrix()
    return scale * x @ rot.T + np.array(shift)


def test_similarity_fit_recovers_transform_and_never_reflects():
    src = np.random.default_rng(1).normal(size=(50, 3))
    dst = _rigid(src, scale=1.7)
    s, rot, t = M.similarity_fit(src, dst)
    assert s == pytest.approx(1.7) and np.linalg.det(rot) == pytest.approx(1.0)
    np.testing.assert_allclose(M.apply_similarity(src, s, rot, t), dst, atol=1e-9)
    mirrored = src * np.array([-1, 1, 1])
    _, rot_m, _ = M.similarity_fit(src, mirrored)
    assert np.linalg.det(rot_m) == pytest.approx(1.0)


def test_mpjpe_known_offset_and_translation_invariance():
    gt = _motion(10)
    assert np.allclose(M.mpjpe(gt + np.array([3.0, 1.0, 2.0]), gt), 0.0, atol=1e-9)
    pred = gt.copy()
    pred[:, 5] += np.array([0.0, 0.012, 0.0])  # one of 24 joints off by 12 mm
    np.testing.assert_allclose(M.mpjpe(pred, gt), 12.0 / 24, rtol=1e-6)


def test_pa_mpjpe_of_rotated_scaled_copy_is_zero_but_mpjpe_is_not():
    gt = _motion(20)
    pred = np.stack([_rigid(f, angle=0.1 * i, scale=0.8) for i, f in enumerate(gt)])
    assert M.pa_mpjpe(pred, gt).max() < 1e-6
    assert M.mpjpe(pred, gt).mean() > 10.0


def test_pve_subtracts_each_pelvis():
    gt = _motion(5, joints=100)
    pelvis = gt[:, 0]
    np.testing.assert_allclose(M.pve(gt + 2.0, gt, pelvis + 2.0, pelvis), 0.0, atol=1e-9)


def test_accel_error_zero_for_constant_velocity_offset_and_known_value():
    gt = _motion(30)
    t = np.arange(30)[:, None, None]
    assert M.accel_error(gt + 0.01 * t, gt).max() < 1e-6
    bump = gt.copy()
    bump[10] += np.array([0.001, 0.0, 0.0])  # 1 mm at one frame: second differences 1, -2, 1 mm
    err = M.accel_error(bump, gt)
    np.testing.assert_allclose(err[[8, 9, 10]], np.array([1, 2, 1]) * 1e-3 * 900, rtol=1e-6)


def test_world_mpjpe_of_similarity_moved_copy_is_zero():
    gt = _motion(250)
    pred = _rigid(gt, scale=1.3)
    assert M.w_mpjpe(pred, gt).max() < 1e-6
    assert M.wa_mpjpe(pred, gt).max() < 1e-6
    assert len(M.w_mpjpe(pred, gt)) == 250


def test_w_mpjpe_drift_grows_with_chunk_but_wa_spreads_it():
    gt = _motion(100)
    drift = np.arange(100)[:, None, None] * np.array([0.002, 0.0, 0.0])  # 2 mm/frame drift
    w, wa = M.w_mpjpe(gt + drift, gt), M.wa_mpjpe(gt + drift, gt)
    assert w[-1] > w[0] and w.mean() > wa.mean()
    assert w[-1] == pytest.approx(198.0, rel=0.05)


def test_rte_zero_for_rigid_motion_and_percent_of_path():
    gt = _motion(60)[:, 0]
    assert M.rte(_rigid(gt), gt).max() < 1e-6
    straight = np.stack([np.arange(11) * 0.1, np.zeros(11), np.zeros(11)], -1)  # 1 m path
    pred = straight.copy()
    pred[:, 1] = 0.01  # 1 cm up: a rigid fit removes it
    assert M.rte(pred, straight).max() < 1e-6
    bent = straight.copy()
    bent[-1, 1] = 0.11
    assert M.rte(bent, straight).mean() > 0.1
    with pytest.raises(ValueError, match="does not move"):
        M.rte(np.zeros((5, 3)), np.zeros((5, 3)))


def test_jitter_zero_for_quadratic_and_known_for_cubic():
    t = np.arange(20, dtype=float)[:, None, None]
    quad = np.concatenate([t ** 2, t, 0 * t], -1) * 1e-3
    assert np.abs(M.jitter(quad)).max() < 1e-6
    cubic = np.concatenate([t ** 3, 0 * t, 0 * t], -1) * 1e-3  # third difference 6 mm
    np.testing.assert_allclose(M.jitter(cubic), 6e-3 * 30 ** 3 / 10, rtol=1e-6)
    np.testing.assert_allclose(M.jerk(cubic), 6e-3 * 30 ** 3, rtol=1e-6)


def test_foot_sliding_only_counts_gt_contact_frames():
    gt = np.zeros((5, 2, 3))
    gt[:, 1, 0] = np.arange(5) * 0.1  # point 1 moves, never in contact
    pred = gt.copy()
    pred[:, 0, 0] = np.arange(5) * 0.002  # planted point slides 2 mm per frame
    fs = M.foot_sliding(pred, gt)
    assert len(fs) == 4 and np.allclose(fs, 2.0)


def test_self_foot_sliding_zero_for_planted_and_positive_for_skating():
    joints = np.zeros((30, 24, 3))
    assert M.self_foot_sliding(joints) == 0.0
    joints[:, :, 0] = np.arange(30)[:, None] * 0.01
    assert M.self_foot_sliding(joints) == pytest.approx(10.0)


def test_bas_perfect_alignment_is_one_and_decays_with_offset():
    music = np.array([10, 40, 70])
    assert M.beat_align_score(music, music) == pytest.approx(1.0)
    assert M.beat_align_score(music, music + 3) == pytest.approx(np.exp(-0.5))
    assert M.beat_align_score(music, np.array([])) == 0.0
    with pytest.raises(ValueError, match="no beats"):
        M.beat_align_score(np.array([]), music)


def test_motion_beats_at_speed_minima_and_bas_of_matching_music():
    frames = 240
    t = np.arange(frames)
    speed = 1.0 + np.cos(2 * np.pi * t / 30)  # minima at 15, 45, ...
    pos = np.cumsum(speed)[:, None, None] * np.array([0.01, 0.0, 0.0]) * np.ones((1, 24, 1))
    beats = M.motion_beats(pos)
    off = (beats - 15) % 30
    assert np.all(np.minimum(off, 30 - off) <= 2) and len(beats) >= 6
    onehot = np.zeros(frames)
    onehot[np.arange(15, frames - 15, 30)] = 1
    assert M.bas(pos, onehot) > 0.9


def test_shifted_beats_score_a_beat_locked_dance_at_chance():
    from genmo.eval.music import shifted_beat_bas, shifted_beats

    frames = 240
    t = np.arange(frames)
    speed = 1.0 + np.cos(2 * np.pi * t / 30)  # kinematic beats at 15, 45, ...
    pos = np.cumsum(speed)[:, None, None] * np.array([0.01, 0.0, 0.0]) * np.ones((1, 24, 1))
    onehot = np.zeros(frames)
    onehot[np.arange(15, frames - 15, 30)] = 1
    chance = shifted_beat_bas([pos], [onehot])
    assert chance is not None and chance < 0.5 < M.bas(pos, onehot)
    for moved in shifted_beats(onehot):  # off the beat by 7.5 to 22.5 of the 30-frame interval
        gap = (np.flatnonzero(moved)[:, None] - np.flatnonzero(onehot)[None, :]) % 30
        assert np.all((gap >= 7) & (gap <= 23))
    assert shifted_beat_bas([pos], [np.zeros(frames)]) is None


def test_pfc_zero_when_a_foot_is_planted_and_positive_when_both_slide():
    rng = np.random.default_rng(0)
    joints = rng.normal(0, 0.01, (40, 24, 3)).cumsum(0)
    planted = joints.copy()
    planted[:, [7, 10]] = planted[0, [7, 10]]
    assert M.pfc(planted) == pytest.approx(0.0)
    assert M.pfc(joints) > 0.0


def test_kinetic_features_static_is_zero_and_speed_squared():
    assert np.allclose(M.kinetic_features(np.ones((20, 24, 3))), 0.0)
    t = np.arange(40)[:, None, None] / 30.0
    walk = np.concatenate([t, 0 * t, 0 * t], -1) * np.ones((1, 24, 1))  # 1 m/s horizontally
    f = M.kinetic_features(walk).reshape(24, 3)
    np.testing.assert_allclose(f[:, 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(f[:, 1:], 0.0, atol=1e-9)


def test_fid_zero_for_same_set_and_mean_shift_squared():
    a = np.random.default_rng(0).normal(size=(500, 4))
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert M.frechet_distance(a, a + np.array([2.0, 0, 0, 0])) == pytest.approx(4.0, rel=1e-6)


def test_diversity_known_pairs():
    f = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert M.diversity(f) == pytest.approx(5.0)
    assert M.diversity(f, pairs=50) == pytest.approx(5.0)
    assert M.diversity(np.zeros((10, 3)), pairs=20) == 0.0


def test_r_precision_perfect_and_shuffled():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(64, 8)) * 10
    top, score = M.r_precision(emb, emb + 0.01)
    np.testing.assert_allclose(top, 1.0)
    assert score == pytest.approx(0.01 * np.sqrt(8), rel=1e-6)
    top_rand, _ = M.r_precision(emb, rng.normal(size=(64, 8)) * 10)
    assert top_rand[2] < 0.5
    with pytest.raises(ValueError, match="at least 32"):
        M.r_precision(emb[:10], emb[:10])


def test_multimodality_identical_generations_is_zero():
    g = np.repeat(np.random.default_rng(0).normal(size=(5, 1, 4)), 3, axis=1)
    assert M.multimodality(g) == pytest.approx(0.0)
    g[:, 1] += 1.0
    assert M.multimodality(g) > 0.0


def test_boundary_peaks_finds_a_jump():
    joints = np.zeros((60, 24, 3))
    joints[30:] += 0.05  # a 5 cm teleport at frame 30
    peaks = M.boundary_peaks(joints, [30, 10], radius=3)
    assert peaks[0] == pytest.approx(0.05 * np.sqrt(3) * 900) and peaks[1] == 0.0
    with pytest.raises(ValueError, match="outside"):
        M.boundary_peaks(joints, [99])


def test_shape_mismatch_and_nan_raise():
    with pytest.raises(ValueError, match="same shape"):
        M.mpjpe(np.zeros((3, 24, 3)), np.zeros((4, 24, 3)))
    bad = np.zeros((3, 24, 3))
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        M.pa_mpjpe(bad, np.zeros((3, 24, 3)))
