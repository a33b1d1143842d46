"""Conversion of one real clip per source (skipped without ../shared/data)."""

from __future__ import annotations

import pytest

from genmo.data.clip import default_rest_joints
from genmo.data.sources import SOURCES, convert_task, list_tasks
from genmo.paths import data_root

ROOT = data_root()
pytestmark = [pytest.mark.data, pytest.mark.slow,
              pytest.mark.skipif(ROOT is None or not (ROOT / "deepmimic.tar.xz").exists(), reason="no shared data")]


@pytest.mark.parametrize("source", SOURCES)
def test_one_clip_per_source(source: str) -> None:
    tasks = list_tasks(ROOT, (source,))
    assert tasks and all(t.texts for t in tasks[:20])
    task = next(t for t in tasks if t.source != "cmu_iclone" or "walk" in t.labels["description"].lower())
    out = convert_task(task, default_rest_joints(), with_music=False)
    n = len(out["poses"])
    assert n > 10 and out["poses"].shape == (n, 24, 3) and out["trans"].shape == (n, 3)
    low = out["joints"][:, [7, 8, 10, 11], 1].min(axis=1)
    assert abs(float(sorted(low)[len(low) // 2])) < 0.15  # feet near the floor most of the time


@pytest.mark.parametrize("source", SOURCES)
def test_representation_round_trip_on_real_motion(source: str) -> None:
    """decode(encode(motion)) reproduces the joints of a real retargeted clip to < 1 mm."""
    import torch

    from genmo.body.kinematics import forward_kinematics
    from genmo.body.rotations import axis_angle_to_matrix, heading_angle
    from genmo.motion import decode, encode

    task = list_tasks(ROOT, (source,))[0]
    rest = torch.as_tensor(default_rest_joints(), dtype=torch.float32)
    out = convert_task(task, rest.numpy(), with_music=False)
    local = axis_angle_to_matrix(torch.as_tensor(out["poses"], dtype=torch.float32))
    root = rest[0] + torch.as_tensor(out["trans"], dtype=torch.float32)
    _, joints = forward_kinematics(local, rest, root)
    x = encode(local, root, torch.zeros(10), joints)
    back = decode(x, rest, initial_heading=heading_angle(local[0, 0]), initial_xz=root[0, [0, 2]])
    assert (back["joints_world"] - joints).norm(dim=-1).max() < 1e-3
