"""The pack (genmo.data.pack): grid codec, what it keeps, text-state lookup, and batches equal to the corpus's."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from genmo.conditions.text import TextEncoder
from genmo.data.corpus import INDEX_NAME, VERSION, load_corpus
from genmo.data.dataset import MotionWindows, mirror_text
from genmo.data.grid import grid_decode, grid_encode
from genmo.data.pack import POSE_STEP, TRANS_STEP, build_pack, select_texts
from genmo.data.text_states import TEXT_STATES_FILE, TextStateCache, write_text_states
from genmo.data.training import WindowCollator, training_sets
from genmo.errors import ConditionError, UserInputError
from genmo.model.config import GenmoConfig
from genmo.paths import repo_root

CLIPS = [  # (id, source, split, frames, texts)
    ("walk", "bandai", "train", 150, ["A person walks.", "Someone walks forward.", "A person walks slowly."]),
    ("wave", "bandai", "train", 40, ["A person waves the left hand.", "A person walks."]),
    ("held", "bandai", "val", 130, ["A person jumps."]),
    ("unseen", "bandai", "test", 50, ["A test sentence never packed."]),
    ("dance", "dance_with_melody", "train", 130, ["A person dances to the music."]),
]


def _write_corpus(folder) -> None:
    """A small corpus folder in build_corpus's layout: smooth random motion, hands never moving."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    clips, store = [], {}
    for cid, source, split, n, texts in CLIPS:
        t = np.arange(n)[:, None, None] / 30.0
        poses = 0.6 * np.sin(2 * np.pi * rng.uniform(0.2, 1.5, (1, 24, 3)) * t + rng.uniform(0, 6, (1, 24, 3)))
        poses[:, 22:] = 0.0
        trans = np.cumsum(rng.normal(0, 0.01, (n, 3)), axis=0) + [3.0, 0.0, -7.0]
        s = store.setdefault(source, {"poses": [], "trans": [], "music": [], "music_mask": []})
        start = sum(len(p) for p in s["poses"])
        s["poses"].append(poses.astype(np.float32))
        s["trans"].append(trans.astype(np.float32))
        if source == "dance_with_melody":
            s["music"].append(rng.normal(0, 30, (n, 35)).astype(np.float32))
            s["music_mask"].append(np.arange(n) > 10)
        clips.append({"id": cid, "source": source, "group": cid, "split": split, "start": start, "length": n,
                      "fps": 30.0, "labels": {"action": cid}, "texts": texts,
                      "has_music": source == "dance_with_melody", "foot": {}})
    for source, s in store.items():
        payload = {"poses": np.concatenate(s["poses"]), "trans": np.concatenate(s["trans"]), "betas": np.zeros(10, np.float32)}
        if s["music"]:
            payload["music"] = np.concatenate(s["music"])
            payload["music_mask"] = np.concatenate(s["music_mask"])
        np.savez(folder / f"{source}.npz", **payload)
    (folder / INDEX_NAME).write_text(json.dumps({"version": VERSION, "fps": 30.0, "clips": clips, "build": {}}))


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(disk_cache=False)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("pack")
    _write_corpus(root / "corpus")
    summary = build_pack(root / "corpus", root / "pack", encoder=encoder, log=lambda _: None)
    return root / "corpus", root / "pack", summary


def test_grid_codec_rounds_to_the_grid_and_falls_back_to_int32() -> None:
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(0, 0.02, (500, 6)), axis=0)
    codes = grid_encode(x, 2 ** -9)
    assert codes.dtype == np.int16
    back = grid_decode(codes, 2 ** -9)
    assert np.abs(back - x).max() <= 2 ** -10 + 1e-7
    assert np.array_equal(back, np.round(x / 2 ** -9) * 2 ** -9)
    far = grid_encode(np.array([[0.0], [40.0], [0.0]]), 2 ** -12)  # a jump of 163840 steps
    assert far.dtype == np.int32 and np.allclose(grid_decode(far, 2 ** -12)[:, 0], [0.0, 40.0, 0.0])


def test_pack_keeps_training_splits_and_every_sentence_mirrors_included(folders) -> None:
    corpus_dir, pack_dir, summary = folders
    pack = load_corpus(pack_dir)
    assert [c["id"] for c in pack.clips] == ["walk", "wave", "held", "dance"]  # the test clip is left out
    assert summary["clips"] == 4 and summary["frames"] == 150 + 40 + 130 + 130
    cache = TextStateCache.load(pack.text_states)
    assert "A person waves the right hand." in cache and "A person waves the left hand." in cache
    assert "A test sentence never packed." not in cache
    assert len(cache) == 7  # 6 distinct training sentences + 1 mirrored variant
    corpus = load_corpus(corpus_dir)
    for clip in pack.clips:
        original = next(c for c in corpus.clips if c["id"] == clip["id"])
        a, b = corpus.clip_arrays(original), pack.clip_arrays(clip)
        assert np.abs(a["poses"] - b["poses"]).max() <= POSE_STEP / 2 + 1e-6
        assert np.abs(a["trans"] - b["trans"]).max() <= TRANS_STEP / 2 + 1e-6
        assert not b["poses"][:, 22:].any()
        if "music" in a:
            assert np.allclose(a["music"], b["music"], rtol=2 ** -10, atol=1e-3)
            assert np.array_equal(a["music_mask"], b["music_mask"])


def test_cached_states_equal_the_encoder_and_a_missing_sentence_is_named(folders, encoder) -> None:
    _, pack_dir, _ = folders
    cache = TextStateCache.load(pack_dir / TEXT_STATES_FILE)
    texts = ["A person walks.", "  A person jumps. ", mirror_text("A person waves the left hand.")]
    tok_a, mask_a = encoder.encode(texts)
    tok_b, mask_b = cache.encode(texts)
    assert tok_b.shape == tok_a.shape and tok_b.dtype == np.float32
    assert np.array_equal(mask_a, mask_b)
    assert np.allclose(tok_a, tok_b, rtol=2 ** -10, atol=1e-4)  # float16 storage
    with pytest.raises(ConditionError, match="not in .*A person flies"):
        cache.encode(["A person flies."])


def _batch(dataset: MotionWindows, collator: WindowCollator) -> dict:
    return collator([dataset[i] for i in range(len(dataset))])


def test_batch_from_the_pack_equals_the_corpus_batch(folders, encoder) -> None:
    corpus_dir, pack_dir, _ = folders
    kwargs = {"window": 60, "stride": 15, "two_d_prob": 0.5, "mirror_prob": 0.5, "seed": 3}
    ds_corpus = MotionWindows(corpus_dir, "train", **kwargs)
    ds_pack = MotionWindows(pack_dir, "train", **kwargs)
    assert len(ds_corpus) == len(ds_pack) > 8
    a = _batch(ds_corpus, WindowCollator(None, encoder))
    b = _batch(ds_pack, WindowCollator(None, TextStateCache.load(pack_dir / TEXT_STATES_FILE)))
    ds_corpus.reseed(3), ds_pack.reseed(3)
    items = [(ds_corpus[i], ds_pack[i]) for i in range(len(ds_corpus))]
    for ia, ib in items:  # the same random draws: mirroring, sentence, 2D, music
        assert (ia["mirrored"], ia["text"], ia["has_2d"], ia["has_music"]) == (ib["mirrored"], ib["text"], ib["has_2d"], ib["has_music"])
    assert any(ia["mirrored"] for ia, _ in items) and any(ia["has_2d"] for ia, _ in items)
    for key in ("valid", "text_token_mask", "text_windows", "text_present", "has_2d"):
        assert torch.equal(a[key], b[key]), key
    assert torch.allclose(a["text_tokens"], b["text_tokens"], rtol=2 ** -10, atol=1e-4)
    assert torch.allclose(a["cond"]["music"], b["cond"]["music"], rtol=2 ** -10, atol=1e-3)
    # motion vectors: rotations within 2^-10 rad, so 6D entries and positions agree to ~1e-3
    contacts = slice(168, 174)
    assert torch.allclose(a["x0"][..., :contacts.start], b["x0"][..., :contacts.start], atol=5e-3)
    assert (a["x0"][..., contacts] == b["x0"][..., contacts]).float().mean() > 0.98  # thresholded labels
    # 2D: keypoints projected from joints ~1 mm apart, about a pixel at most
    assert torch.allclose(a["bbx_xys"], b["bbx_xys"], atol=1.5)
    kp_error = (a["cond"]["kp2d"] - b["cond"]["kp2d"]).abs()
    assert kp_error.max() < 3e-2 and kp_error.mean() < 1e-3


def test_training_sets_read_a_pack_without_the_text_model(folders) -> None:
    _, pack_dir, _ = folders
    cfg = GenmoConfig.load(repo_root() / "configs" / "tiny.json")
    train, val, normalizer, collate = training_sets(pack_dir, cfg.train, None)
    assert isinstance(collate.text_encoder, TextStateCache)
    batch = collate([train[i] for i in range(2)])
    assert batch["text_present"].all() and torch.isfinite(batch["x0"]).all()
    assert len(val) >= 1


def test_texts_per_clip_keeps_the_most_shared_sentences() -> None:
    clips = [{"texts": ["a", "b", "c"]}, {"texts": ["c", "d"]}, {"texts": ["e", "c", "a"]}]
    assert select_texts(clips, 2) == [["a", "c"], ["c", "d"], ["c", "a"]]
    assert select_texts(clips, None) == [c["texts"] for c in clips]
    with pytest.raises(UserInputError):
        select_texts(clips, 0)


def test_eight_bit_states_stay_within_half_a_code(tmp_path, encoder) -> None:
    texts = ["A person walks.", "A person waves the left hand.", "Someone jumps high and lands softly."]
    write_text_states(tmp_path / "s.npz", texts, encoder, bits=8)
    cache = TextStateCache.load(tmp_path / "s.npz")
    exact = encoder.encode_many(texts)
    with np.load(tmp_path / "s.npz") as data:
        half = data["scale"] / 2 + 1e-6
        assert data["states"].dtype == np.uint8
    for text, enc in zip(texts, exact):
        assert (np.abs(cache.tokens(text) - enc.tokens) <= half).all()


def test_cli_pack_prints_its_sizes_and_refuses_a_pack_as_corpus(folders, tmp_path) -> None:
    corpus_dir, pack_dir, _ = folders
    run = [sys.executable, "-m", "genmo", "data", "pack", "--corpus", str(corpus_dir), "--out", str(tmp_path / "p"),
           "--texts-per-clip", "1", "--text-bits", "8"]
    res = subprocess.run(run, capture_output=True, text=True, cwd=repo_root(), timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["sentences"] == 3 and summary["text_bits"] == 8  # "A person walks." serves both bandai train clips
    assert summary["bytes"] == sum(f.stat().st_size for f in (tmp_path / "p").iterdir())
    res = subprocess.run([*run[:6], str(pack_dir), "--out", str(tmp_path / "q")], capture_output=True, text=True,
                         cwd=repo_root(), timeout=300)
    assert res.returncode == 2 and "already a pack" in res.stderr


def test_training_sets_name_an_excluded_label_no_clip_has(folders) -> None:
    _, pack_dir, _ = folders
    cfg = GenmoConfig.load(repo_root() / "configs" / "tiny.json")
    cfg.train.exclude_labels = ["deepmimic:no-such-action"]
    with pytest.raises(UserInputError, match="no-such-action"):
        training_sets(pack_dir, cfg.train, None)


def test_still_clips_refuse_a_pack_without_their_sentences(folders, monkeypatch) -> None:
    import genmo.data.training as training

    _, pack_dir, _ = folders
    cfg = GenmoConfig.load(repo_root() / "configs" / "tiny.json")
    cfg.train.still_clips = True
    monkeypatch.setattr(training, "still_clips", lambda corpus, split, rest: [
        dict(corpus.clips[0], id="x#still0", texts=["A person stands still."])])
    with pytest.raises(UserInputError, match="still_clips"):
        training_sets(pack_dir, cfg.train, None)


def test_training_with_the_per_feature_skip_measures_and_saves_each_features_spectrum(folders, tmp_path) -> None:
    """`genmo train` with model.skip_per_feature measures the spectra on the training windows and
    saves them with the weights; the run loads back with them."""
    from genmo.cli import main
    from genmo.data.training import measure_feature_spectra
    from genmo.model.checkpoint import load_denoiser

    _, pack_dir, _ = folders
    raw = json.loads((repo_root() / "configs" / "tiny.json").read_text())
    raw["model"].update(adaln=True, prediction="wiener", skip_per_feature=True, skip_power_cap=1.0)
    raw["train"].update(steps=2, val_every=2, ckpt_every=2, log_every=1)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(raw))
    assert main(["train", "--config", str(config), "--data", str(pack_dir), "--out", str(tmp_path / "run"),
                 "--no-progress"]) == 0
    model, cfg, normalizer = load_denoiser(tmp_path / "run")
    assert cfg.model.skip_per_feature and not cfg.model.skip_spectrum  # the shared spectrum is not measured
    train, _, _, collate = training_sets(pack_dir, cfg.train, normalizer)
    fresh = measure_feature_spectra(train, collate)  # other random windows: close, not equal
    saved = model.skip_spectra
    assert saved.shape == fresh.shape == (cfg.model.motion_dim, 61) and bool((saved >= 0).all())
    still = fresh.sum(dim=1) == 0  # features that never move (hands, betas) have no power in either
    assert bool(still.any()) and bool((saved[still] == 0).all()) and bool((saved[~still].sum(dim=1) > 0).all())
