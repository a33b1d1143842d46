"""Project files: the timeline JSON with its media bundled in a zip.

Layout: ``timeline.json`` (the spec, media paths relative to the zip root), ``media/<files>`` and,
for a timeline saved unfinished, ``editor_state.json`` (the editor's raw state, its media paths
relative to the zip root too; ``load_editor_state`` brings it back so the timeline loads whole).
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
                 editor_state: dict[str, Any] | None = None, resolve_state: Any = Path) -> Path:
    """Write ``spec`` (an editor spec dict) and every file it names into a zip at ``path``.

    ``resolve`` maps a path string from the spec to a local file (e.g. a PathGuard check);
    ``editor_state``, when given, is stored in ``editor_state.json`` with its media bundled too
    (``resolve_state`` checks its paths; a clip whose file cannot be used keeps an empty path).
    """
    path = Path(path)
    data = copy.deepcopy(spec)
    names: dict[Path, str] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def bundle(local: Path) -> str:
            if local not in names:
                names[local] = f"{MEDIA_DIR}/{len(names):02d}_{_safe_name(local.name)}"
                zf.write(local, names[local])
            return names[local]

        for track in data.get("tracks", []):
            source = track.get("path") if isinstance(track, dict) else None
            if source and not str(source).startswith(LIBRARY_PREFIX):
                track["path"] = bundle(Path(resolve(source)))
        zf.writestr(SPEC_NAME, json.dumps(data, indent=2) + "\n")
        if editor_state is not None:
            state = copy.deepcopy(editor_state)
            for track in state.get("tracks", []) if isinstance(state.get("tracks"), list) else []:
                source = track.get("path") if isinstance(track, dict) else None
                if not isinstance(source, str) or not source or source.startswith(LIBRARY_PREFIX):
                    continue
                try:
                    local = Path(resolve_state(source))
                    track["path"] = bundle(local) if local.is_file() else ""
                except (ValueError, OSError):
                    track["path"] = ""
            zf.writestr(STATE_NAME, json.dumps(state, indent=2) + "\n")
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


def load_project(path: str | Path, dest: str | Path, media_roots: list[Path] | None = None) -> dict[str, Any]:
    """Unpack a project zip (or read a bare spec JSON) into ``dest``; return the validated spec dict.

    Media paths in the returned dict are absolute paths under ``dest``. A bare JSON's relative
    media paths resolve against its own folder or, when its files are not there (an uploaded copy
    of ``examples/x.json``), against the first of ``media_roots`` that holds them all.
    """
    path = Path(path)
    dest = Path(dest)
    if path.suffix.lower() == ".json":
        return load_spec(path, base_dir=_json_base_dir(path, media_roots or []), check_files=True).to_dict()
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


def _json_base_dir(path: Path, roots: list[Path]) -> Path:
    """The folder a bare timeline JSON's relative media paths resolve against (see load_project)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size <= MAX_SPEC_BYTES else {}
    except (OSError, ValueError):
        return path.parent  # load_spec reports the problem
    tracks = data.get("tracks") if isinstance(data, dict) else None
    relative = [t["path"] for t in tracks or [] if isinstance(t, dict) and isinstance(t.get("path"), str)
                and t["path"] and not t["path"].startswith(LIBRARY_PREFIX) and not Path(t["path"]).is_absolute()]
    for base in [path.parent, *roots]:
        if all((Path(base) / p).is_file() for p in relative):
            return Path(base)
    return path.parent


def load_editor_state(dest: str | Path) -> dict[str, Any] | None:
    """The editor state of an unpacked unfinished project (``editor_state.json``), or None when it has none.

    Its media paths become absolute paths under ``dest``; one that names no file of the project
    becomes empty (the clip then asks for a file). The state is not validated: it is what the user
    was still editing.
    """
    dest = Path(dest)
    file = dest / STATE_NAME
    if not file.is_file():
        return None
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        raise ProjectError(f"{STATE_NAME}: not a valid timeline") from None
    if not isinstance(state, dict) or not isinstance(state.get("tracks"), list):
        raise ProjectError(f"{STATE_NAME}: not a valid timeline")
    media_dir = (dest / MEDIA_DIR).resolve()
    for track in state["tracks"]:
        media = track.get("path") if isinstance(track, dict) else None
        if not isinstance(media, str) or not media or media.startswith(LIBRARY_PREFIX):
            continue
        local = (dest / media).resolve()
        track["path"] = str(local) if local.is_relative_to(media_dir) and local.is_file() else ""
    return state


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
