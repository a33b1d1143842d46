"""The timeline spec: parsing, validation messages, paths and round trips."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from genmo.spec import (
    MAX_DURATION_S,
    MAX_TEXT_CHARS,
    MAX_TRACKS,
    KeyframeTrack,
    MusicTrack,
    SpecError,
    TextTrack,
    load_spec,
    save_spec,
)

DESIGN_EXAMPLE = {
    "version": 1, "fps": 30, "duration": 8.0,
    "sampler": {"steps": 5, "guidance": 2.5, "seed": 0},
    "tracks": [
        {"kind": "text", "start": 0.0, "end": 4.0, "text": "a person walks forward"},
        {"kind": "music", "start": 4.0, "end": 8.0, "path": "song.wav", "offset": 0.0},
        {"kind": "video", "start": 0.0, "end": 3.0, "path": "clip.mp4", "offset": 0.0},
        {"kind": "keypoints2d", "start": 0.0, "end": 3.0, "path": "kp.npz"},
        {"kind": "keyframe", "time": 6.0, "path": "pose.npz", "frame": 0},
    ],
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("song.wav", "clip.mp4", "kp.npz", "pose.npz"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "spec.json").write_text(json.dumps(DESIGN_EXAMPLE))
    return tmp_path


def _with(**changes) -> dict:
    data = copy.deepcopy(DESIGN_EXAMPLE)
    data.update(changes)
    return data


def _track(index: int, **changes) -> dict:
    data = copy.deepcopy(DESIGN_EXAMPLE)
    data["tracks"][index].update(changes)
    return data


def _error(data: dict, **kwargs) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(data, check_files=kwargs.pop("check_files", False), **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_design_example_loads_with_paths_resolved_against_the_spec_folder(project: Path) -> None:
    spec = load_spec(project / "spec.json")
    assert spec.fps == 30 and spec.duration == 8.0 and spec.num_frames == 240
    assert (spec.sampler.steps, spec.sampler.guidance, spec.sampler.seed) == (5, 2.5, 0)
    assert [t.kind for t in spec.tracks] == ["text", "music", "video", "keypoints2d", "keyframe"]
    music = spec.tracks[1]
    assert isinstance(music, MusicTrack) and music.path == project / "song.wav"
    assert isinstance(spec.tracks[4], KeyframeTrack) and spec.tracks[4].frame == 0
    assert spec.tracks[3].offset == 0.0  # optional field filled in


def test_round_trip_through_save_keeps_relative_paths(project: Path) -> None:
    spec = load_spec(project / "spec.json")
    out = save_spec(spec, project / "copy.json")
    written = json.loads(out.read_text())
    assert written["tracks"][1]["path"] == "song.wav"
    assert load_spec(out).to_dict() == spec.to_dict()
    expected = copy.deepcopy(DESIGN_EXAMPLE)
    expected["tracks"][3]["offset"] = 0.0
    expected["tracks"][2]["fast"] = False  # optional fields are written out
    assert written == expected


def test_dict_source_uses_base_dir(project: Path) -> None:
    spec = load_spec(DESIGN_EXAMPLE, base_dir=project)
    assert spec.tracks[2].path == project / "clip.mp4"


def test_missing_file_is_reported_only_when_checking(project: Path) -> None:
    (project / "song.wav").unlink()
    with pytest.raises(SpecError, match=r"tracks\[1\] \(music\): file not found: song.wav"):
        load_spec(project / "spec.json")
    assert load_spec(project / "spec.json", check_files=False).tracks[1].path.name == "song.wav"


def test_issue_example_message() -> None:
    message = _error(_track(1, start=4.0, end=3.0))
    assert message == "tracks[1] (music): end 3 must be greater than start 4"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (_with(version=2), r"version: 2 is not supported"),
        (_with(version=True), r"version: true is not supported"),
        ({k: v for k, v in DESIGN_EXAMPLE.items() if k != "duration"}, r"spec: missing field 'duration'"),
        (_with(extra=1), r"spec: unknown field 'extra'"),
        (_with(fps=31), r"fps must be one of .*the model runs at 30 fps"),
        (_with(fps="30"), r"fps must be an integer"),
        (_with(duration=MAX_DURATION_S + 1), r"duration must be in"),
        (_with(duration=0), r"duration must be in"),
        (_with(duration=float("nan")), r"duration must be finite"),
        (_with(sampler={"steps": 0}), r"sampler.steps must be in 1..50, got 0"),
        (_with(sampler={"steps": 51}), r"sampler.steps must be in 1..50"),
        (_with(sampler={"steps": 2.5}), r"sampler.steps must be an integer"),
        (_with(sampler={"guidance": 11}), r"sampler.guidance must be in 0..10"),
        (_with(sampler={"seed": -1}), r"sampler.seed must be in"),
        (_with(sampler={"temperature": 1}), r"sampler: unknown field 'temperature'"),
        (_with(tracks={}), r"tracks must be a list"),
        (_with(tracks=[{"kind": "text", "start": 0, "end": 1, "text": "x"}] * (MAX_TRACKS + 1)), r"over the limit"),
        (_with(tracks=["text"]), r"tracks\[0\] must be an object"),
        (_track(0, kind="smell"), r"tracks\[0\]: unknown kind \"smell\""),
        (_track(0, colour="red"), r"tracks\[0\] \(text\): unknown field 'colour'"),
        (_track(0, start="0"), r"tracks\[0\] \(text\): start must be a number"),
        (_track(0, start=True), r"tracks\[0\] \(text\): start must be a number"),
        (_track(0, text=""), r"tracks\[0\] \(text\): text is empty"),
        (_track(0, text=3), r"tracks\[0\] \(text\): text must be a string"),
        (_track(0, text="a" * (MAX_TEXT_CHARS + 1)), r"characters \(limit"),
        (_track(0, end=9.0), r"tracks\[0\] \(text\): window 0..9 is outside the timeline 0..8"),
        (_track(0, start=-1.0), r"outside the timeline"),
        (_track(1, path="song.txt"), r"tracks\[1\] \(music\): unsupported file format '.txt'"),
        (_track(2, path="clip"), r"tracks\[2\] \(video\): unsupported file format '\(none\)'"),
        (_track(2, path=""), r"tracks\[2\] \(video\): path must be a non-empty string"),
        (_track(2, offset=-1), r"offset must be >= 0"),
        (_track(2, fast="yes"), r"tracks\[2\] \(video\): fast must be true or false, got \"yes\""),
        (_track(2, fast=1), r"fast must be true or false, got 1"),
        (_track(1, fast=True), r"tracks\[1\] \(music\): unknown field 'fast'"),
        (_track(3, path="kp.json"), r"tracks\[3\] \(keypoints2d\): unsupported file format"),
        (_track(4, time=9.0), r"tracks\[4\] \(keyframe\): time 9 is outside"),
        (_track(4, frame=-1), r"frame must be >= 0"),
        (_track(4, frame=1.5), r"frame must be an integer"),
    ],
)
def test_bad_specs_name_the_field(data: dict, pattern: str) -> None:
    assert _error(data)
    with pytest.raises(SpecError, match=pattern):
        load_spec(data, check_files=False)


def test_a_video_clip_can_ask_for_the_fast_front_end(project: Path) -> None:
    from genmo.conditions.frontend import EVERY_FRAME, FAST
    from genmo.conditions.video import clip_options

    plain = load_spec(_track(2), base_dir=project).tracks_of("video")[0]
    fast = load_spec(_track(2, fast=True), base_dir=project)
    assert plain.fast is False and fast.tracks_of("video")[0].fast is True
    assert fast.to_dict()["tracks"][2]["fast"] is True and load_spec(fast.to_dict()).tracks_of("video")[0].fast
    assert clip_options(plain, None) == EVERY_FRAME and clip_options(plain, FAST) == FAST  # `estimate --fast`
    assert clip_options(fast.tracks_of("video")[0], None) == FAST


def test_missing_track_field() -> None:
    data = copy.deepcopy(DESIGN_EXAMPLE)
    del data["tracks"][1]["path"]
    assert _error(data) == "tracks[1] (music): missing field 'path'"


def test_text_windows_may_overlap_but_music_may_not() -> None:
    data = copy.deepcopy(DESIGN_EXAMPLE)
    data["tracks"].append({"kind": "text", "start": 2.0, "end": 6.0, "text": "and waves"})
    spec = load_spec(data, check_files=False)
    assert [t.text for t in spec.tracks_of("text")] == ["a person walks forward", "and waves"]
    data["tracks"].append({"kind": "music", "start": 7.0, "end": 8.0, "path": "b.wav"})
    assert _error(data).startswith("tracks[6] (music): overlaps tracks[1] (music)")


def test_touching_clips_are_fine_and_keyframes_on_one_frame_are_not() -> None:
    data = copy.deepcopy(DESIGN_EXAMPLE)
    data["tracks"].append({"kind": "video", "start": 3.0, "end": 5.0, "path": "b.mp4"})
    assert len(load_spec(data, check_files=False).tracks_of("video")) == 2
    data["tracks"].append({"kind": "keyframe", "time": 6.01, "path": "b.npz"})
    assert "falls on the same frame as tracks[4] (keyframe)" in _error(data)


def test_empty_timeline_is_unconditional_and_defaults_fill_in() -> None:
    spec = load_spec({"version": 1, "duration": 2.0, "tracks": []})
    assert spec.is_unconditional and spec.fps == 30 and spec.sampler.steps == 5
    assert isinstance(load_spec(DESIGN_EXAMPLE, check_files=False).tracks[0], TextTrack)


def test_bad_json_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"version": 1,,}')
    with pytest.raises(SpecError, match=r"bad.json: invalid JSON at line 1"):
        load_spec(path)
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "none.json")
    path.write_text("[1, 2]")
    with pytest.raises(SpecError, match="spec must be a JSON object"):
        load_spec(path)


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(SpecError, ValueError)
