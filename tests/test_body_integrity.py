"""Body integrity of the shipped model's output under every kind of condition (slow: real sampling).

For text, music, keyframe and mixed timelines (the studio's examples, two seeds each), the generated
body must stay a body: bones keep their rest lengths, the head stays above the pelvis about as far
as in real motion, the feet stay on (not under) the floor, and keyframes are reached without a pop.
The real-motion figures below were measured on 400 clips of the training corpus's train split
(pelvis-relative joints, 30 fps; `runs/diag/realstats.py` in the session that added this test).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genmo.body.skeleton import PARENTS
from genmo.spec import load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEAD, PELVIS, FEET = 15, 0, [7, 8, 10, 11]
REAL_HEAD_OVER_PELVIS_P1 = 0.47  # m, 1st percentile of real motion (median 0.61)
REAL_STEP_P99 = 0.048  # m/frame, 99th percentile of the mean pelvis-relative joint displacement
FLOOR_TOLERANCE = 0.05  # m below the floor (real clips: 1st percentile of the lowest foot -0.03 m)


@pytest.fixture(scope="module")
def pipe():
    from genmo.pipeline import GenmoPipeline

    return GenmoPipeline.from_pretrained()


def _generate(pipe, name: str, seed: int):
    spec = load_spec(EXAMPLES / name)
    return spec, pipe(spec, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["text_only.json", "text_then_music.json", "inbetweening.json", "mix.json",
                                  "two_prompts.json"])
@pytest.mark.parametrize("seed", [0, 1])
def test_generated_body_keeps_its_shape_and_stands_on_the_floor(pipe, name: str, seed: int) -> None:
    _, result = _generate(pipe, name, seed)
    joints = result.motion.joints
    rest = pipe.body.rest_joints().numpy()
    bones = [(j, PARENTS[j]) for j in range(1, 24)]
    lengths = np.stack([np.linalg.norm(joints[:, j] - joints[:, p], axis=-1) for j, p in bones], -1)
    rest_lengths = np.array([np.linalg.norm(rest[j] - rest[p]) for j, p in bones])
    np.testing.assert_allclose(lengths, np.broadcast_to(rest_lengths, lengths.shape), atol=2e-3)
    head = joints[:, HEAD, 1] - joints[:, PELVIS, 1]
    assert np.median(head) >= REAL_HEAD_OVER_PELVIS_P1, f"head sinks: median {np.median(head):.2f} m over the pelvis"
    assert head.min() > 0.2, f"head at {head.min():.2f} m over the pelvis"
    lowest = joints[:, FEET, 1].min(axis=1)
    assert lowest.min() >= -FLOOR_TOLERANCE, f"a foot {-lowest.min():.2f} m below the floor"
    assert np.median(lowest) < 0.15, f"floating: median lowest foot {np.median(lowest):.2f} m"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_keyframes_are_reached_without_a_pop(pipe, seed: int) -> None:
    spec, result = _generate(pipe, "inbetweening.json", seed)
    joints = result.motion.joints
    rel = joints - joints[:, :1]
    step = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(axis=1)  # (T-1,) m/frame
    frames = [min(round(t.time * spec.fps), len(joints) - 1) for t in spec.tracks_of("keyframe")]
    for k in frames:
        near = step[max(0, k - 10):min(len(step), k + 10)]
        assert near.max() < REAL_STEP_P99, f"pop at keyframe frame {k}: {near.max():.3f} m/frame"
        if k >= 15:  # the pose approaches the keyframe over the preceding half second
            dist = np.linalg.norm(rel[k - 15:k + 1] - rel[k], axis=-1).mean(axis=1)
            assert dist[-2] < dist[0], f"frame {k}: not approaching the keyframe ({dist[0]:.3f} -> {dist[-2]:.3f} m)"
