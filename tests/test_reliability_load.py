"""A small run of scripts/load_test.py: 4 loopback pages x 2 requests of a 2 s timeline, 1 step,
then 10 generations by pages that come and go; every file of every result downloads, no request
fails, queue positions are shown, RSS stays under 4 GB and the closed pages' results are removed."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("gradio_client")
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "load_test.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_percentile_and_result_files():
    lt = _load_script()
    assert lt.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert lt.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    mp4 = {"path": "/r/render.mp4", "url": "http://h/file=/r/render.mp4"}
    npz = {"path": "/r/motion.npz", "url": "http://h/file=/r/motion.npz"}
    found = lt.result_files(({"__type__": "update", "value": mp4}, None, [npz], "Done in 1 s", 7))
    assert sorted(f["path"] for f in found) == ["/r/motion.npz", "/r/render.mp4"]


def test_small_load_run(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYOPENGL_PLATFORM", os.environ.get("PYOPENGL_PLATFORM", "osmesa"))
    lt = _load_script()
    out = tmp_path / "load.json"
    code = lt.main(["--clients", "4", "--requests", "2", "--duration", "2", "--steps", "1", "--timeout", "600",
                    "--churn", "10", "--settle", "600", "--json", str(out)])
    report = json.loads(out.read_text())
    print(json.dumps({k: report.get(k) for k in ("failures", "missing_files", "files_downloaded", "p50_s", "p95_s",
                                                 "rss_start_mb", "rss_end_mb", "peak_rss_mb", "peak_disk_mb",
                                                 "queue_ranks_seen", "churn", "run_folders_after_settle")}))
    assert code == 0 and report["passed"]
    assert report["completed"] == 8 and report["failures"] == 0 and report["missing_files"] == 0
    assert report["files_downloaded"] >= 8 * 3  # npz, glb and mp4 of every result at least
    assert report["queue_ranks_seen"] and max(report["queue_ranks_seen"]) >= 1  # later requests waited in line
    assert report["p95_s"] >= report["p50_s"] > 0
    assert report["peak_rss_mb"] < 4096
    churn = report["churn"]
    assert churn["completed"] == 10 and churn["failures"] == 0 and churn["missing_files"] == 0
    assert report["run_folders_after_settle"] == 0  # every page closed: nothing of theirs is left
