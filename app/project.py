"""Project files: the timeline JSON with its media bundled in a zip.

Layout: ``timeline.json`` (the spec, media paths relative to the zip root), ``media/<files>`` and,
for a timeline saved unfinished, ``editor_state.json`` (the editor's raw state, ignored on loading).
Loading refuses absolute or parent-relative member names, unexpected members, archives whose
uncompressed size is over ``MAX_PROJECT_BYTES``, members that inflate more than ``MAX_RATIO`` times
(zip bombs), damaged archives and timelines whose media paths point outside the bundle.
"""

from __future__ import annotations

import copy
import json
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from genmo.errors import ProjectError, one_line
from genmo.spec import LIBRARY_PREFIX, MAX_SPEC_BYTES, MEDIA_EXTENSIONS, load_spec

SPEC_NAME = "timeline.json"
STATE_NAME = "editor_state.json"
MEDIA_DIR = "media"
MAX_PROJECT_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 200
MAX_RATIO = 200  # uncompressed / compressed size allowed for members over RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
_MEDIA_SUFFIXES = {s for suffixes in MEDIA_EXTENSIONS.values() for s in suffixes}


def save_project(spec: dict[str, Any], path: str | Path, resolve: Any = Path,
                 editor_state: dict[str, Any] | None = None) -> Path:
    """Write ``spec`` (an editor spec dict) and every file it names into a zip at ``path``.

    ``resolve`` maps a path string from the spec to a local file (e.g. a PathGuard check);
    ``editor_state``, when given, is stored as it is in ``editor_state.json``.
    """
    path = Path(path)
    data = copy.deepcopy(spec)
    names: dict[Path, str] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for track in data.get("tracks", []):
            source = track.get("path") if isinstance(track, dict) else None
            if not source or str(source).startswith(LIBRARY_PREFIX):
                continue
            local = Path(resolve(source))
            if local not in names:
                stem = _safe_name(local.name)
                names[local] = f"{MEDIA_DIR}/{len(names):02d}_{stem}"
                zf.write(local, names[local])
            track["path"] = names[local]
        zf.writestr(SPEC_NAME, json.dumps(data, indent=2) + "\n")
        if editor_state is not None:
            zf.writestr(STATE_NAME, json.dumps(editor_state, indent=2) + "\n")
    return path


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return cleaned.lstrip(".") or "file"


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename
    pure = PurePosixPath(name)
    if name.startswith(("/", "\\")) or "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise ProjectError(f"project zip: refusing absolute member name {name!r}")
    if any(part == ".." for part in pure.parts):
        raise ProjectError(f"project zip: refusing member name with '..': {name!r}")
    if info.is_dir():
        return
    if name in (SPEC_NAME, STATE_NAME):
        return
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise ProjectError(f"project zip: member {name!r} inflates {info.file_size / max(info.compress_size, 1):.0f} "
                           f"times (limit {MAX_RATIO}): refusing a likely zip bomb")
    if len(pure.parts) != 2 or pure.parts[0] != MEDIA_DIR or pure.suffix.lower() not in _MEDIA_SUFFIXES:
        raise ProjectError(f"project zip: unexpected member {name!r} (expected {SPEC_NAME} and {MEDIA_DIR}/<media files>)")


def load_project(path: str | Path, dest: str | Path) -> dict[str, Any]:
    """Unpack a project zip (or read a bare spec JSON) into ``dest``; return the validated spec dict.

    Media paths in the returned dict are absolute paths under ``dest``.
    """
    path = Path(path)
    dest = Path(dest)
    if path.suffix.lower() == ".json":
        return load_spec(path, check_files=True).to_dict()
    if not zipfile.is_zipfile(path):
        raise ProjectError(f"{path.name}: not a project zip or timeline JSON")
    try:
        _unpack(path, dest)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        raise ProjectError(f"{path.name}: damaged zip ({one_line(err)})") from None
    spec = load_spec(dest / SPEC_NAME, check_files=True)
    root = dest.resolve()
    for i, track in enumerate(spec.tracks):
        media = getattr(track, "path", None)
        if media is not None and not str(media).startswith(LIBRARY_PREFIX) and not Path(media).resolve().is_relative_to(root):
            raise ProjectError(f"tracks[{i}] ({track.kind}): {Path(media).name} is outside the project zip; "
                               f"a project may only use its own media/ files")
    return spec.to_dict()


def _unpack(path: Path, dest: Path) -> None:
    """Check every member of the zip, then extract it into ``dest``."""
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise ProjectError(f"{path.name}: {len(members)} members is over the limit of {MAX_MEMBERS}")
        for info in members:
            _check_member(info)
        total = sum(info.file_size for info in members)
        if total > MAX_PROJECT_BYTES:
            raise ProjectError(f"{path.name}: {total / 2**20:.0f} MiB uncompressed is over the "
                               f"{MAX_PROJECT_BYTES / 2**20:.0f} MiB limit")
        if SPEC_NAME not in zf.namelist():
            raise ProjectError(f"{path.name}: no {SPEC_NAME} inside")
        for name in (SPEC_NAME, STATE_NAME):
            if name in zf.namelist() and zf.getinfo(name).file_size > MAX_SPEC_BYTES:
                raise ProjectError(f"{path.name}: {name} is too large")
        dest.mkdir(parents=True, exist_ok=True)
        for info in members:
            if info.is_dir():
                continue
            target = (dest / info.filename).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise ProjectError(f"project zip: member {info.filename!r} escapes the project folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                written = 0
                while block := src.read(1 << 20):
                    written += len(block)
                    if written > info.file_size:  # the header lied about the size
                        raise ProjectError(f"project zip: member {info.filename!r} is larger than declared")
                    out.write(block)
