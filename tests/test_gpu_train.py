"""scripts/gpu_train.py, the prepared GPU run, on the CPU: a small pack, a short budget, a loadable checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from genmo.conditions.text import TextEncoder
from genmo.data.pack import build_pack
from genmo.paths import repo_root
from genmo.pipeline import GenmoPipeline
from tests.test_data_pack import _write_corpus

ROOT = repo_root()


@pytest.mark.slow
def test_budgeted_run_on_a_pack_exports_a_loadable_checkpoint(tmp_path) -> None:
    _write_corpus(tmp_path / "corpus")
    build_pack(tmp_path / "corpus", tmp_path / "pack", encoder=TextEncoder(disk_cache=False), log=lambda _: None)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "scripts/gpu_train.py", "--pack", str(tmp_path / "pack"), "--out", str(out),
                          "--budget-s", "40", "--config", "configs/tiny.json", "--batch-size", "4", "--workers", "1",
                          "--run-dir", str(tmp_path / "run")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["device"] == "cpu" and summary["step"] == summary["planned_steps"] >= 1
    assert set(summary["files"]) == {"config.json", "model.safetensors", "normalizer.safetensors", "log.jsonl"}
    assert json.loads((out / "summary.json").read_text())["step"] == summary["step"]
    assert not (out / "optimizer.pt").exists()  # the full run folder stays behind
    pipe = GenmoPipeline.from_pretrained(out)
    assert pipe.config.train.steps == summary["step"]
    res = subprocess.run([sys.executable, "scripts/gpu_train.py", "--pack", str(tmp_path / "missing"), "--out",
                          str(tmp_path / "o2"), "--budget-s", "30", "--config", "configs/tiny.json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and res.stderr.startswith("error:") and "missing" in res.stderr
