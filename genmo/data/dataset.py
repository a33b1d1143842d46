"""Fixed-length training windows from a built corpus (PyTorch Dataset of plain arrays).

Each item is a dict of numpy arrays / scalars (the lead's collate turns them into the motion
vector):
  local_rots (T, 24, 3, 3) float32  SMPL local rotations
  trans (T, 3) float32              SMPL translation (posed pelvis = rest_joints[0] + trans)
  betas (10,) float32               zeros (all sources are retargeted to the default body)
  mask (T,) bool                    valid frames (False on padding past a short clip's end)
  text (str), has_text (bool)       one sentence sampled from the clip's list, or ""
  music (T, 35) float32, has_music (bool), music_mask (T,) bool
  obs (dict from genmo.data.projection.observe_2d, or zero arrays), has_2d (bool)
  source (str), clip_id (str), start (int)
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from genmo.body.skeleton import mirror_permutation
from genmo.data.clip import default_rest_joints, joints_of, local_rotations
from genmo.data.corpus import Corpus, load_corpus
from genmo.data.projection import observe_2d

_MIRROR = np.diag([-1.0, 1.0, 1.0])
_SIDE_WORDS = re.compile(r"\b(left|right|leftward|rightward|leftwards|rightwards)\b", re.IGNORECASE)
_SIDE_SWAP = {"left": "right", "right": "left", "leftward": "rightward", "rightward": "leftward",
              "leftwards": "rightwards", "rightwards": "leftwards"}


def mirror_text(text: str) -> str:
    """The sentence of a mirrored motion: every left/right word swapped, capitalisation kept."""
    def swap(match: re.Match) -> str:
        word = match.group(0)
        out = _SIDE_SWAP[word.lower()]
        return out.capitalize() if word[0].isupper() else out

    return _SIDE_WORDS.sub(swap, text)


def window_label(clip: dict) -> str:
    """The label a window is balanced by: its clip's action (or its source when it has none)."""
    labels = clip.get("labels") or {}
    return f"{clip['source']}:{labels.get('action', '')}"


def mirror_motion(local_rots: np.ndarray, trans: np.ndarray, rest_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reflect a motion across the X = 0 plane, swapping left and right joints.

    Rotations R -> M R M with M = diag(-1, 1, 1); the pelvis path is reflected too. Exact when
    the rest skeleton is left/right symmetric.
    """
    perm = mirror_permutation()
    rots = _MIRROR @ local_rots[:, perm] @ _MIRROR
    pelvis = (trans + rest_joints[0]) @ _MIRROR
    rest_m = rest_joints[perm] @ _MIRROR
    return rots.astype(np.float32), (pelvis - rest_m[0]).astype(np.float32)


def rotate_yaw(local_rots: np.ndarray, trans: np.ndarray, rest_joints: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn a motion about the vertical axis through the origin by ``angle`` radians."""
    c, s = np.cos(angle), np.sin(angle)
    ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float32)
    rots = local_rots.copy()
    rots[:, 0] = ry @ rots[:, 0]
    pelvis = (trans + rest_joints[0]) @ ry.T
    return rots, (pelvis - rest_joints[0]).astype(np.float32)


class MotionWindows(Dataset):
    """Windows of ``window`` frames over the clips of one split.

    Windows start every ``stride`` frames (clips shorter than a window give one padded
    window). ``two_d_prob`` of the samples get a synthetic 2D observation through a fresh
    random camera; ``yaw_aug`` turns each window by a random heading; ``mirror_prob`` mirrors
    it (and swaps left and right in its text). ``exclude_labels`` leaves out the clips of those
    `window_label`s; ``extra_clips`` (index entries over the same corpus arrays, e.g.
    genmo.data.still) are added to the split's clips.
    """

    def __init__(self, corpus: Corpus | str | Path, split: str = "train", window: int = 120, stride: int = 30,
                 two_d_prob: float = 0.5, yaw_aug: bool = True, mirror_prob: float = 0.0, seed: int | None = None,
                 sources: tuple[str, ...] | None = None, exclude_labels: tuple[str, ...] = (),
                 extra_clips: tuple[dict, ...] = ()) -> None:
        self.corpus = corpus if isinstance(corpus, Corpus) else load_corpus(corpus)
        if split not in ("train", "val", "test", "all"):
            raise ValueError(f"split must be train, val, test or all, got {split!r}")
        if window < 2:
            raise ValueError(f"window must be at least 2 frames, got {window}")
        self.window, self.two_d_prob, self.yaw_aug, self.mirror_prob = window, two_d_prob, yaw_aug, mirror_prob
        self.rest = default_rest_joints().astype(np.float32)
        self.rng = np.random.default_rng(seed)
        self.clips = [c for c in self.corpus.clips if (split == "all" or c["split"] == split)
                      and (sources is None or c["source"] in sources) and window_label(c) not in exclude_labels]
        self.clips += list(extra_clips)
        self.items: list[tuple[int, int]] = []
        for i, c in enumerate(self.clips):
            starts = range(0, max(c["length"] - window, 0) + 1, max(1, stride))
            self.items += [(i, s) for s in starts]

    def __len__(self) -> int:
        return len(self.items)

    def reseed(self, seed: int) -> None:
        """Restart the augmentation stream from ``seed`` (each data-loader worker calls this)."""
        self.rng = np.random.default_rng(seed)

    def sample_weights(self, power: float = 0.5, min_windows: int = 1, music_share: float = 0.0,
                       label_boost: dict[str, float] | None = None) -> np.ndarray:
        """Per-window sampling weights max(count(label), min_windows) ** -power (power 1 = every label
        equally often). ``min_windows`` keeps a label of one or two clips from being drawn many times
        more often than any of its windows would be uniformly. ``label_boost`` multiplies the weights of
        the windows of the named `window_label`s. ``music_share`` > 0 then rescales the windows of clips
        with music so they make up that share of all draws (label balance kept within each group)."""
        labels = [window_label(self.clips[ci]) for ci, _ in self.items]
        counts = Counter(labels)
        boost = label_boost or {}
        weights = np.array([max(counts[label], min_windows) ** -power * boost.get(label, 1.0) for label in labels],
                           dtype=np.float64)
        if music_share > 0.0:
            music = np.array([bool(self.clips[ci].get("has_music")) for ci, _ in self.items])
            if music.any() and not music.all():
                weights[music] *= music_share / weights[music].sum()
                weights[~music] *= (1.0 - music_share) / weights[~music].sum()
        return weights

    def __getitem__(self, index: int) -> dict:
        ci, start = self.items[index]
        clip = self.clips[ci]
        arr = self.corpus.clip_arrays(clip)
        n = min(self.window, clip["length"] - start)
        rots = local_rotations(arr["poses"][start:start + n])
        trans = arr["trans"][start:start + n].astype(np.float32)
        rng = self.rng
        text = ""
        texts = clip["texts"]
        mirrored = self.mirror_prob > 0 and rng.random() < self.mirror_prob
        if mirrored:
            rots, trans = mirror_motion(rots, trans, self.rest)
            texts = [mirror_text(t) for t in texts]
        if texts:
            text = texts[int(rng.integers(len(texts)))]
        if self.yaw_aug:
            rots, trans = rotate_yaw(rots, trans, self.rest, float(rng.uniform(-np.pi, np.pi)))
        pad = self.window - n
        mask = np.concatenate([np.ones(n, bool), np.zeros(pad, bool)])
        rots_p = np.concatenate([rots, np.repeat(rots[-1:], pad, 0)]) if pad else rots
        trans_p = np.concatenate([trans, np.repeat(trans[-1:], pad, 0)]) if pad else trans
        music = np.zeros((self.window, 35), np.float32)
        music_mask = np.zeros(self.window, bool)
        if "music" in arr:
            music[:n] = arr["music"][start:start + n]
            music_mask[:n] = arr["music_mask"][start:start + n]
        has_2d = rng.random() < self.two_d_prob
        if has_2d:
            obs = observe_2d(joints_of(rots_p, trans_p, self.rest), rng)
            obs["keypoints"][~mask] = 0.0
        else:
            obs = {"cam_R": np.repeat(np.eye(3, dtype=np.float32)[None], self.window, 0),
                   "cam_t": np.zeros((self.window, 3), np.float32), "K": np.eye(3, dtype=np.float32),
                   "image_size": np.zeros(2, np.float32), "keypoints": np.zeros((self.window, 17, 3), np.float32),
                   "bbox": np.zeros((self.window, 4), np.float32),
                   "cam_angvel": np.tile(np.array([1, 0, 0, 0, 1, 0], np.float32), (self.window, 1)),
                   "points3d": np.zeros((self.window, 17, 3), np.float32)}
        return {"local_rots": rots_p, "trans": trans_p, "betas": np.zeros(10, np.float32), "mask": mask,
                "text": text, "has_text": bool(text), "music": music, "has_music": bool(music_mask.any()),
                "music_mask": music_mask, "obs": obs, "has_2d": bool(has_2d), "source": clip["source"],
                "clip_id": clip["id"], "start": start, "mirrored": mirrored}
