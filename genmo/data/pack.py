"""A compact copy of what training reads from a corpus, small enough to travel with the repository.

`python -m genmo data pack --corpus runs/corpus --out runs/pack` keeps the clips of the training
splits (train and val; test is never read by training) and stores:
  index.json         the corpus index of those clips (rows renumbered; the foot statistics, which
                     training does not read, left out), plus "pack": {format, grid steps, ...}
  <source>.npz       compressed: poses_d2 / trans_d2, the second differences along time of the
                     SMPL axis-angle (joints that are zero in every frame left out) and translation
                     rounded to grids of POSE_STEP rad and TRANS_STEP m (genmo.data.grid); music
                     float16 and music_mask where the source has them
  text_states.npz    the text encoder's token states of every sentence a window can be given,
                     mirrored variants included (genmo.data.text_states)
``load_corpus`` reads a pack like a corpus (float32 arrays), so MotionWindows and the trainer use
it unchanged; training_sets then takes the text states from the file instead of the text model.

Fidelity: POSE_STEP = 2^-9 rad is float16's spacing for values in [2, 4), so no pose value is
further from the corpus than float16 would put the largest ones (at most 2^-10 rad, 0.056 deg);
translation is kept far finer than float16 could (0.03 mm against 4 mm at 10 m).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from genmo.data.corpus import INDEX_NAME, VERSION, Corpus, load_corpus
from genmo.data.dataset import mirror_text
from genmo.data.grid import grid_decode, grid_encode
from genmo.data.text_states import TEXT_STATES_FILE, write_text_states
from genmo.errors import UserInputError

PACK_FORMAT = 1
POSE_STEP = 2.0 ** -9
TRANS_STEP = 2.0 ** -15
TRAINING_SPLITS = ("train", "val")


def select_texts(clips: list[dict], per_clip: int | None) -> list[list[str]]:
    """Each clip's sentences, at most ``per_clip`` of them (all when None): the ones most clips share
    first, so the distinct sentences to store stay few; the kept ones keep their order."""
    if per_clip is None:
        return [list(c["texts"]) for c in clips]
    if per_clip < 1:
        raise UserInputError(f"--texts-per-clip must be >= 1, got {per_clip}")
    shared = Counter(t for c in clips for t in set(c["texts"]))
    out = []
    for c in clips:
        texts = list(dict.fromkeys(c["texts"]))
        keep = set(sorted(texts, key=lambda t: (-shared[t], texts.index(t)))[:per_clip])
        out.append([t for t in texts if t in keep])
    return out


def training_sentences(clips: list[dict]) -> set[str]:
    """Every sentence a window of these clips can carry: each text and its mirrored form."""
    return {s for c in clips for t in c["texts"] for s in (t, mirror_text(t)) if s.strip()}


def _pack_source(src: dict[str, np.ndarray], clips: list[dict]) -> tuple[dict[str, np.ndarray], list[int]]:
    """The packed arrays of one source's clips (in order) and each clip's new start row."""
    rows = np.concatenate([np.arange(c["start"], c["start"] + c["length"]) for c in clips])
    starts = np.concatenate([[0], np.cumsum([c["length"] for c in clips])[:-1]]).tolist()
    poses = src["poses"][rows]
    joints = np.flatnonzero(np.abs(poses).reshape(len(rows), -1, 3).max(axis=(0, 2)) > 0)
    out = {"joints": joints.astype(np.int64), "num_joints": np.int64(poses.shape[1]),
           "poses_d2": grid_encode(poses[:, joints].reshape(len(rows), -1), POSE_STEP),
           "trans_d2": grid_encode(src["trans"][rows], TRANS_STEP)}
    if "music" in src:
        out["music"] = src["music"][rows].astype(np.float16)
        out["music_mask"] = src["music_mask"][rows]
    return out, starts


def build_pack(corpus_dir: str | Path, out: str | Path, texts_per_clip: int | None = None, text_bits: int = 16,
               encoder=None, log: Callable[[str], None] = print) -> dict:
    """Write the pack of a corpus folder; ``encoder`` (default: the real text encoder) computes the
    text states. Returns the summary, sizes included."""
    corpus = load_corpus(corpus_dir)
    if corpus.text_states is not None:
        raise UserInputError(f"{corpus_dir} is already a pack; pack the corpus it came from")
    out = Path(out)
    if out.resolve() == Path(corpus_dir).resolve():
        raise UserInputError("--out must differ from --corpus")
    clips = [{k: v for k, v in c.items() if k != "foot"} for c in corpus.clips if c["split"] in TRAINING_SPLITS]
    if not clips:
        raise UserInputError(f"{corpus_dir}: no train or val clips")
    for clip, texts in zip(clips, select_texts(clips, texts_per_clip)):
        clip["texts"] = texts
    out.mkdir(parents=True, exist_ok=True)
    frames = 0
    for source in sorted({c["source"] for c in clips}):
        mine = [c for c in clips if c["source"] == source]
        arrays, starts = _pack_source(corpus.arrays[source], mine)
        for clip, start in zip(mine, starts):
            clip["start"] = int(start)
        np.savez_compressed(out / f"{source}.npz", **arrays)
        frames += sum(c["length"] for c in mine)
        log(f"  {source}: {len(mine)} clips, {(out / f'{source}.npz').stat().st_size / 1e6:.1f} MB")
    if encoder is None:
        from genmo.conditions.text import TextEncoder

        encoder = TextEncoder(memory_items=0)
    text = write_text_states(out / TEXT_STATES_FILE, training_sentences(clips), encoder, text_bits, log)
    pack = {"format": PACK_FORMAT, "corpus": str(corpus_dir), "splits": list(TRAINING_SPLITS),
            "pose_step": POSE_STEP, "trans_step": TRANS_STEP, "texts_per_clip": texts_per_clip,
            "text_bits": text_bits, "sentences": text["sentences"], "tokens": text["tokens"]}
    index = {"version": VERSION, "fps": 30.0, "clips": clips, "build": corpus.build, "pack": pack}
    (out / INDEX_NAME).write_text(json.dumps(index, separators=(",", ":")))
    total = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    summary = {"out": str(out), "clips": len(clips), "frames": frames, **pack, "text_bytes": text["bytes"],
               "bytes": total}
    log(f"wrote {out}: {len(clips)} clips, {text['sentences']} sentences, {total / 1e6:.1f} MB")
    return summary


def load_pack(root: Path, index: dict) -> Corpus:
    """A pack folder as a Corpus of float32 arrays (called by load_corpus)."""
    pack = index["pack"]
    if pack.get("format") != PACK_FORMAT:
        raise UserInputError(f"{root}: unsupported pack format {pack.get('format')!r}")
    arrays = {}
    for source in sorted({c["source"] for c in index["clips"]}):
        path = root / f"{source}.npz"
        if not path.is_file():
            raise UserInputError(f"{root}: pack lacks {path.name}")
        with np.load(path, allow_pickle=False) as data:
            kept = grid_decode(data["poses_d2"], pack["pose_step"])
            poses = np.zeros((len(kept), int(data["num_joints"]), 3), np.float32)
            poses[:, data["joints"]] = kept.reshape(len(kept), -1, 3)
            arrays[source] = {"poses": poses, "trans": grid_decode(data["trans_d2"], pack["trans_step"]),
                              "betas": np.zeros(10, np.float32)}
            if "music" in data.files:
                arrays[source]["music"] = data["music"].astype(np.float32)
                arrays[source]["music_mask"] = data["music_mask"]
    states = root / TEXT_STATES_FILE
    if not states.is_file():
        raise UserInputError(f"{root}: pack lacks {TEXT_STATES_FILE}")
    return Corpus(root, index["clips"], arrays, index.get("build", {}), text_states=states)
