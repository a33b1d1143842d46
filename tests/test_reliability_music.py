"""Music extraction that cannot crash another process: no pitch tracking, and numba's compiled code
cached in the project's per-user cache folder, compiled under a lock (genmo.conditions.librosa_setup).

Before the fix, `librosa.feature.chroma_cens` estimated the tuning with `piptrack` (a numba gufunc)
and numba cached its machine code inside librosa's folder in site-packages, shared by every process
of the environment; a cache written by one process while another compiled crashed the next run
with a segmentation fault in that gufunc.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genmo.conditions.music import CHROMA_COLUMNS, MUSIC_DIM, music_features_from_array, sample_rate_for

REPO = Path(__file__).resolve().parent.parent
CHORALE = REPO / "examples" / "media" / "chorale.ogg"
HANG_GUARD_S = 900  # a bound against a hang only (a cold numba compile takes ~10-40 s)


def _chords(seconds: float = 3.0) -> tuple[np.ndarray, int]:
    sr = sample_rate_for(30.0)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) * 0.2
    y[(np.arange(0.0, seconds, 0.5) * sr).astype(int)] += 1.0
    return y.astype(np.float32), sr


def test_features_need_no_pitch_tracking(monkeypatch):
    from genmo.conditions.music import _librosa

    librosa = _librosa()  # through the project's loader, so librosa's numba cache is set up first
    import librosa.core.constantq
    import librosa.core.pitch

    def forbidden(*_args, **_kwargs):
        raise AssertionError("pitch tracking was called")

    for module, name in ((librosa.core.constantq, "estimate_tuning"), (librosa.core.pitch, "estimate_tuning"),
                         (librosa.core.pitch, "piptrack"), (librosa, "estimate_tuning"), (librosa, "piptrack")):
        monkeypatch.setattr(module, name, forbidden)
    y, sr = _chords()
    feats = music_features_from_array(y, sr, 30.0)
    assert feats.features.shape == (90, MUSIC_DIM)
    chroma = feats.features[:, CHROMA_COLUMNS]
    assert np.isfinite(chroma).all() and 0.0 <= chroma.min() and chroma.max() <= 1.0
    # A major chord on A: the A, C# and E bins (9, 1, 4 counted from C) carry the most energy.
    assert set(np.argsort(chroma.mean(axis=0))[-3:]) == {9, 1, 4}


CHILD = r"""
import hashlib, json, os, sys
from pathlib import Path
import numpy as np
from genmo.conditions.music import _librosa, music_features, music_features_from_array, sample_rate_for

def snapshot(root):
    return sorted((str(p), p.stat().st_mtime_ns) for p in Path(root).rglob("*") if p.suffix in (".nbi", ".nbc"))

librosa = _librosa()  # imports librosa and compiles (or loads) under the cache folder's lock
cache = os.environ["NUMBA_CACHE_DIR"]
before = snapshot(cache)
sr = sample_rate_for(30.0)
t = np.arange(3 * sr) / sr
tone = (np.sin(2 * np.pi * 330.0 * t) * 0.3).astype(np.float32)
digest = hashlib.sha256()
for feats in (music_features(sys.argv[1], use_cache=False), music_features(sys.argv[1], fps=20.0, use_cache=False),
              music_features_from_array(np.stack([tone, tone]), sr, 30.0)):
    digest.update(feats.features.tobytes())
print(json.dumps({"digest": digest.hexdigest(), "cache": cache, "writes_after_warm_up": len(set(snapshot(cache)) - set(before))}))
"""


def _site_packages_cache() -> set[tuple[str, int]]:
    """numba cache files inside librosa's installed folder (where they used to be written)."""
    folder = Path(importlib.util.find_spec("librosa").origin).parent
    return {(str(p), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")}


@pytest.mark.slow  # compiles librosa's numba code from an empty cache
def test_two_processes_extract_music_at_once_twice_from_an_empty_cache(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(GENMO_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    site_before = _site_packages_cache()
    rounds = []
    for _ in range(2):
        procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(CHORALE)], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=HANG_GUARD_S) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, f"exit code {p.returncode} (negative: killed by that signal)\n{err[-3000:]}"
        rounds.append([json.loads(out.strip().splitlines()[-1]) for out, _ in outs])
        if len(rounds) == 1:
            cached = {(str(p), p.stat().st_mtime_ns) for p in (tmp_path / "cache" / "numba").rglob("*")
                      if p.suffix in (".nbi", ".nbc")}
    print(json.dumps(rounds))
    results = [r for pair in rounds for r in pair]
    assert len({r["digest"] for r in results}) == 1  # the same features in every process and round
    assert all(Path(r["cache"]).is_relative_to(tmp_path / "cache" / "numba") for r in results)
    assert all(r["writes_after_warm_up"] == 0 for r in results)  # nothing compiled outside the lock
    assert cached, "numba cached nothing in the project's cache folder"
    warm = {(str(p), p.stat().st_mtime_ns) for p in (tmp_path / "cache" / "numba").rglob("*")
            if p.suffix in (".nbi", ".nbc")}
    assert warm == cached  # the second round only read the cache
    assert _site_packages_cache() == site_before  # nothing written inside site-packages
