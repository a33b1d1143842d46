"""Stretches of real motion where the body stands still, as extra training clips labelled "stand-still".

No motion set labels standing still, but many clips hold a still pose before or after their action.
A stretch counts as still when, over every `min_frames`-frame window in it, no joint moves faster
than `max_joint_speed` on average relative to the pelvis and the pelvis travels less than
`max_travel`. Each stretch becomes a clip of the same source rows, split and group as its parent.
"""

from __future__ import annotations

import numpy as np

from genmo.data.clip import joints_of, local_rotations
from genmo.data.corpus import Corpus
from genmo.data.labels import label_sentences

STILL_ACTION = "stand-still"


def still_stretches(joints: np.ndarray, fps: float = 30.0, min_frames: int = 60, max_joint_speed: float = 0.15,
                    max_travel: float = 0.15, stride: int = 5) -> list[tuple[int, int]]:
    """(start, length) of each maximal union of still `min_frames` windows of joints (T, J, 3), Y up."""
    n = len(joints)
    if n < min_frames:
        return []
    rel = joints - joints[:, :1]
    speed = np.linalg.norm(np.diff(rel, axis=0), axis=-1) * fps  # (T - 1, J)
    still = np.zeros(n, bool)
    for s in range(0, n - min_frames + 1, stride):
        e = s + min_frames
        travel = np.linalg.norm(joints[e - 1, 0, [0, 2]] - joints[s, 0, [0, 2]])
        if travel < max_travel and speed[s:e - 1].mean(axis=0).max() < max_joint_speed:
            still[s:e] = True
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(np.int8), [0]])))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2])]


def still_clips(corpus: Corpus, split: str, rest: np.ndarray, min_frames: int = 60) -> list[dict]:
    """Clip entries (the corpus index's fields) for the still stretches of one split's clips."""
    out = []
    for clip in corpus.clips:
        if clip["split"] != split or clip.get("has_music") or clip["length"] < min_frames:
            continue
        arr = corpus.clip_arrays(clip)
        joints = joints_of(local_rotations(arr["poses"]), arr["trans"].astype(np.float32), rest)
        for k, (start, length) in enumerate(still_stretches(joints, clip["fps"], min_frames)):
            cid = f"{clip['id']}#still{k}"
            out.append({**clip, "id": cid, "start": clip["start"] + start, "length": length,
                        "labels": {"source": clip["source"], "action": STILL_ACTION},
                        "texts": label_sentences(STILL_ACTION, seed=cid)})
    return out
