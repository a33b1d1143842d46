"""Music -> 35-d EDGE features, on a score rendered in the test with a General MIDI soundfont."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from genmo.conditions import ConditionError
from genmo.conditions.music import (
    BEAT_COLUMN,
    MUSIC_DIM,
    PEAK_COLUMN,
    music_features,
    music_features_from_array,
)

RENDER_SR = 22050


SCORE_BPM = 100.0


def _render_chorale(folder: Path) -> tuple[Path, float]:
    """Render Bach's chorale BWV 66.6 (music21 corpus, public domain) at SCORE_BPM to a wav."""
    import pretty_midi
    import tinysoundfont
    from music21 import corpus, tempo

    score = corpus.parse("bach/bwv66.6")
    for mark in list(score.recurse().getElementsByClass(tempo.MetronomeMark)):
        mark.activeSite.remove(mark)
    for part in score.parts:
        part.insert(0, tempo.MetronomeMark(number=SCORE_BPM))
    midi = score.write("midi", fp=folder / "chorale.mid")
    end = pretty_midi.PrettyMIDI(str(midi)).get_end_time()
    synth = tinysoundfont.Synth(samplerate=RENDER_SR)
    synth.sfload(os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2"))
    sequencer = tinysoundfont.Sequencer(synth)
    sequencer.midi_load(str(midi))
    stereo = np.frombuffer(synth.generate(int((end + 0.5) * RENDER_SR)), dtype=np.float32).reshape(-1, 2)
    wav = folder / "chorale.wav"
    soundfile.write(wav, stereo, RENDER_SR)
    assert abs(pretty_midi.PrettyMIDI(str(midi)).get_tempo_changes()[1][0] - SCORE_BPM) < 1e-6
    return wav, SCORE_BPM


@pytest.fixture(scope="module")
def chorale(tmp_path_factory) -> tuple[Path, float]:
    return _render_chorale(tmp_path_factory.mktemp("music"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMO_CACHE", str(tmp_path / "cache"))


def test_beats_at_score_tempo(chorale):
    wav, bpm = chorale
    feats = music_features(wav, fps=30)
    assert feats.features.shape[1] == MUSIC_DIM and feats.features.dtype == np.float32
    assert abs(feats.tempo - bpm) / bpm < 0.03
    intervals = np.diff(feats.beat_times)
    assert abs(60.0 / np.median(intervals) - bpm) / bpm < 0.03
    beat_col = feats.features[:, BEAT_COLUMN]
    np.testing.assert_array_equal(np.flatnonzero(beat_col), feats.beat_frames)
    np.testing.assert_allclose(feats.beat_times, feats.beat_frames / 30.0)
    assert set(np.unique(feats.features[:, PEAK_COLUMN])) <= {0.0, 1.0}
    assert feats.features[:, PEAK_COLUMN].sum() >= len(feats.beat_frames) // 2
    assert feats.frame_mask.all()


def test_clip_offset_duration_and_cache(chorale, tmp_path):
    wav, _ = chorale
    clip = music_features(wav, fps=30, offset=2.0, duration=4.0)
    assert clip.num_frames == 120 and clip.frame_mask.all()
    assert (clip.beat_times < 4.0).all()
    again = music_features(wav, fps=30, offset=2.0, duration=4.0)
    np.testing.assert_array_equal(clip.features, again.features)
    assert len(list((tmp_path / "cache" / "music").glob("*.npz"))) == 1
    # Asking for more than the file holds pads with masked frames.
    tail = music_features(wav, fps=30, offset=20.0, duration=10.0)
    assert tail.num_frames == 300 and 0 < tail.frame_mask.sum() < 300
    assert not tail.features[~tail.frame_mask].any()


def test_other_fps_and_in_memory_array(chorale):
    wav, _ = chorale
    samples, sr = soundfile.read(wav, dtype="float32")
    feats = music_features_from_array(samples[: sr * 5], sr, fps=20)
    assert feats.num_frames == 100
    assert feats.features[:, BEAT_COLUMN].sum() >= 4


def test_flac_and_ogg_decode(chorale, tmp_path):
    wav, _ = chorale
    samples, sr = soundfile.read(wav, dtype="float32", frames=sr_frames(3.0))
    for ext in ("flac", "ogg"):
        path = tmp_path / f"clip.{ext}"
        soundfile.write(path, samples, RENDER_SR)
        assert music_features(path, fps=30, use_cache=False).num_frames == 90


def sr_frames(seconds: float) -> int:
    return int(seconds * RENDER_SR)


def test_silent_audio_error_or_flagged_fallback(tmp_path):
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(RENDER_SR * 2, np.float32), RENDER_SR)
    with pytest.raises(ConditionError, match="silent"):
        music_features(path)
    with pytest.warns(UserWarning, match="silent"):
        feats = music_features(path, allow_silent=True, use_cache=False)
    assert feats.silent and feats.num_frames == 60 and not feats.features.any() and feats.tempo == 0


def test_not_audio_and_missing_files(tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("this is not audio at all\n" * 100)
    with pytest.raises(ConditionError, match="cannot decode audio file notes.mp3"):
        music_features(bad)
    with pytest.raises(ConditionError, match="not found"):
        music_features(tmp_path / "missing.wav")
    with pytest.raises(ConditionError, match="fps"):
        music_features_from_array(np.ones(100), 22050, fps=0)
