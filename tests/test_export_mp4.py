import numpy as np
import pytest

from genmo.body import load_body
from genmo.export.video import motion_to_mp4, render_side_by_side
from genmo.videofile import probe_media
from tests.test_export_glb import _motion


@pytest.fixture(scope="module")
def body():
    return load_body("default")


@pytest.fixture()
def tone(tmp_path):
    import soundfile

    rate = 22050
    t = np.arange(int(4.0 * rate)) / rate
    path = tmp_path / "tone.wav"
    soundfile.write(path, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    return path


def test_mp4_has_h264_video_and_aac_audio_of_the_motion_duration(tmp_path, body, tone):
    motion = _motion(frames=45, fps=30.0)  # 1.5 s; the tone is 4 s and gets cut
    info = probe_media(motion_to_mp4(motion, tmp_path / "m.mp4", body, audio_path=tone, width=96, height=64))
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.width, info.height) == (96, 64) and info.video_frames == 45
    assert info.video_duration == pytest.approx(1.5, abs=0.05)
    assert info.audio_duration == pytest.approx(1.5, abs=0.05)


def test_mp4_without_audio_has_no_audio_stream(tmp_path, body):
    info = probe_media(motion_to_mp4(_motion(frames=10), tmp_path / "m.mp4", body, width=64, height=64))
    assert info.video_codec == "h264" and info.audio_codec is None and info.video_frames == 10


def test_side_by_side_panels_are_labelled_and_synced(tmp_path, body, tone):
    import imageio.v3 as iio

    a, b = _motion(frames=20), _motion(frames=14)
    path = tmp_path / "sbs.mp4"
    assert render_side_by_side([a, b], ["sample 1", "sample 2"], path, body, panel_width=128, height=96,
                               audio_path=tone) == 20
    info = probe_media(path)
    assert (info.width, info.height) == (256, 96) and info.video_frames == 20 and info.audio_codec == "aac"
    frame = iio.imread(path, index=0)
    label_box = frame[8:20, 8:60].astype(int)
    assert (label_box < 100).any() and (label_box > 230).any()  # dark text on a white box in each panel
    assert (frame[8:20, 136:188].astype(int) < 100).any()


def test_side_by_side_bad_input(tmp_path, body):
    with pytest.raises(ValueError, match="labels"):
        render_side_by_side([_motion(frames=5)], ["a", "b"], tmp_path / "x.mp4", body)
    with pytest.raises(ValueError, match="different fps"):
        render_side_by_side([_motion(frames=5), _motion(frames=5, fps=20.0)], ["a", "b"], tmp_path / "x.mp4", body)
    with pytest.raises(ValueError, match="not found"):
        probe_media(tmp_path / "missing.mp4")


@pytest.mark.slow
def test_pipeline_render_result_keeps_the_timeline_music(tmp_path, tone):
    from genmo.pipeline import GenmoPipeline
    from genmo.render.result import render_result
    from genmo.spec import load_spec

    spec = load_spec({"version": 1, "fps": 30, "duration": 2.0, "tracks": [
        {"kind": "music", "start": 0.5, "end": 2.0, "path": str(tone), "offset": 0.0}]})
    result = GenmoPipeline.tiny_random()(spec, steps=1)
    info = probe_media(render_result(result, tmp_path / "r.mp4", width=96, height=64))
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.video_duration == pytest.approx(2.0, abs=0.05) and info.audio_duration == pytest.approx(2.0, abs=0.05)
