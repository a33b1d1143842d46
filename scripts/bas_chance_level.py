"""Do the real dances follow their songs' beats? BAS with the own beats against the chance level.

    python scripts/bas_chance_level.py runs/corpus

For every split, every dance with music is cut as the music task cuts it (300-frame segments, up to
4 per clip); each real segment is scored against its song's beats and against the same beats moved a
quarter to three quarters of a beat off (genmo.eval.music.shifted_beat_bas). A corpus whose dances follow the beat scores
clearly higher with its own beats.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from genmo.conditions.music import BEAT_COLUMN
from genmo.data.clip import default_rest_joints
from genmo.data.corpus import load_corpus
from genmo.eval import metrics as M
from genmo.eval.common import ground_truth, split_clips
from genmo.eval.music import MusicSettings, segment_starts, shifted_beat_bas


def split_scores(corpus, split: str, frames: int, per_clip: int) -> tuple[np.ndarray, np.ndarray]:
    """(own-beat BAS, chance BAS) of every real segment of one split."""
    rest = torch.from_numpy(default_rest_joints()).float()
    own, chance = [], []
    for clip in split_clips(corpus, split, need_music=True, min_frames=frames):
        arr = corpus.clip_arrays(clip)
        for start in segment_starts(clip["length"], frames, per_clip):
            joints = ground_truth(corpus, clip, rest, start=start, frames=frames).joints
            beats = arr["music"][start:start + frames, BEAT_COLUMN] * arr["music_mask"][start:start + frames]
            if (beats > 0.5).any():
                own.append(M.bas(joints, beats))
                chance.append(shifted_beat_bas([joints], [beats]))
    return np.array(own), np.array(chance)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="a corpus folder (genmo data build)")
    args = parser.parse_args()
    corpus = load_corpus(args.corpus)
    settings = MusicSettings()
    for split in ("train", "val", "test"):
        own, chance = split_scores(corpus, split, settings.segment_frames, settings.segments_per_clip)
        if not len(own):
            print(f"{split}: no dance with music")
            continue
        diff = own - chance
        print(f"{split}: {len(own)} segments, BAS own beats {own.mean():.4f}, shifted {chance.mean():.4f}, "
              f"difference {diff.mean():+.4f} +- {diff.std() / np.sqrt(len(diff)):.4f} (s.e.)")


if __name__ == "__main__":
    main()
