"""Hostile project bundles (zip bombs, path traversal, absolute names, damaged archives, media paths
outside the bundle) and saving an unfinished timeline."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from app.media import PathGuard
from app.project import STATE_NAME, ProjectError, load_editor_state, load_project, save_project
from app.timeline import valid_part

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPEC = {"version": 1, "fps": 30, "duration": 4.0, "sampler": {"steps": 5, "guidance": 2.5, "seed": 0}}


def _zip(path: Path, members: dict[str, bytes], level: int = 9) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _spec(*tracks: dict) -> bytes:
    return json.dumps({**SPEC, "tracks": list(tracks)}).encode()


def test_zip_bomb_by_ratio_is_refused_before_extracting(tmp_path):
    bomb = _zip(tmp_path / "bomb.zip", {"timeline.json": _spec(), "media/a.wav": b"\0" * (64 * 2**20)})
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ProjectError, match="zip bomb"):
        load_project(bomb, tmp_path / "out")
    assert not (tmp_path / "out" / "media").exists()


def test_zip_over_the_total_size_is_refused_from_the_header(tmp_path, monkeypatch):
    """Members that each pass the ratio check but add up over MAX_PROJECT_BYTES (lowered to 4 MiB here)."""
    import random

    import app.project

    monkeypatch.setattr(app.project, "MAX_PROJECT_BYTES", 4 * 2**20)
    rng = random.Random(0)
    chunk = bytes(rng.getrandbits(8) for _ in range(1 << 14)) * 64  # 1 MiB compressing about 64:1
    members = {"timeline.json": _spec(), **{f"media/{i}.wav": chunk for i in range(5)}}
    with pytest.raises(ProjectError, match="over the 4 MiB limit"):
        load_project(_zip(tmp_path / "big.zip", members, level=1), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["../escape.wav", "media/../../escape.wav", "/etc/cron.d/evil.wav", "C:/x.wav",
                                  "media\\..\\x.wav", "media/inner.zip", "timeline.json/../../x.wav",
                                  "media/sub/dir.wav"])
def test_unsafe_member_names_are_refused(tmp_path, name):
    bundle = _zip(tmp_path / "evil.zip", {"timeline.json": _spec(), name: b"RIFF"})
    with pytest.raises(ProjectError):
        load_project(bundle, tmp_path / "out")
    assert not (tmp_path / "escape.wav").exists()


def test_damaged_zip_gives_a_project_error(tmp_path):
    good = _zip(tmp_path / "good.zip", {"timeline.json": _spec(), "media/a.wav": b"x" * 4000}, level=9)
    data = bytearray(good.read_bytes())
    for i in range(60, 90):  # corrupt the compressed stream of the first member, keep the directory
        data[i] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    assert zipfile.is_zipfile(damaged)
    with pytest.raises(ProjectError, match="damaged zip"):
        load_project(damaged, tmp_path / "out")


@pytest.mark.parametrize("path", ["/etc/passwd.wav", "../../secret.wav", "media/../../secret.wav"])
def test_spec_paths_outside_the_bundle_are_refused(tmp_path, path):
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    shutil.copy(EXAMPLES / "media" / "chorale.ogg", tmp_path / "secret.wav")
    track = {"kind": "music", "start": 0.0, "end": 2.0, "path": path, "offset": 0.0}
    bundle = _zip(tmp_path / "outside.zip", {"timeline.json": _spec(track)})
    dest = tmp_path / "projects" / "p1"
    with pytest.raises((ProjectError, ValueError), match="outside the project zip|file not found"):
        load_project(bundle, dest)


def test_unfinished_timeline_is_saved_with_its_valid_part(tmp_path):
    guard = PathGuard([EXAMPLES, tmp_path])
    song = str(EXAMPLES / "media" / "chorale.ogg")
    spec = {**SPEC, "tracks": [
        {"kind": "text", "start": 0.0, "end": 2.0, "text": "a person waves"},
        {"kind": "music", "start": 0.0, "end": 2.0, "path": "", "offset": 0.0},  # no file uploaded yet
        {"kind": "music", "start": 1.0, "end": 3.0, "path": song, "offset": 0.0},
        {"kind": "music", "start": 2.0, "end": 4.0, "path": song, "offset": 0.0},  # overlaps the one kept
        {"kind": "keyframe", "time": 1.0, "path": "/etc/passwd.npz", "frame": 0},  # outside the guard
    ]}
    valid, problems = valid_part(spec, guard)
    assert [t["kind"] for t in valid["tracks"]] == ["text", "music"]
    assert len(problems) == 3
    assert problems[0].startswith("clip #2 (music): path must be a non-empty string")
    assert problems[1].startswith("clip #4 (music): overlaps")
    assert problems[2].startswith("clip #5 (keyframe): passwd.npz: not an uploaded or example file")
    out = save_project(valid, tmp_path / "draft.zip", resolve=guard.check, editor_state=spec)
    with zipfile.ZipFile(out) as zf:
        state = json.loads(zf.read(STATE_NAME))
    assert [t["kind"] for t in state["tracks"]] == [t["kind"] for t in spec["tracks"]]
    assert [t.get("path") for t in state["tracks"]] == [None, "", "media/00_chorale.ogg", "media/00_chorale.ogg", ""]
    loaded = load_project(out, tmp_path / "reloaded")
    assert [t["kind"] for t in loaded["tracks"]] == ["text", "music"]
    whole = load_editor_state(tmp_path / "reloaded")  # the unfinished timeline comes back whole
    assert [t["kind"] for t in whole["tracks"]] == [t["kind"] for t in spec["tracks"]]
    assert whole["tracks"][2]["path"] == whole["tracks"][3]["path"] == str((tmp_path / "reloaded" / "media" / "00_chorale.ogg").resolve())
    assert whole["tracks"][1]["path"] == whole["tracks"][4]["path"] == ""


def test_an_editor_state_cannot_name_files_outside_the_project(tmp_path):
    dest = tmp_path / "p"
    (dest / "media").mkdir(parents=True)
    (dest / "media" / "a.ogg").write_bytes(b"x")
    (tmp_path / "secret.ogg").write_bytes(b"x")
    (dest / STATE_NAME).write_text(json.dumps({"tracks": [
        {"kind": "music", "path": "../secret.ogg"}, {"kind": "music", "path": "/etc/passwd"},
        {"kind": "music", "path": "timeline.json"}, {"kind": "music", "path": "media/a.ogg"}]}))
    (dest / "timeline.json").write_text("{}")
    paths = [t["path"] for t in load_editor_state(dest)["tracks"]]
    assert paths == ["", "", "", str((dest / "media" / "a.ogg").resolve())]
