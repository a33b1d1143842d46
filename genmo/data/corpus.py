"""The cached training corpus: build it from the motion sets, read it back, summarise it.

Layout of a corpus folder:
  index.json       {"version", "fps", "clips": [{id, source, group, split, start, length, fps,
                    labels, texts, has_music, foot}], "build": {...}}
  <source>.npz     poses (sumN, 24, 3) float32 SMPL local axis-angle, trans (sumN, 3) float32,
                   betas (10,) zeros; dance_with_melody also music (sumN, 35), music_mask (sumN,)
A clip's rows are [start, start + length) of its source's arrays; fps is always 30.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genmo.body.skeleton import FOOT_JOINTS
from genmo.data.sources import SOURCES, ClipTask, convert_task, list_tasks, split_of
from genmo.errors import UserInputError
from genmo.parallel import run_tasks

INDEX_NAME = "index.json"
VERSION = 1
FPS = 30.0


def _worker_init() -> None:
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


_REST: np.ndarray | None = None


def _run(args: tuple[ClipTask, bool]) -> tuple[ClipTask, dict | None, str | None]:
    global _REST
    task, with_music = args
    if _REST is None:
        from genmo.data.clip import default_rest_joints

        _REST = default_rest_joints()
    try:
        return task, convert_task(task, _REST, with_music), None
    except (ValueError, KeyError, IndexError, OSError, np.linalg.LinAlgError) as err:
        return task, None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def _collect(results, total: int, log) -> list:
    out, t0 = [], time.time()
    for i, r in enumerate(results, 1):
        out.append(r)
        if i % 250 == 0 or i == total:
            log(f"  {i}/{total} clips ({time.time() - t0:.0f} s)")
    return out


def _foot_stats(joints: np.ndarray) -> dict:
    low = joints[:, list(FOOT_JOINTS), 1].min(axis=1)
    return {"median_min_foot_height": round(float(np.median(low)), 4),
            "contact_fraction": round(float((low < 0.05).mean()), 3)}


def build_corpus(data_root: Path, out: Path, sources: tuple[str, ...] = SOURCES, workers: int = 2,
                 with_music: bool = True, limit: int | None = None, log=print) -> dict:
    """Convert every clip under data_root into ``out``; malformed files are skipped with a
    warning and counted, never abort the build. Returns the build summary."""
    t0 = time.time()
    data_root = Path(data_root)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = list_tasks(data_root, sources)
    if limit:
        per: dict[str, int] = {}
        tasks = [t for t in tasks if per.setdefault(t.source, 0) < limit and not per.__setitem__(t.source, per[t.source] + 1)]
    if not tasks:
        raise UserInputError(f"no motion sets found under {data_root} (expected {', '.join(f'{s}.tar.xz' for s in sources)})")
    log(f"converting {len(tasks)} clips from {data_root} with {workers} worker(s)")
    arrays: dict[str, dict[str, list]] = {}
    clips: list[dict] = []
    skipped: list[str] = []
    jobs = [(t, with_music) for t in tasks]
    if workers > 1:  # a worker that dies (OOM killer, a crash in native code) ends the build, naming its file
        results = _collect(run_tasks(_run, jobs, workers, describe=lambda job: job[0].path, initializer=_worker_init),
                           len(jobs), log)
    else:
        _worker_init()
        results = _collect(map(_run, jobs), len(jobs), log)
    for task, res, err in results:
        if res is None:
            warnings.warn(f"skipping {task.source}/{task.clip_id}: {err}", stacklevel=1)
            skipped.append(f"{task.source}/{task.clip_id}: {err}")
            continue
        store = arrays.setdefault(task.source, {"poses": [], "trans": [], "music": [], "music_mask": []})
        start = sum(len(p) for p in store["poses"])
        n = len(res["poses"])
        store["poses"].append(res["poses"])
        store["trans"].append(res["trans"])
        has_music = "music" in res
        if task.source == "dance_with_melody":
            store["music"].append(res.get("music", np.zeros((n, 35), np.float32)))
            store["music_mask"].append(res.get("music_mask", np.zeros(n, bool)))
        clips.append({"id": task.clip_id, "source": task.source, "group": task.group, "split": split_of(task.group),
                      "start": start, "length": n, "fps": FPS, "labels": task.labels, "texts": task.texts,
                      "has_music": has_music, "foot": _foot_stats(res["joints"])})
    for source, store in arrays.items():
        payload = {"poses": np.concatenate(store["poses"]).astype(np.float32),
                   "trans": np.concatenate(store["trans"]).astype(np.float32), "betas": np.zeros(10, np.float32)}
        if store["music"]:
            payload["music"] = np.concatenate(store["music"]).astype(np.float32)
            payload["music_mask"] = np.concatenate(store["music_mask"])
        np.savez(out / f"{source}.npz", **payload)
    build = {"seconds": round(time.time() - t0, 1), "clips": len(clips), "skipped": len(skipped),
             "skipped_files": skipped[:50], "data_root": str(data_root), "workers": workers}
    index = {"version": VERSION, "fps": FPS, "clips": clips, "build": build}
    (out / INDEX_NAME).write_text(json.dumps(index, indent=1))
    if skipped:
        log(f"warning: skipped {len(skipped)} malformed clip(s)")
    log(f"wrote {len(clips)} clips to {out} in {build['seconds']} s")
    return build


@dataclass
class Corpus:
    """A built corpus in memory: the index and the per-source arrays (and, for a pack made by
    genmo.data.pack, the file of its sentences' text-encoder states)."""

    root: Path
    clips: list[dict]
    arrays: dict[str, dict[str, np.ndarray]]
    build: dict
    text_states: Path | None = None

    def clip_arrays(self, clip: dict) -> dict[str, np.ndarray]:
        """poses (N, 24, 3), trans (N, 3) and, where present, music (N, 35) + music_mask of one clip."""
        src = self.arrays[clip["source"]]
        sl = slice(clip["start"], clip["start"] + clip["length"])
        out = {"poses": src["poses"][sl], "trans": src["trans"][sl]}
        if clip.get("has_music") and "music" in src:
            out["music"] = src["music"][sl]
            out["music_mask"] = src["music_mask"][sl]
        return out


def load_corpus(root: str | Path) -> Corpus:
    """Read a corpus folder written by build_corpus, or a pack of one (genmo.data.pack); errors
    name the missing file."""
    root = Path(root)
    index_path = root / INDEX_NAME
    if not index_path.is_file():
        raise UserInputError(f"{root}: not a corpus folder (no {INDEX_NAME}); build one with `python -m genmo data build --out DIR`")
    index = json.loads(index_path.read_text())
    if index.get("version") != VERSION:
        raise UserInputError(f"{index_path}: unsupported corpus version {index.get('version')!r}")
    if "pack" in index:
        from genmo.data.pack import load_pack

        return load_pack(root, index)
    arrays = {}
    for source in sorted({c["source"] for c in index["clips"]}):
        path = root / f"{source}.npz"
        if not path.is_file():
            raise UserInputError(f"{root}: corpus lacks {path.name}")
        with np.load(path, allow_pickle=False) as data:
            arrays[source] = {k: data[k] for k in data.files}
    return Corpus(root, index["clips"], arrays, index.get("build", {}))


def corpus_stats(corpus: Corpus) -> dict:
    """{"total_hours", "sources": {name: {"clips", "hours", foot stats}}, "splits": {...}, ...}."""
    sources: dict[str, dict] = {}
    splits = {"train": 0, "val": 0, "test": 0}
    split_hours = {"train": 0.0, "val": 0.0, "test": 0.0}
    for c in corpus.clips:
        hours = c["length"] / c["fps"] / 3600.0
        s = sources.setdefault(c["source"], {"clips": 0, "hours": 0.0, "_foot": [], "with_text": 0, "with_music": 0})
        s["clips"] += 1
        s["hours"] += hours
        s["_foot"].append(c.get("foot", {}))
        s["with_text"] += bool(c["texts"])
        s["with_music"] += bool(c.get("has_music"))
        splits[c["split"]] += 1
        split_hours[c["split"]] += hours
    for s in sources.values():
        feet = [f for f in s.pop("_foot") if f]
        s["hours"] = round(s["hours"], 3)
        if feet:
            s["median_min_foot_height_m"] = round(float(np.median([f["median_min_foot_height"] for f in feet])), 4)
            s["foot_contact_fraction"] = round(float(np.mean([f["contact_fraction"] for f in feet])), 3)
    return {"total_hours": round(sum(s["hours"] for s in sources.values()), 3), "sources": sources, "splits": splits,
            "split_hours": {k: round(v, 3) for k, v in split_hours.items()}, "fps": FPS,
            "build_seconds": corpus.build.get("seconds"), "skipped": corpus.build.get("skipped", 0)}
