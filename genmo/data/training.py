"""Training sets for the trainer: corpus windows -> the model's batch format (genmo.model.batch).

The collate function encodes each window to the motion vector (genmo.motion.representation),
normalises it, turns its virtual-camera 2D observation into the same condition features the
video pipeline produces at inference, and encodes its sentence with the text encoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genmo.body.kinematics import forward_kinematics
from genmo.conditions.keypoints2d import VideoObservation, condition_arrays
from genmo.data.clip import default_rest_joints
from genmo.data.corpus import load_corpus
from genmo.data.dataset import MotionWindows, window_label
from genmo.data.still import still_clips
from genmo.data.text_states import TextStateCache
from genmo.errors import UserInputError
from genmo.model.batch import empty_conditions
from genmo.model.config import TrainConfig
from genmo.motion.normalizer import Normalizer
from genmo.motion.representation import CAMERA_FIELDS, encode, field_mask

MIN_VISIBLE_JOINTS = 4
NORMALIZER_WINDOWS = 2000


class WindowCollator:
    """Callable collate_fn turning a list of MotionWindows items into a training batch."""

    def __init__(self, normalizer: Normalizer | None, text_encoder=None) -> None:
        self.normalizer = normalizer
        self.rest = torch.from_numpy(default_rest_joints().astype(np.float32))
        self._text_encoder = text_encoder

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from genmo.conditions.text import default_encoder

            self._text_encoder = default_encoder()
        return self._text_encoder

    def motion_vectors(self, items: list[dict]) -> torch.Tensor:
        """Unnormalised motion vectors (B, T, D) of the windows (camera fields from their 2D cameras)."""
        rots = torch.from_numpy(np.stack([it["local_rots"] for it in items]))
        trans = torch.from_numpy(np.stack([it["trans"] for it in items]))
        betas = torch.from_numpy(np.stack([it["betas"] for it in items]))
        root = self.rest[0] + trans
        _, joints = forward_kinematics(rots, self.rest, root)
        cam_R = torch.from_numpy(np.stack([it["obs"]["cam_R"] for it in items])).float()
        cam_t = torch.from_numpy(np.stack([it["obs"]["cam_t"] for it in items])).float()
        return encode(rots, root, betas, joints, cam_R=cam_R, cam_t=cam_t)

    def __call__(self, items: list[dict]) -> dict:
        b, t = len(items), len(items[0]["mask"])
        x = self.motion_vectors(items)
        texts = [it["text"] if it["has_text"] else "" for it in items]
        unique = sorted({s for s in texts if s})
        tokens_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if unique:
            tok, tok_mask = self.text_encoder.encode(unique)
            tokens_of = {s: (tok[i], tok_mask[i]) for i, s in enumerate(unique)}
        n_tok = max((v[0].shape[0] for v in tokens_of.values()), default=1)
        batch = empty_conditions(b, t, texts=1, tokens=n_tok)
        batch["valid"] = torch.from_numpy(np.stack([it["mask"] for it in items]))
        bbx = np.zeros((b, t, 3), np.float32)
        intrinsics = np.tile(np.eye(3, dtype=np.float32), (b, 1, 1))
        for i, it in enumerate(items):
            valid = it["mask"]
            if texts[i]:
                tok, tok_mask = tokens_of[texts[i]]
                batch["text_tokens"][i, 0, : len(tok)] = torch.from_numpy(tok)
                batch["text_token_mask"][i, 0, : len(tok_mask)] = torch.from_numpy(tok_mask)
                batch["text_windows"][i, 0] = torch.from_numpy(valid)
                batch["text_present"][i, 0] = True
            if it["has_music"]:
                batch["cond"]["music"][i] = torch.from_numpy(it["music"])
                batch["cond_mask"]["music"][i] = torch.from_numpy(it["music_mask"] & valid)
            if it["has_2d"]:
                obs = it["obs"]
                seen = (obs["keypoints"][..., 2] > 0).sum(-1) >= MIN_VISIBLE_JOINTS
                video = VideoObservation(keypoints=obs["keypoints"], bbox=obs["bbox"], focal=float(obs["K"][0, 0]),
                                         image_size=tuple(int(v) for v in obs["image_size"]),
                                         cam_angvel=obs["cam_angvel"], fps=30.0, person_found=seen & valid)
                arrays = condition_arrays(video)
                present = torch.from_numpy(arrays["mask"])
                batch["cond"]["kp2d"][i] = torch.from_numpy(arrays["kp2d"])
                batch["cond"]["bbox"][i] = torch.from_numpy(arrays["bbox_feature"])
                batch["cond"]["cam_angvel"][i] = torch.from_numpy(arrays["cam_angvel"])
                for key in ("kp2d", "bbox"):
                    batch["cond_mask"][key][i] = present
                batch["cond_mask"]["cam_angvel"][i] = torch.from_numpy(valid)
                bbx[i] = arrays["bbx_xys"]
                intrinsics[i] = obs["K"]
        norm = self.normalizer
        batch["x0"] = norm.normalize(x) if norm is not None else x
        batch["has_2d"] = torch.tensor([bool(it["has_2d"]) for it in items])
        batch["K_intrinsics"] = torch.from_numpy(intrinsics)
        batch["bbx_xys"] = torch.from_numpy(bbx)
        batch["rest_joints"] = self.rest.expand(b, -1, -1).clone()
        return batch


def fit_normalizer(dataset: MotionWindows, collator: WindowCollator, windows: int = NORMALIZER_WINDOWS,
                   seed: int = 0) -> Normalizer:
    """Normalisation statistics over a random subset of training windows (valid frames only)."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(dataset), size=min(windows, len(dataset)), replace=False)
    xs, valid, has_2d = [], [], []
    for start in range(0, len(picks), 64):
        items = [dataset[int(i)] for i in picks[start : start + 64]]
        xs.append(collator.motion_vectors(items))
        valid.append(torch.from_numpy(np.stack([it["mask"] for it in items])))
        has_2d += [bool(it["has_2d"]) for it in items]
    x, v, cam = torch.cat(xs), torch.cat(valid), torch.tensor(has_2d)
    stats = Normalizer.fit(x, v)
    if cam.any():  # camera fields only mean something where a camera observed the motion
        camera_stats = Normalizer.fit(x[cam], v[cam])
        dims = field_mask(CAMERA_FIELDS)
        stats.mean[dims] = camera_stats.mean[dims]
        stats.std[dims] = camera_stats.std[dims]
    return stats


def measure_spectrum(dataset: MotionWindows, collator: WindowCollator, windows: int = 512, seed: int = 0) -> list[float]:
    """The temporal power spectrum of normalised training motion (genmo.model.skip_filter), over a
    random subset of full-length windows that a camera observed (so every field is meaningful)."""
    from genmo.model.skip_filter import motion_spectrum

    return motion_spectrum(_spectrum_batches(dataset, collator, windows, seed))


def measure_feature_spectra(dataset: MotionWindows, collator: WindowCollator, windows: int = 512,
                            seed: int = 0) -> torch.Tensor:
    """Each feature's temporal power spectrum (motion_dim, bins) of normalised training motion over
    the windows `measure_spectrum` uses (genmo.model.skip_filter.feature_spectra)."""
    from genmo.model.skip_filter import feature_spectra

    return feature_spectra(_spectrum_batches(dataset, collator, windows, seed))


def _spectrum_batches(dataset: MotionWindows, collator: WindowCollator, windows: int, seed: int) -> list[dict]:
    """Batches {"x0", "valid"} of a random subset of windows that a camera observed, normalised."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(dataset), size=min(windows, len(dataset)), replace=False)
    batches = []
    for start in range(0, len(picks), 64):
        items = [it for it in (dataset[int(i)] for i in picks[start : start + 64]) if it["has_2d"]]
        if items:
            x0 = collator.normalizer.normalize(collator.motion_vectors(items))
            batches.append({"x0": x0, "valid": torch.from_numpy(np.stack([it["mask"] for it in items]))})
    return batches


def training_sets(data_dir: Path, train_cfg: TrainConfig, normalizer: Normalizer | None):
    """(train set, val set, normaliser, collate_fn) for `genmo train --data DIR`, DIR a corpus or a
    pack of one (genmo.data.pack; its sentences' states then come from the pack, not the text model)."""
    seq_len = train_cfg.seq_len
    corpus = load_corpus(data_dir)
    extra = tuple(still_clips(corpus, "train", default_rest_joints())) if train_cfg.still_clips else ()
    train = MotionWindows(corpus, "train", window=seq_len, stride=max(1, seq_len // 4), mirror_prob=0.5,
                          two_d_prob=train_cfg.two_d_prob, exclude_labels=tuple(train_cfg.exclude_labels),
                          extra_clips=extra)
    missing = set(train_cfg.exclude_labels) - {window_label(c) for c in corpus.clips if c["split"] == "train"}
    if missing:
        raise UserInputError(f"train.exclude_labels: no training clip has the label(s) {sorted(missing)}")
    val = MotionWindows(corpus, "val", window=seq_len, stride=seq_len, seed=0, two_d_prob=train_cfg.two_d_prob)
    encoder = TextStateCache.load(corpus.text_states) if corpus.text_states is not None else None
    if encoder is not None and any(t not in encoder for c in extra for t in c["texts"]):
        raise UserInputError(f"train.still_clips: {data_dir} is a pack without the stand-still sentences; "
                             "train on the corpus folder")
    collator = WindowCollator(None, encoder)
    if normalizer is None:
        normalizer = fit_normalizer(train, collator)
    collator.normalizer = normalizer
    return train, val, normalizer, collator
