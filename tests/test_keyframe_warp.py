"""Keyframe motion warping (ease into in-painted keyframes) and keyframes that would sit under the floor."""

from __future__ import annotations

import numpy as np
import torch

from genmo.diffusion.keyframe_warp import WARP_RADIUS, warp_to_keyframes


def test_warp_eases_into_and_out_of_a_keyframe() -> None:
    x = torch.zeros(1, 60, 4)
    known = torch.zeros_like(x)
    mask = torch.zeros_like(x, dtype=torch.bool)
    known[0, 30, 0], mask[0, 30, 0] = 1.0, True
    out = warp_to_keyframes(x, known, mask)
    ramp = out[0, :, 0]
    assert ramp[30] == 1.0
    assert torch.all(ramp[30 - WARP_RADIUS:31].diff() > 0) and torch.all(ramp[30:31 + WARP_RADIUS].diff() < 0)
    assert ramp[:30 - WARP_RADIUS].abs().max() == 0 and ramp[31 + WARP_RADIUS:].abs().max() == 0
    assert ramp.diff().abs().max() < 0.2  # no jump: the largest step is a fraction of the offset
    assert out[0, :, 1:].abs().max() == 0  # dims the keyframe does not fix are untouched


def test_warp_offsets_from_the_motion_around_the_key_and_handles_the_last_frame() -> None:
    x = torch.linspace(0, 1, 40).view(1, 40, 1).repeat(1, 1, 2)
    known = x.clone()
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[0, 39, 0] = True
    known[0, 39, 0] = 3.0
    out = warp_to_keyframes(x, known, mask)
    assert out[0, 39, 0] == 3.0 and out[0, 38, 0] > 2.5  # the frame before the key is pulled almost all the way
    torch.testing.assert_close(out[0, :, 1], x[0, :, 1])


def test_a_keyframe_saved_with_zero_translation_stands_on_the_floor() -> None:
    from genmo.body import load_body
    from genmo.body.skeleton import FOOT_JOINTS
    from genmo.conditions.keyframes import keyframe_constraint
    from genmo.conditions.pose_library import library_pose
    from genmo.motion.representation import LAYOUT, decode

    body = load_body()
    pose = library_pose("squat")
    values, dims = keyframe_constraint(pose, np.zeros(3, np.float32), body)
    lifted, _ = keyframe_constraint(pose, None, body)
    assert np.allclose(values[LAYOUT["root_height"]], lifted[LAYOUT["root_height"]])
    joints = decode(torch.as_tensor(values)[None], body.rest_joints())["joints_world"][0]
    assert abs(float(joints[list(FOOT_JOINTS), 1].min())) < 1e-4
    high, _ = keyframe_constraint(pose, np.array([0.0, 1.0, 0.0], np.float32), body)
    rest_pelvis = float(body.rest_joints()[0, 1])
    assert np.isclose(high[LAYOUT["root_height"]], rest_pelvis + 1.0)  # a pose above the floor keeps its height
