"""Studio helpers without a server: projects, media checks, path guard, timeline state, mask plots."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gradio")

from app import project as project_mod  # noqa: E402
from app.examples import EXAMPLES, EXAMPLES_DIR, load_example  # noqa: E402
from app.generation import RunSettings, plot_condition_masks, validated_spec  # noqa: E402
from app.media import MediaError, PathGuard, inspect_media  # noqa: E402
from app.project import ProjectError, load_project, save_project  # noqa: E402
from app.timeline import describe, fit_to_duration, guarded  # noqa: E402
from genmo.spec import SpecError, load_spec  # noqa: E402

MEDIA = EXAMPLES_DIR / "media"


def test_every_example_is_a_valid_spec_with_its_media():
    for name in EXAMPLES:
        spec = load_example(name)
        assert load_spec(spec, check_files=True).tracks
    kinds = {t["kind"] for name in EXAMPLES for t in load_example(name)["tracks"]}
    assert kinds == {"text", "music", "video", "keypoints2d", "keyframe"}


def test_project_round_trip(tmp_path):
    spec = load_example("mix")
    path = save_project(spec, tmp_path / "p.zip")
    with zipfile.ZipFile(path) as zf:
        inner = json.loads(zf.read("timeline.json"))
        assert sorted(n.split("_", 1)[1] for n in zf.namelist() if n.startswith("media/")) == [
            "chorale.ogg", "wave_keypoints.npz"]
    assert inner["tracks"][-1]["path"] == "library:arms_up"
    loaded = load_project(path, tmp_path / "out")
    assert [t["kind"] for t in loaded["tracks"]] == [t["kind"] for t in spec["tracks"]]
    music = next(t for t in loaded["tracks"] if t["kind"] == "music")
    assert Path(music["path"]).parent == (tmp_path / "out" / "media") and music["offset"] == 1.0


@pytest.mark.parametrize(("member", "pattern"), [
    ("../evil.wav", "'..'"),
    ("/abs/evil.wav", "absolute"),
    ("media/../../x.wav", "'..'"),
    ("C:/x.wav", "absolute"),
    ("notes.txt", "unexpected member"),
    ("media/run.sh", "unexpected member"),
])
def test_project_refuses_unsafe_members(tmp_path, member, pattern):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("timeline.json", json.dumps(load_example("text_only")))
        zf.writestr(member, b"x")
    with pytest.raises(ProjectError, match=pattern):
        load_project(bad, tmp_path / "out")
    assert not (tmp_path / "evil.wav").exists()


def test_project_size_bound_and_bad_files(tmp_path, monkeypatch):
    path = save_project(load_example("text_then_music"), tmp_path / "p.zip")
    monkeypatch.setattr(project_mod, "MAX_PROJECT_BYTES", 1000)
    with pytest.raises(ProjectError, match="uncompressed is over"):
        load_project(path, tmp_path / "out")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ProjectError, match="not a project zip"):
        load_project(junk, tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("media/a.wav", b"x")
    with pytest.raises(ProjectError, match="no timeline.json"):
        load_project(tmp_path / "empty.zip", tmp_path / "out2")


def test_path_guard(tmp_path):
    guard = PathGuard([tmp_path])
    inside = tmp_path / "a.wav"
    inside.write_bytes(b"x")
    assert guard.check(str(inside)) == inside.resolve()
    with pytest.raises(MediaError, match="not an uploaded or example file"):
        guard.check("/etc/passwd")
    with pytest.raises(MediaError, match="not an uploaded or example file"):
        guard.check(str(tmp_path / ".." / "elsewhere.wav"))
    assert str(guard.check("library:squat")) == "library:squat"


def test_guarded_names_the_clip(tmp_path):
    spec = load_example("text_then_music")
    with pytest.raises(MediaError, match=r"tracks\[1\] \(music\): chorale.ogg: not an uploaded"):
        guarded(spec, PathGuard([tmp_path]))
    ok, text = describe(spec, PathGuard([EXAMPLES_DIR]))
    assert ok and text == "8 s at 30 fps: 1 text clip, 1 music clip"


def test_a_fast_video_clip_is_saved_described_and_reaches_the_pipeline(tmp_path):
    spec = load_example("video_estimation")
    spec["tracks"][0]["fast"] = True
    guard = PathGuard([EXAMPLES_DIR])
    assert describe(spec, guard) == (True, "3 s at 30 fps: 1 video clip (fast)")
    twice = {**spec, "duration": 6.0, "tracks": [spec["tracks"][0], {**spec["tracks"][0], "start": 3.0, "end": 6.0, "fast": False}]}
    assert describe(twice, guard)[1] == "6 s at 30 fps: 2 video clips (1 fast)"
    assert validated_spec(guarded(spec, guard), RunSettings(5, 2.5, 0)).tracks_of("video")[0].fast is True
    loaded = load_project(save_project(spec, tmp_path / "p.zip"), tmp_path / "out")
    assert loaded["tracks"][0]["fast"] is True
    plain = load_project(save_project(load_example("video_estimation"), tmp_path / "q.zip"), tmp_path / "out2")
    assert plain["tracks"][0]["fast"] is False  # the default, written out on load
    assert describe(plain, PathGuard([tmp_path / "out2"]))[1] == "3 s at 30 fps: 1 video clip"


def test_media_checks(tmp_path):
    video = inspect_media(MEDIA / "mannequin.mp4", "video")
    assert video["width"] == 320 and abs(video["duration"] - 3.0) < 0.1
    assert video["thumbs"] and all(t["src"].startswith("data:image/jpeg;base64,") for t in video["thumbs"])
    kp = inspect_media(MEDIA / "wave_keypoints.npz", "keypoints2d")
    assert kp["frames"] == 90
    assert inspect_media(MEDIA / "squat_pose.npz", "keyframe")["frames"] == 1
    assert "squat" in inspect_media("library:squat", "keyframe")["summary"]
    with pytest.raises(MediaError, match="unsupported format .npz for video"):
        inspect_media(MEDIA / "squat_pose.npz", "video")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="the file is empty"):
        inspect_media(empty, "video")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00" * 4096)
    with pytest.raises(MediaError, match="corrupt.mp4"):
        inspect_media(corrupt, "video")
    wrong = tmp_path / "kp.npz"
    np.savez(wrong, something=np.zeros(3))
    with pytest.raises(MediaError, match="missing 'keypoints'"):
        inspect_media(wrong, "keypoints2d")


@pytest.mark.slow
def test_audio_waveform_and_beats(tmp_path):
    info = inspect_media(MEDIA / "chorale.ogg", "music")
    assert abs(info["duration"] - 8.0) < 0.1 and len(info["peaks"]) >= 150 and max(info["peaks"]) == 1.0
    assert 90 <= info["tempo"] <= 130 and len(info["beats"]) >= 8
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + b"\x01" * 100)
    with pytest.raises(MediaError, match="bad.wav"):
        inspect_media(bad, "music")


def test_fit_to_duration_trims_and_drops():
    spec = load_example("mix")
    fitted = fit_to_duration(spec, 3.5, 25)
    assert fitted["duration"] == 3.5 and fitted["fps"] == 25
    assert [(t["kind"], t.get("end")) for t in fitted["tracks"]] == [
        ("keypoints2d", 3.0), ("text", 3.5), ("text", 3.5)]
    assert spec["duration"] == 8.0  # the input is untouched


def test_validated_spec_uses_panel_settings_and_can_drop_conditions():
    spec = load_example("mix")
    parsed = validated_spec(spec, RunSettings(7, 1.5, 42))
    assert (parsed.sampler.steps, parsed.sampler.guidance, parsed.sampler.seed) == (7, 1.5, 42)
    dropped = validated_spec(spec, RunSettings(5, 2.5, 0, drop_conditions=True))
    assert [t.kind for t in dropped.tracks] == ["keyframe"]
    with pytest.raises(SpecError, match="sampler.steps must be in 1..50"):
        validated_spec(spec, RunSettings(0, 2.5, 0))


def test_mask_plot(tmp_path):
    from PIL import Image

    spec = load_spec(load_example("mix"))
    n = spec.num_frames
    windows = np.zeros((2, n), bool)
    windows[0, :120], windows[1, 90:] = True, True
    masks = {"music": np.arange(n) >= 120, "kp2d": np.arange(n) < 90}
    path = plot_condition_masks(masks, windows, spec, tmp_path / "m.png")
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape[1] == 900 and img.shape[0] > 80
    assert (np.abs(img.astype(int) - (219, 39, 119)).sum(-1) < 10).any()  # music colour is drawn


def test_the_timeline_widget_gets_the_spec_schema_from_python(tmp_path):
    from app.timeline import STATIC, timeline_editor
    from genmo.conditions.pose_library import POSE_NAMES
    from genmo.spec import EXCLUSIVE_KINDS, MEDIA_EXTENSIONS, Sampler

    schema = timeline_editor(load_example("two_prompts"), PathGuard([tmp_path])).props["schema"]
    assert schema["extensions"] == {k: list(v) for k, v in MEDIA_EXTENSIONS.items()}
    assert schema["exclusive"] == list(EXCLUSIVE_KINDS) and schema["poses"] == list(POSE_NAMES)
    assert schema["sampler"] == Sampler().to_dict() and json.loads(json.dumps(schema)) == schema
    script = (STATIC / "timeline.js").read_text(encoding="utf-8")
    assert ".wav" not in script and '"squat"' not in script and f"guidance: {Sampler().guidance:g}" not in script
