"""A small run of scripts/load_test.py: 4 loopback clients x 2 requests of a 2 s timeline, 1 step,
then 10 short generations; no failures, queue positions shown, RSS under 4 GB, temp files bounded."""

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


def test_percentile():
    lt = _load_script()
    assert lt.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert lt.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)


def test_small_load_run(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYOPENGL_PLATFORM", os.environ.get("PYOPENGL_PLATFORM", "osmesa"))
    lt = _load_script()
    out = tmp_path / "load.json"
    code = lt.main(["--clients", "4", "--requests", "2", "--duration", "2", "--steps", "1", "--timeout", "300",
                    "--churn", "10", "--keep-runs", "4", "--delete-cache", "2", "4", "--json", str(out)])
    report = json.loads(out.read_text())
    print(json.dumps({k: report[k] for k in ("failures", "p50_s", "p95_s", "peak_rss_mb", "queue_ranks_seen", "churn")}))
    assert code == 0 and report["passed"]
    assert report["completed"] == 8 and report["failures"] == 0
    assert report["queue_ranks_seen"] and max(report["queue_ranks_seen"]) >= 1  # later requests waited in line
    assert report["p95_s"] >= report["p50_s"] > 0
    assert report["peak_rss_mb"] < 4096
    churn = report["churn"]
    assert churn["failures"] == 0 and churn["run_folders"] == 4
    idle = next(v for k, v in churn.items() if k.startswith("files_after_") and k.endswith("s_idle"))
    assert idle <= 4 * 6, f"{idle} files left after gradio's cache clean-up"
