"""Corpus writing/reading, stats JSON, training windows, augmentation and labels (tiny synthetic corpus)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from genmo.data.clip import default_rest_joints, joints_of
from genmo.data.corpus import Corpus, corpus_stats
from genmo.data.dataset import MotionWindows, mirror_motion, mirror_text, rotate_yaw
from genmo.data.labels import dance_sentences, deepmimic_action, label_sentences
from genmo.data.sources import split_of


def _corpus(tmp_path) -> Corpus:
    rng = np.random.default_rng(0)
    n1, n2 = 150, 40
    poses = rng.normal(0, 0.2, (n1 + n2, 24, 3)).astype(np.float32)
    trans = np.zeros((n1 + n2, 3), np.float32)
    clips = [
        {"id": "a", "source": "bandai", "group": "a", "split": "train", "start": 0, "length": n1, "fps": 30.0,
         "labels": {"action": "walk"}, "texts": ["A person walks."], "has_music": False, "foot": {}},
        {"id": "b", "source": "bandai", "group": "b", "split": "train", "start": n1, "length": n2, "fps": 30.0,
         "labels": {"action": "wave-left-hand"}, "texts": ["A person waves the left hand."], "has_music": False, "foot": {}},
    ]
    arrays = {"bandai": {"poses": poses, "trans": trans}}
    return Corpus(tmp_path, clips, arrays, {"seconds": 1.0})


def test_windows_shapes_padding_and_keys(tmp_path) -> None:
    ds = MotionWindows(_corpus(tmp_path), "train", window=120, stride=30, two_d_prob=1.0, seed=0)
    assert len(ds) == 2 + 1  # clip a: starts 0, 30; clip b: one padded window
    item = ds[0]
    assert item["local_rots"].shape == (120, 24, 3, 3) and item["trans"].shape == (120, 3)
    assert item["has_2d"] and item["obs"]["keypoints"].shape == (120, 17, 3)
    assert item["music"].shape == (120, 35) and not item["has_music"]
    assert item["text"] == "A person walks." and item["has_text"]
    short = ds[2]
    assert short["mask"].sum() == 40 and not short["mask"][40:].any()
    assert (short["obs"]["keypoints"][40:] == 0).all()


def test_mirror_swaps_sided_text_and_sides(tmp_path) -> None:
    ds = MotionWindows(_corpus(tmp_path), "train", window=120, two_d_prob=0.0, mirror_prob=1.0, yaw_aug=False, seed=0)
    item = ds[2]
    assert item["mirrored"] and item["text"] == "A person waves the right hand."
    rest = default_rest_joints()
    rots = Rotation.from_rotvec(np.random.default_rng(1).normal(0, 0.3, (5 * 24, 3))).as_matrix().reshape(5, 24, 3, 3)
    trans = np.random.default_rng(2).normal(0, 0.5, (5, 3))
    sym = rest.copy()
    sym[[2, 5, 8, 11, 14, 17, 19, 21, 23]] = rest[[1, 4, 7, 10, 13, 16, 18, 20, 22]] * [-1, 1, 1]
    sym[[0, 3, 6, 9, 12, 15], 0] = 0
    j = joints_of(rots.astype(np.float32), trans, sym)
    mr, mt = mirror_motion(rots.astype(np.float32), trans.astype(np.float32), sym)
    jm = joints_of(mr, mt, sym)
    perm = [0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20, 23, 22]
    np.testing.assert_allclose(jm, j[:, perm] * [-1, 1, 1], atol=1e-4)


def test_yaw_rotation_keeps_heights(tmp_path) -> None:
    rest = default_rest_joints()
    rots = np.broadcast_to(np.eye(3, dtype=np.float32), (3, 24, 3, 3)).copy()
    trans = np.array([[1.0, 0.2, 0.0]] * 3, np.float32)
    r2, t2 = rotate_yaw(rots, trans, rest, np.pi / 2)
    a, b = joints_of(rots, trans, rest), joints_of(r2, t2, rest)
    np.testing.assert_allclose(a[..., 1], b[..., 1], atol=1e-5)
    np.testing.assert_allclose(b[0, 0, 2], -a[0, 0, 0], atol=1e-5)


def test_stats_json_keys(tmp_path) -> None:
    stats = corpus_stats(_corpus(tmp_path))
    assert set(stats) >= {"total_hours", "sources", "splits"}
    assert stats["sources"]["bandai"]["clips"] == 2
    assert stats["total_hours"] == pytest.approx(190 / 30 / 3600, abs=1e-3)
    assert stats["splits"] == {"train": 2, "val": 0, "test": 0}
    json.dumps(stats)


def test_labels_variety_and_splits() -> None:
    s = label_sentences("walk", "happy", seed="x", count=6)
    assert len(s) == 6 and len(set(s)) == 6 and all(t.endswith(".") for t in s)
    assert label_sentences("walk", "happy", seed="x") == s
    assert any("waltz" in t for t in dance_sentences("W"))
    assert deepmimic_action("humanoid3d_walk_to_ready_mirror") == "walk_to_ready"
    assert deepmimic_action("sie_humanoid3d_run_left03") == "run_left"
    assert split_of("abc") == split_of("abc") and split_of("abc") in ("train", "val", "test")
    counts = {k: 0 for k in ("train", "val", "test")}
    for i in range(2000):
        counts[split_of(f"clip{i}")] += 1
    assert 1450 < counts["train"] < 1750 and counts["val"] > 120 and counts["test"] > 120


def test_mirror_text_swaps_every_side_word_and_keeps_case() -> None:
    assert mirror_text("Left hand up, then the right one.") == "Right hand up, then the left one."
    assert mirror_text("walks leftward, turning RIGHT") == "walks rightward, turning Left"
    assert mirror_text("a person bows") == "a person bows"
    assert mirror_text("bright lefty") == "bright lefty"  # only whole words


def test_sample_weights_balance_labels(tmp_path) -> None:
    ds = MotionWindows(_corpus(tmp_path), "train", window=120, two_d_prob=0.0, yaw_aug=False, seed=0)
    weights = ds.sample_weights(power=1.0)
    labels = [ds.clips[ci]["labels"].get("action", "") for ci, _ in ds.items]
    mass = {}
    for label, w in zip(labels, weights):
        mass[label] = mass.get(label, 0.0) + w
    assert len(set(labels)) > 1
    assert np.allclose(list(mass.values()), 1.0)  # every label drawn equally often at power 1
    assert np.allclose(ds.sample_weights(power=0.0), 1.0)


def test_sample_weights_floor_the_count_of_rare_labels(tmp_path) -> None:
    ds = MotionWindows(_corpus(tmp_path), "train", window=120, two_d_prob=0.0, yaw_aug=False, seed=0)
    labels = [ds.clips[ci]["labels"].get("action", "") for ci, _ in ds.items]
    counts = {label: labels.count(label) for label in labels}
    floor = max(counts.values()) + 1
    weights = ds.sample_weights(power=1.0, min_windows=floor)
    assert np.allclose(weights, 1.0 / floor)  # every label counted as ``floor`` windows: uniform again
    rare = min(counts, key=counts.get)
    floored = ds.sample_weights(power=0.5, min_windows=counts[rare] + 1)
    plain = ds.sample_weights(power=0.5)
    assert all(f < p for f, p, label in zip(floored, plain, labels) if label == rare)


def test_label_boost_multiplies_the_weights_of_one_label(tmp_path) -> None:
    ds = MotionWindows(_corpus(tmp_path), "train", window=30, stride=10, two_d_prob=0.0, yaw_aug=False, seed=0)
    plain = ds.sample_weights(power=0.5)
    boosted = ds.sample_weights(power=0.5, label_boost={"bandai:wave-left-hand": 3.0})
    waving = np.array([ds.clips[ci]["labels"]["action"] == "wave-left-hand" for ci, _ in ds.items])
    assert np.allclose(boosted[waving], 3.0 * plain[waving]) and np.allclose(boosted[~waving], plain[~waving])


def test_music_share_sets_how_often_music_windows_are_drawn(tmp_path) -> None:
    ds = MotionWindows(_corpus(tmp_path), "train", window=30, stride=10, two_d_prob=0.0, yaw_aug=False, seed=0)
    ds.clips[1]["has_music"] = True  # the short clip stands in for a dance with its song
    music = np.array([ci == 1 for ci, _ in ds.items])
    plain = ds.sample_weights(power=0.5)
    assert plain[music].sum() / plain.sum() < 0.5
    shared = ds.sample_weights(power=0.5, music_share=0.6)
    assert shared[music].sum() / shared.sum() == pytest.approx(0.6)
    rest = shared[~music] / shared[~music].sum()
    assert np.allclose(rest, plain[~music] / plain[~music].sum())  # balance within a group is kept


def test_excluded_labels_leave_the_training_windows(tmp_path) -> None:
    corpus = _corpus(tmp_path)
    ds = MotionWindows(corpus, "train", window=120, two_d_prob=0.0, yaw_aug=False, seed=0,
                       exclude_labels=("bandai:wave-left-hand",))
    assert [c["id"] for c in ds.clips] == ["a"]
    assert len(ds) == len(MotionWindows(corpus, "train", window=120, seed=0, sources=("bandai",))) - 1


def _still_then_moving(frames_still: int = 90, frames_moving: int = 60) -> np.ndarray:
    """Joints (T, 24, 3) of the rest pose held still, then the right wrist swinging 0.3 m at 1 Hz."""
    rest = default_rest_joints().astype(np.float32)
    joints = np.repeat(rest[None], frames_still + frames_moving, 0)
    t = np.arange(frames_moving) / 30.0
    joints[frames_still:, 21, 0] += 0.3 * np.sin(2 * np.pi * t)
    return joints


def test_still_stretches_find_the_held_pose_and_not_the_swinging_arm() -> None:
    from genmo.data.still import still_stretches

    stretches = still_stretches(_still_then_moving())
    assert len(stretches) == 1
    start, length = stretches[0]
    assert start == 0 and 85 <= length <= 100, stretches
    walking = _still_then_moving()
    walking[:, :, 2] += np.arange(len(walking))[:, None] * (1.0 / 30.0)  # the whole body travels 1 m/s
    assert still_stretches(walking) == []
    assert still_stretches(_still_then_moving(30, 20)) == []  # shorter than min_frames


def test_still_clips_become_stand_still_windows_of_their_split(tmp_path) -> None:
    from genmo.data.still import STILL_ACTION, still_clips

    corpus = _corpus(tmp_path)
    rest = default_rest_joints().astype(np.float32)
    corpus.arrays["bandai"]["poses"][:90] = 0.0  # clip a holds the rest pose for 3 s, then moves
    extra = still_clips(corpus, "train", rest)
    assert [(c["id"], c["start"], c["split"], c["labels"]["action"]) for c in extra] == [("a#still0", 0, "train", STILL_ACTION)]
    assert 85 <= extra[0]["length"] <= 95 and all("stand" in t.lower() or "stays still" in t.lower() for t in extra[0]["texts"])
    assert still_clips(corpus, "val", rest) == []
    ds = MotionWindows(corpus, "train", window=120, two_d_prob=0.0, yaw_aug=False, seed=0, extra_clips=tuple(extra))
    item = ds[len(ds) - 1]
    assert item["clip_id"] == "a#still0" and item["mask"].sum() == extra[0]["length"]
    assert np.abs(item["local_rots"][item["mask"]] - np.eye(3)).max() < 1e-6
