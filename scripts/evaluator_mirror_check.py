"""Does the text/motion evaluator read a mirrored motion as well as the motion itself?

    python scripts/evaluator_mirror_check.py runs/corpus [--evaluator checkpoints/evaluator] [--split test]

Every labelled clip of the split (as the text task selects them) is classified as it is and mirrored
left to right (genmo.eval.evaluator.mirror_joints, its label's "left" and "right" swapped). An
evaluator that reads the action, not a lean of the capture, scores both alike. Also prints the mean
lateral offset of the shoulders from the pelvis in the heading frame (+ = left), which every clip of
this corpus has.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from genmo.data.clip import default_rest_joints
from genmo.data.corpus import load_corpus
from genmo.eval.common import ground_truth, split_clips
from genmo.eval.evaluator import (action_label, default_evaluator_dir, load_evaluator, mirror_joints, mirror_label,
                                  motion_features)

L_SHOULDER, R_SHOULDER = 16, 17


def shoulder_offset_cm(joints: np.ndarray) -> float:
    """Mean lateral offset of the shoulders' midpoint from the pelvis in the heading frame (cm, + = left)."""
    local = motion_features(joints)[:, :72].reshape(-1, 24, 3)
    return float((local[:, L_SHOULDER, 0] + local[:, R_SHOULDER, 0]).mean() / 2 * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--evaluator", default=None)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    corpus = load_corpus(args.corpus)
    evaluator = load_evaluator(args.evaluator or default_evaluator_dir())
    names = evaluator.cfg.labels
    rest = torch.from_numpy(default_rest_joints()).float()
    clips = [c for c in split_clips(corpus, args.split, min_frames=30, need_text=True, limit=320) if action_label(c) in names]
    joints = [ground_truth(corpus, c, rest, frames=196).joints for c in clips]
    labels = [action_label(c) for c in clips]
    print(f"{args.split}: {len(clips)} labelled clips; shoulders {np.mean([shoulder_offset_cm(j) for j in joints]):+.1f} cm "
          "left of the pelvis on average")
    for name, motions, truth in (("as they are", joints, labels),
                                 ("mirrored", [mirror_joints(j) for j in joints], [mirror_label(x) for x in labels])):
        _, probs = evaluator.embed_motions(motions)
        predicted = [names[int(np.argmax(p))] for p in probs]
        print(f"  {name:12s} action accuracy {np.mean([p == t for p, t in zip(predicted, truth)]):.3f}")


if __name__ == "__main__":
    main()
