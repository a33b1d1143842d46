"""The bench command: one JSON object with every required key, numbers where measured."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from genmo.bench import QUICK, REQUIRED_KEYS, median_seconds, required_keys, synthetic_keypoints
from genmo.commands.bench import run
from genmo.paths import repo_root


@pytest.mark.slow  # about 6 s on an idle 2-core CPU, 15-20 s under load
def test_bench_quick_json_has_every_key_with_numbers() -> None:
    proc = subprocess.run([sys.executable, "-m", "genmo", "bench", "--quick", "--json"], cwd=repo_root(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    keys = required_keys(QUICK)
    missing = [k for k in keys if k not in report]
    assert not missing, missing
    assert "gen_30f_5steps_ms" in keys and "gen_300f_5steps_ms" not in report  # named by what --quick measures
    for key in keys:
        if key == "pose_ms_per_frame":
            assert report[key] is None or report[key] > 0
            continue
        assert isinstance(report[key], (int, float)) and report[key] > 0, (key, report[key])
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["torch_threads"] >= 1 and machine["cpu"]
    assert report["quick"] is True


def test_bench_rejects_bad_threads() -> None:
    args = argparse.Namespace(threads=0, json=True, quick=True, checkpoint=None)
    with pytest.raises(ValueError, match="threads"):
        run(args)


def test_median_seconds_runs_warmup_and_repeats() -> None:
    calls = []
    assert median_seconds(lambda: calls.append(1), repeats=3, warmup=2) >= 0
    assert len(calls) == 5


def test_synthetic_keypoints_load_as_an_observation(tmp_path) -> None:
    from genmo.conditions.keypoints2d import load_keypoints2d

    obs = load_keypoints2d(synthetic_keypoints(tmp_path / "kp.npz", 90))
    assert obs.num_frames == 90 and obs.person_found.all()
    assert np.ptp(obs.keypoints[:, 0, 0]) > 10  # the figure moves


def test_paired_ratio_of_a_double_workload_is_about_two() -> None:
    from genmo.bench import paired_ratio

    def work(n: int) -> None:
        sum(i * i for i in range(n))

    ratio, top, bottom = paired_ratio(lambda: work(400_000), lambda: work(200_000), repeats=5)
    assert 1.3 < ratio < 3.0 and top > bottom > 0


def test_full_bench_keys_name_the_full_sizes() -> None:
    assert REQUIRED_KEYS[2:7] == ("gen_300f_5steps_ms", "est_1800f_1step_ms", "scale_3600_over_1800",
                                  "dense_over_window_3600", "render_fps_640x480")
