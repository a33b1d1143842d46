"""The motion sets in the data folder: where they are, which clips they hold, and how each clip
becomes a labelled SMPL-24 clip. Archives (``<name>.tar.xz``) are unpacked once into a cache
folder outside the repository (``$GENMO_DATA_CACHE``, default ``~/.cache/genmo-data``)."""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np

SOURCES = ("bandai", "deepmimic", "cmu_iclone", "dance_with_melody")


@dataclass
class ClipTask:
    """One clip to convert: a picklable description (source, id, path) plus its labels."""

    source: str
    clip_id: str
    group: str
    path: str
    labels: dict = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)


def cache_root() -> Path:
    """Folder the archives are unpacked into (never inside the repository)."""
    return Path(os.environ.get("GENMO_DATA_CACHE", Path.home() / ".cache" / "genmo-data"))


def source_folder(data_root: Path, name: str) -> Path | None:
    """The unpacked folder of a motion set: data_root/name, the cache, or unpack the archive."""
    direct = data_root / name
    if direct.is_dir():
        return direct
    cached = cache_root() / name
    marker = cache_root() / f".{name}.unpacked"
    if cached.is_dir() and marker.exists():
        return cached
    archive = data_root / f"{name}.tar.xz"
    if not archive.is_file():
        return cached if cached.is_dir() else None
    cache_root().mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:xz") as tar:
        tar.extractall(cache_root(), filter="data")
    marker.touch()
    return cached


def split_of(group: str) -> str:
    """Fixed split by a hash of the take/clip group: 80% train, 10% val, 10% test."""
    h = int(hashlib.md5(group.encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 80 else "val" if h < 90 else "test"


def _bandai_tasks(folder: Path) -> list[ClipTask]:
    from genmo.data.labels import label_sentences

    tasks = []
    for path in sorted(folder.glob("*/data/*.bvh")):
        m = re.match(r"(dataset-\d)_(.+)_([^_]+)_(\d+)$", path.stem)
        if not m:
            continue
        part, content, style, _ = m.groups()
        tasks.append(ClipTask("bandai", path.stem, path.stem, str(path),
                              {"source": "bandai", "action": content, "style": style, "part": part},
                              label_sentences(content, style, seed=path.stem)))
    return tasks


def _deepmimic_tasks(folder: Path) -> list[ClipTask]:
    from genmo.data.labels import deepmimic_action, label_sentences

    tasks = []
    for path in sorted(folder.rglob("*.txt")):
        if "humanoid3d" not in path.name:
            continue
        action = deepmimic_action(path.stem)
        rel = path.relative_to(folder).with_suffix("").as_posix()
        group = re.sub(r"_mirror$", "", rel)
        tasks.append(ClipTask("deepmimic", rel, group, str(path),
                              {"source": "deepmimic", "action": action, "mirrored": rel.endswith("_mirror")},
                              label_sentences(action, None, seed=rel)))
    return tasks


def _cmu_tasks(folder: Path, data_root: Path) -> list[ClipTask]:
    from genmo.data.labels import description_sentences, read_cmu_descriptions, read_kitml_cmu

    desc_path = folder / "cmu_descriptions.csv"
    descriptions = read_cmu_descriptions(desc_path) if desc_path.is_file() else {}
    kit_path = data_root / "kitml" / "annotations.json"
    kit = read_kitml_cmu(kit_path) if kit_path.is_file() else {}
    tasks = []
    for path in sorted(folder.glob("subjects/*/*.bvh")):
        m = re.match(r"(\d+)_(\d+)$", path.stem)
        if not m:
            continue
        key = (int(m.group(1)), int(m.group(2)))
        desc = descriptions.get(key, "")
        texts = list(kit.get(key, [])) + description_sentences(desc, seed=path.stem)
        tasks.append(ClipTask("cmu_iclone", path.stem, path.stem, str(path),
                              {"source": "cmu_iclone", "subject": key[0], "trial": key[1], "description": desc,
                               "kitml": len(kit.get(key, []))}, texts))
    return tasks


def _dwm_tasks(folder: Path) -> list[ClipTask]:
    from genmo.data.labels import GENRES, dance_sentences

    tasks = []
    for path in sorted(folder.glob("DANCE_*")):
        if not (path / "skeletons.json").is_file():
            continue
        genre = path.name.split("_")[1]
        tasks.append(ClipTask("dance_with_melody", path.name, path.name, str(path),
                              {"source": "dance_with_melody", "genre": GENRES.get(genre, genre), "action": "dance"},
                              dance_sentences(genre, seed=path.name)))
    return tasks


def list_tasks(data_root: Path, sources: tuple[str, ...] = SOURCES) -> list[ClipTask]:
    """All clips of the requested sets that exist under data_root."""
    tasks: list[ClipTask] = []
    for name in sources:
        folder = source_folder(data_root, name)
        if folder is None:
            continue
        if name == "bandai":
            tasks += _bandai_tasks(folder)
        elif name == "deepmimic":
            tasks += _deepmimic_tasks(folder)
        elif name == "cmu_iclone":
            tasks += _cmu_tasks(folder, data_root)
        elif name == "dance_with_melody":
            tasks += _dwm_tasks(folder)
        else:
            raise ValueError(f"unknown motion set {name!r}; expected one of {', '.join(SOURCES)}")
    return tasks


def convert_task(task: ClipTask, rest_joints: np.ndarray, with_music: bool = True) -> dict:
    """Run one task: returns poses (N, 24, 3) axis-angle, trans (N, 3), joints (N, 24, 3) and,
    for dance, music (N, 35) + music_mask (N,). Raises ValueError on malformed input."""
    from genmo.motion.bvh import read_bvh
    from genmo.data.convert import bvh_to_clip
    from genmo.data.readers import deepmimic_to_clip, dwm_to_clip, read_dance_with_melody

    out: dict = {}
    if task.source in ("bandai", "cmu_iclone"):
        clip, joints = bvh_to_clip(read_bvh(task.path), rest_joints=rest_joints)
    elif task.source == "deepmimic":
        clip, joints = deepmimic_to_clip(task.path, rest_joints)
    elif task.source == "dance_with_melody":
        record = read_dance_with_melody(task.path)
        clip, joints = dwm_to_clip(record, rest_joints)
        out["music_start"] = record["music_start"]
        if with_music:
            out.update(_music_for(Path(task.path) / "audio.ogg", record["music_start"], clip.num_frames))
    else:
        raise ValueError(f"unknown source {task.source!r}")
    out.update(poses=clip.axis_angle(), trans=clip.trans, joints=joints.astype(np.float32))
    return out


def _music_for(audio: Path, start: float, num_frames: int) -> dict:
    """Music features at 30 fps aligned with the dance (computed by genmo.conditions.music)."""
    from genmo.conditions.music import music_features

    feats = music_features(audio, fps=30.0, offset=start, duration=num_frames / 30.0)
    f, mask = feats.features, feats.frame_mask
    if len(f) != num_frames:
        pad = num_frames - len(f)
        f = np.pad(f, ((0, max(pad, 0)), (0, 0)))[:num_frames]
        mask = np.pad(mask, (0, max(pad, 0)))[:num_frames]
    return {"music": f.astype(np.float32), "music_mask": mask.astype(bool)}

