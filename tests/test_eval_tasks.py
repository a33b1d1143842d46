"""The evaluation tasks and the eval command end to end on a tiny corpus made here."""

import json

import numpy as np
import pytest
import torch

from genmo.cli import main
from genmo.data.corpus import INDEX_NAME, load_corpus
from genmo.eval import metrics as M
from genmo.eval.common import body_vertices, decode_sample, encode_gt, ground_truth, split_clips, to_camera
from genmo.eval.estimation import EVAL_CAMERA_SEED, occlusion_mask, observe
from genmo.eval.evaluator import (FEATURE_DIM, load_evaluator, mirror_joints, mirror_label, motion_features,
                                  train_evaluator)
from genmo.eval.inbetween import keyframe_indices
from genmo.pipeline import GenmoPipeline

N_TEST_TEXT = 33  # > 32: R-precision needs one full batch of 32
WORDS = ("walks", "waves", "runs", "jumps", "bows", "kicks")


def _clip_motion(rng: np.random.Generator, frames: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(frames)[:, None] / 30.0
    poses = np.zeros((frames, 24, 3), np.float32)
    poses[:, 1:] = 0.3 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5, (1, 23 * 3)) * t + rng.uniform(0, 6, (1, 69))).reshape(frames, 23, 3)
    poses[:, 0, 1] = 0.2 * t[:, 0]
    trans = np.concatenate([0.3 * t, 0.02 * np.sin(4 * t), rng.uniform(0.5, 1.5) * t], -1).astype(np.float32)
    return poses, trans


def _write_corpus(root, seed=0):
    """A tiny corpus: test clips with text (and a dance with music), train clips with labels."""
    rng = np.random.default_rng(seed)
    clips, poses, trans, music, mask = [], [], [], [], []
    start = 0
    specs = [("test", i, 60 + 5 * (i % 4)) for i in range(N_TEST_TEXT)] + [("train", i, 50) for i in range(24)]
    for split, i, n in specs:
        p, tr = _clip_motion(rng, n)
        word = WORDS[i % len(WORDS)]
        clips.append({"id": f"{split}_{i:03d}", "source": "bandai", "group": f"{split}_{i}", "split": split,
                      "start": start, "length": n, "fps": 30.0, "texts": [f"a person {word}", f"someone {word}"],
                      "labels": {"source": "bandai", "action": word}, "has_music": False, "foot": {}})
        poses.append(p)
        trans.append(tr)
        start += n
    bandai = {"poses": np.concatenate(poses), "trans": np.concatenate(trans), "betas": np.zeros(10, np.float32)}
    n = 200
    p, tr = _clip_motion(rng, n)
    feats = rng.normal(size=(n, 35)).astype(np.float32)
    feats[:, 34] = 0.0
    feats[10::15, 34] = 1.0  # a beat every half second
    music.append(feats)
    mask.append(np.ones(n, bool))
    clips.append({"id": "DANCE_W_1", "source": "dance_with_melody", "group": "DANCE_W_1", "split": "test", "start": 0,
                  "length": n, "fps": 30.0, "texts": ["a person dances a waltz"],
                  "labels": {"source": "dance_with_melody", "action": "dance"}, "has_music": True, "foot": {}})
    dance = {"poses": p, "trans": tr, "betas": np.zeros(10, np.float32), "music": np.concatenate(music),
             "music_mask": np.concatenate(mask)}
    root.mkdir(parents=True, exist_ok=True)
    np.savez(root / "bandai.npz", **bandai)
    np.savez(root / "dance_with_melody.npz", **dance)
    (root / INDEX_NAME).write_text(json.dumps({"version": 1, "fps": 30.0, "clips": clips, "build": {}}))
    return root


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return _write_corpus(tmp_path_factory.mktemp("corpus") / "corpus")


@pytest.fixture(scope="module")
def pipe():
    return GenmoPipeline.tiny_random()


def test_split_clips_reads_only_the_requested_split(corpus_dir):
    corpus = load_corpus(corpus_dir)
    test = split_clips(corpus, "test")
    assert test and all(c["split"] == "test" for c in test)
    assert len(split_clips(corpus, "test", limit=5)) == 5
    assert [c["id"] for c in split_clips(corpus, "test", need_music=True)] == ["DANCE_W_1"]


def test_decoding_the_encoded_ground_truth_scores_zero(corpus_dir, pipe):
    """Oracle check of the estimation conventions: GT vectors -> decode() -> every error ~ 0."""
    corpus = load_corpus(corpus_dir)
    gt = ground_truth(corpus, split_clips(corpus, "test")[0], pipe.body.rest_joints(), frames=60)
    _, obs = observe(gt.joints, EVAL_CAMERA_SEED)
    pred = decode_sample(pipe, encode_gt(gt, obs["cam_R"], obs["cam_t"]), gt.num_frames, with_vertices=True)
    gt_cam = to_camera(gt.joints, obs["cam_R"], obs["cam_t"])
    assert M.mpjpe(pred["joints_cam"], gt_cam).max() < 0.1
    assert M.w_mpjpe(pred["joints_world"], gt.joints).max() < 0.1
    assert M.rte(pred["joints_world"][:, 0], gt.joints[:, 0]).max() < 1e-3
    gv = to_camera(body_vertices(pipe.body, gt.local_rots, gt.root), obs["cam_R"], obs["cam_t"])
    pv = to_camera(pred["verts_world"], pred["cam_R"], pred["cam_t"])
    assert M.pve(pv, gv, pred["joints_cam"][:, 0], gt_cam[:, 0]).max() < 0.1


def test_held_out_observation_is_deterministic_and_occlusion_hides_30_percent():
    rng = np.random.default_rng(0)
    joints = np.cumsum(rng.normal(0, 0.01, (90, 24, 3)), 0) + np.array([0.0, 1.0, 0.0])
    a, _ = observe(joints, 5)
    b, _ = observe(joints, 5)
    np.testing.assert_array_equal(a["kp2d"], b["kp2d"])
    hidden = occlusion_mask(100, 0.3, np.random.default_rng(1))
    assert hidden.sum() == 30 and np.count_nonzero(np.diff(hidden.astype(int))) <= 6
    occluded, _ = observe(joints, 5, occlusion=0.3)
    assert (~occluded["mask"]).sum() >= 27


def test_keyframe_indices():
    np.testing.assert_array_equal(keyframe_indices(120, 2), [0, 119])
    assert len(keyframe_indices(120, 5)) == 5 and keyframe_indices(120, 5)[-1] == 119
    with pytest.raises(ValueError):
        keyframe_indices(10, 1)


def test_motion_features_are_heading_and_position_invariant():
    rng = np.random.default_rng(0)
    joints = np.cumsum(rng.normal(0, 0.01, (40, 24, 3)), 0)
    c, s = np.cos(1.1), np.sin(1.1)
    ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    moved = joints @ ry.T + np.array([3.0, 0.0, -2.0])
    f = motion_features(joints)
    assert f.shape == (40, FEATURE_DIM)
    np.testing.assert_allclose(motion_features(moved), f, atol=1e-4)


@pytest.fixture(scope="module")
def evaluator_dir(corpus_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluator")
    summary = train_evaluator(load_corpus(corpus_dir), folder, steps=3, batch=8, min_label_clips=2, log=lambda m: None)
    assert summary["clips"] == 24 and summary["mirrored"]  # the train clips only, each also mirrored
    return folder


def test_mirror_images_swap_sides_and_keep_the_features_of_a_symmetric_body():
    rng = np.random.default_rng(1)
    joints = np.cumsum(rng.normal(0, 0.01, (30, 24, 3)), 0)
    mirrored = mirror_joints(joints)
    np.testing.assert_allclose(mirror_joints(mirrored), joints)
    np.testing.assert_allclose(mirrored[:, 16, 0], -joints[:, 17, 0])  # left shoulder <- right shoulder, reflected
    np.testing.assert_allclose(mirrored[:, 0], joints[:, 0] * [-1.0, 1.0, 1.0])  # the pelvis stays the pelvis
    assert mirror_label("raise-up-left-hand") == "raise-up-right-hand" and mirror_label("run_right") == "run_left"
    assert mirror_label("walk") == "walk" and mirror_label(None) is None
    lateral = motion_features(joints)[:, :72].reshape(-1, 24, 3)[..., 0]
    lateral_m = motion_features(mirrored)[:, :72].reshape(-1, 24, 3)[..., 0]
    np.testing.assert_allclose(lateral_m[:, [3, 6, 9, 12, 15]], -lateral[:, [3, 6, 9, 12, 15]], atol=1e-5)  # spine flips sides


def test_evaluator_trains_on_train_split_saves_and_loads(evaluator_dir):
    ev = load_evaluator(evaluator_dir)
    assert ev.cfg.trained_on["split"] == "train" and ev.cfg.labels == sorted(WORDS)
    assert (evaluator_dir / "evaluator.safetensors").stat().st_size < 5e6
    emb, probs = ev.embed_motions([np.zeros((30, 24, 3)), np.ones((45, 24, 3))])
    assert emb.shape == (2, ev.cfg.embed) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert probs.shape == (2, len(ev.cfg.labels))


def test_eval_command_fast_tasks_write_json_and_markdown(corpus_dir, tmp_path, capsys):
    out = tmp_path / "report.md"
    code = main(["eval", "--data", str(corpus_dir), "--tiny-random", "--quick", "--json", "--out", str(out),
                 "--tasks", "estimation,music,inbetween"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["estimation"]["steps"]) == {"1", "5"} and "text_to_motion" not in result
    assert result["music"]["generated"]["pfc"] >= 0 and result["inbetween"]["2"]["keyframe_pa_mpjpe"] < 50
    assert "| 5 steps |" in out.read_text()


def test_eval_command_quick_end_to_end(corpus_dir, evaluator_dir, tmp_path, capsys):
    out = tmp_path / "report.md"
    code = main(["eval", "--data", str(corpus_dir), "--tiny-random", "--quick", "--json", "--out", str(out),
                 "--evaluator", str(evaluator_dir)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "test" and result["skipped"] == {}
    est = result["estimation"]["steps"]
    assert set(est) == {"1", "5"} and all(v["mpjpe"] > 0 for v in est.values())
    assert result["estimation_occluded"]["occlusion"] == 0.3
    t2m = result["text_to_motion"]
    assert 0 <= t2m["generated"]["r_precision_top3"] <= 1 and t2m["real"]["fid"] is not None
    assert set(t2m["real"]["action_accuracy_per_label"]) == set(WORDS)
    assert result["music"]["real"]["bas"] is not None and result["music"]["segments"] == 2
    assert 0 <= result["music"]["real_beats_shifted"]["bas"] <= 1
    assert set(result["inbetween"]) >= {"2", "5", "real"}
    assert result["multitext"]["real_p99_accel"] > 0
    text = out.read_text()
    assert "| 1 step |" in text and "## Music to dance" in text and "| real, beats shifted |" in text and "## Multi-text timelines" in text


def test_eval_command_reports_bad_input(corpus_dir, tmp_path, capsys):
    assert main(["eval", "--data", str(tmp_path / "nothing"), "--tiny-random"]) == 2
    assert "not a corpus folder" in capsys.readouterr().err
    assert main(["eval", "--data", str(corpus_dir), "--tiny-random", "--tasks", "estimation,dance"]) == 2
    assert "unknown task dance" in capsys.readouterr().err


def test_eval_guidance_sets_every_generation_task_and_is_bounded(corpus_dir, capsys):
    assert main(["eval", "--data", str(corpus_dir), "--tiny-random", "--quick", "--json", "--tasks", "music",
                 "--guidance", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["music"]["guidance"] == 4.0
    assert {k: v["guidance"] for k, v in result["settings"].items() if "guidance" in v} == {
        "text": 4.0, "music": 4.0, "multitext": 4.0, "behaviours": 4.0}
    assert main(["eval", "--data", str(corpus_dir), "--tiny-random", "--guidance", "11"]) == 2
    assert "--guidance must be in [0, 10]" in capsys.readouterr().err


def test_missing_evaluator_skips_text_task_with_a_reason(corpus_dir, tmp_path, capsys):
    code = main(["eval", "--data", str(corpus_dir), "--tiny-random", "--quick", "--json", "--tasks", "text",
                 "--evaluator", str(tmp_path / "none")])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert "no evaluator.safetensors" in result["skipped"]["text"]


def test_text_generation_respects_prompt_windows(pipe):
    from genmo.eval.text2motion import text_batch

    batch = text_batch(pipe, [[("a person walks", 0, 30), ("a person waves", 30, 60)], [("a person runs", 0, 40)]], [60, 40])
    assert batch["text_windows"].shape == (2, 2, 60)
    assert batch["text_windows"][0, 0, :30].all() and not batch["text_windows"][0, 0, 30:].any()
    assert not batch["text_present"][1, 1] and not batch["valid"][1, 40:].any()
    assert torch.equal(batch["text_windows"][1, 0, :40], torch.ones(40, dtype=torch.bool))


def test_eval_split_val_reads_validation_clips_only(corpus_dir, tmp_path, capsys):
    """--split val scores the validation split (for choosing settings); the result says so."""
    index = json.loads((corpus_dir / INDEX_NAME).read_text())
    for clip in index["clips"]:
        if clip["split"] == "test" and clip["source"] == "bandai":
            clip["split"] = "val"
    moved = tmp_path / "corpus"
    moved.mkdir()
    for f in corpus_dir.iterdir():
        (moved / f.name).write_bytes(f.read_bytes())
    (moved / INDEX_NAME).write_text(json.dumps(index))
    assert main(["eval", "--data", str(moved), "--tiny-random", "--quick", "--json", "--tasks", "estimation",
                 "--split", "val"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "val" and result["estimation"]["clips"] > 0
    val_clips = result["estimation"]["clips"]
    assert main(["eval", "--data", str(moved), "--tiny-random", "--quick", "--json", "--tasks", "estimation"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["split"] == "test" and test["estimation"]["clips"] == 1 < val_clips  # only the dance stayed in test
