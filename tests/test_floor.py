"""The floor lift (genmo.motion.floor): feet kept on or above the floor, smoothly, keyframes untouched."""

from __future__ import annotations

import numpy as np
import torch

from genmo.body import load_body
from genmo.body.skeleton import FOOT_JOINTS
from genmo.motion import LAYOUT, encode
from genmo.motion.floor import FLOOR_TOLERANCE_M, distance_to_pinned, floor_lift, lowest_foot, smooth_lift
from genmo.motion.synthetic import walking_motion
from genmo.pipeline import GenmoPipeline
from genmo.spec import load_spec

ROOT_HEIGHT = LAYOUT["root_height"].start


def _sinking_walk(frames: int = 90, depth: float = 0.12) -> tuple[torch.Tensor, object]:
    """A walk whose root dips ``depth`` m (a smooth bump around frame 45), feet through the floor."""
    body = load_body()
    m = walking_motion(frames)
    dip = depth * torch.exp(-0.5 * ((torch.arange(frames) - 45) / 5.0) ** 2)
    root = m["root_pos"].clone()
    root[:, 1] -= dip
    joints = m["joints"].clone()
    joints[..., 1] -= dip[:, None]
    return encode(m["local_rots"], root, torch.zeros(10), joints)[None], body


def test_smooth_lift_covers_the_depth_and_changes_gradually() -> None:
    depth = torch.zeros(2, 60)
    depth[0, 30], depth[0, 33], depth[1, 0] = 0.10, 0.05, 0.08  # one at the clip's first frame
    lift = smooth_lift(depth, radius=6)
    assert bool((lift >= depth - 1e-7).all())
    assert float(lift[0, :17].abs().max()) == 0 and float(lift[0, 47:].abs().max()) == 0  # nothing far away
    assert float(lift.diff(dim=1).abs().max()) < 0.10 / 3  # spread over frames, not a one-frame jump


def test_distance_to_pinned_frames() -> None:
    pinned = torch.zeros(2, 10, dtype=torch.bool)
    pinned[0, 3] = pinned[0, 8] = True
    assert distance_to_pinned(pinned)[0].tolist() == [3, 2, 1, 0, 1, 2, 2, 1, 0, 1]
    assert distance_to_pinned(pinned)[1].tolist() == [10] * 10


def test_lift_brings_sinking_feet_to_the_floor_and_leaves_others_alone() -> None:
    x, body = _sinking_walk()
    before = lowest_foot(x, body)[0]
    assert float(before.min()) < -0.08  # the fixture does sink
    valid = torch.ones(1, x.shape[1], dtype=torch.bool)
    lift = floor_lift(x, body, valid)
    lifted = x.clone()
    lifted[..., ROOT_HEIGHT] += lift
    after = lowest_foot(lifted, body)[0]
    assert float(after.min()) >= -FLOOR_TOLERANCE_M - 1e-4
    assert float(lift[0, :20].abs().max()) == 0 and float(lift[0, 70:].abs().max()) == 0
    assert torch.equal(lifted[..., :ROOT_HEIGHT], x[..., :ROOT_HEIGHT])  # only the root height moves
    # a pinned frame (a keyframe's root height) is never moved, even inside the dip
    pinned = torch.zeros_like(valid)
    pinned[0, 40] = True
    lift_pinned = floor_lift(x, body, valid, pinned=pinned)
    assert float(lift_pinned[0, 40]) == 0 and float(lift_pinned[0, 45]) >= float(-before[45]) - FLOOR_TOLERANCE_M - 1e-6


def test_pipeline_lift_keeps_keyframes_exact_and_feet_up() -> None:
    pipe = GenmoPipeline.tiny_random(seed=3)
    spec = load_spec({"version": 1, "fps": 30, "duration": 2.0,
                      "tracks": [{"kind": "keyframe", "time": 1.0, "path": "library:arms_up"}]}, check_files=False)
    raw = pipe(spec, steps=2, seed=0).motion
    pipe.floor_lift = True
    lifted = pipe(spec, steps=2, seed=0).motion
    low = lambda m: m.joints[:, list(FOOT_JOINTS), 1].min(axis=1)  # noqa: E731
    assert low(raw).min() < -0.05  # an untrained model sinks
    assert low(lifted).min() >= -FLOOR_TOLERANCE_M - 1e-3
    np.testing.assert_allclose(lifted.poses, raw.poses, atol=1e-6)  # the pose is the same
    np.testing.assert_allclose(lifted.trans[30, 1], raw.trans[30, 1], atol=1e-5)  # the keyframe frame keeps its height
