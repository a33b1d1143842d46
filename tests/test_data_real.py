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
