"""Project files: the timeline JSON with its media bundled in a zip.

Layout: ``timeline.json`` (the spec, media paths relative to the zip root) and ``media/<files>``.
Loading refuses absolute or parent-relative member names, unexpected members and archives whose
uncompressed size is over ``MAX_PROJECT_BYTES``.
"""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from genmo.spec import LIBRARY_PREFIX, MAX_SPEC_BYTES, MEDIA_EXTENSIONS, load_spec

SPEC_NAME = "timeline.json"
MEDIA_DIR = "media"
MAX_PROJECT_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 200
_MEDIA_SUFFIXES = {s for suffixes in MEDIA_EXTENSIONS.values() for s in suffixes}


class ProjectError(ValueError):
    """A project file that cannot be read or written; one line for the user."""


def save_project(spec: dict[str, Any], path: str | Path, resolve: Any = Path) -> Path:
    """Write ``spec`` (an editor spec dict) and every file it names into a zip at ``path``.

    ``resolve`` maps a path string from the spec to a local file (e.g. a PathGuard check).
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
    if name == SPEC_NAME:
        return
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
        if zf.getinfo(SPEC_NAME).file_size > MAX_SPEC_BYTES:
            raise ProjectError(f"{path.name}: {SPEC_NAME} is too large")
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
    spec = load_spec(dest / SPEC_NAME, check_files=True)
    return spec.to_dict()
