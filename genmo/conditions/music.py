"""Music -> 35-d per-frame features at the motion frame rate (EDGE's baseline layout).

Audio is decoded (wav, flac, ogg, mp3, ... through librosa/soundfile) at ``sr = fps * HOP_LENGTH``
so one feature row is one motion frame. Columns (see the ``*_COLUMN(S)`` constants):

    0       onset strength envelope
    1..20   MFCC (20)
    21..32  chroma CENS (12), at a fixed tuning (A = 440 Hz): no pitch tracking
    33      onset-peak one-hot
    34      beat one-hot (BEAT_COLUMN; the beat-alignment evaluation reads it)

librosa is loaded through ``genmo.conditions.librosa_setup``: numba's compiled code is cached in a
per-user folder and compiled under a lock, once per process, on a short synthetic signal (about
9 s on this CPU with an empty cache, well under a second with a warm one). Features are cached on
disk by (file hash, offset, duration, fps).
Silent audio raises ConditionError unless ``allow_silent=True``, which returns all-zero
features, no beats and ``silent=True``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genmo.constants import MODEL_FPS, frame_at
from genmo.errors import ConditionError, one_line

if TYPE_CHECKING:
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.encoders import EncodeContext
    from genmo.spec import MusicTrack

HOP_LENGTH = 512
MUSIC_DIM = 35
ENVELOPE_COLUMN = 0
MFCC_COLUMNS = slice(1, 21)
CHROMA_COLUMNS = slice(21, 33)
PEAK_COLUMN = 33
BEAT_COLUMN = 34

MAX_AUDIO_SECONDS = 600.0
MAX_AUDIO_FILE_BYTES = 200 * 1024 * 1024
SILENCE_PEAK = 1e-4  # peak absolute amplitude below which a clip counts as silent
_CACHE_VERSION = 2  # 2: chroma at a fixed tuning (version 1 estimated it per clip)
CHROMA_TUNING = 0.0  # fractions of a chroma bin; fixed, so librosa never runs estimate_tuning / piptrack


@dataclass
class MusicFeatures:
    """Per-frame music features of one clip.

    features (T, 35) float32 in the column layout above; fps; tempo in beats per minute
    (0 when silent); beat_times (B,) seconds from the clip start and beat_frames (B,) int
    frame indices; frame_mask (T,) True where audio exists (False past the end of the file
    when a longer duration was asked for); silent when the clip had no sound.
    """

    features: np.ndarray
    fps: float
    tempo: float
    beat_times: np.ndarray
    beat_frames: np.ndarray
    frame_mask: np.ndarray
    silent: bool = False

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])


def sample_rate_for(fps: float) -> int:
    """The audio sample rate that gives one hop per motion frame."""
    return int(round(fps * HOP_LENGTH))


def _check_fps(fps: float) -> float:
    fps = float(fps)
    if not 1.0 <= fps <= 240.0:
        raise ConditionError(f"fps must be in [1, 240], got {fps}")
    return fps


def music_features_from_array(samples: np.ndarray, sr: int, fps: float = MODEL_FPS, num_frames: int | None = None,
                              allow_silent: bool = False, name: str = "audio") -> MusicFeatures:
    """Features from samples in memory: (n,) mono or (n, channels) / (channels, n) at rate ``sr``.

    ``num_frames`` pads (mask False) or trims the result to that many frames; by default
    the frame count is round(seconds * fps).
    """
    fps = _check_fps(fps)
    librosa = _librosa()
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0 if y.shape[0] < y.shape[1] else 1)
    if y.ndim != 1 or y.size == 0:
        raise ConditionError(f"{name}: expected a non-empty mono or multi-channel signal, got shape {np.shape(samples)}")
    if not np.isfinite(y).all():
        raise ConditionError(f"{name}: audio contains NaN or infinite samples")
    if sr <= 0:
        raise ConditionError(f"{name}: sample rate must be positive, got {sr}")
    target_sr = sample_rate_for(fps)
    if sr != target_sr:
        y = librosa.resample(y, orig_sr=sr, target_sr=target_sr)
    available = int(round(len(y) / target_sr * fps))
    if num_frames is None:
        num_frames = available
    if num_frames <= 0:
        raise ConditionError(f"{name}: clip is shorter than one frame")
    if np.abs(y).max() < SILENCE_PEAK:
        if not allow_silent:
            raise ConditionError(f"{name}: audio is silent")
        warnings.warn(f"{name}: audio is silent; using all-zero music features", stacklevel=2)
        mask = np.arange(num_frames) < available
        return MusicFeatures(np.zeros((num_frames, MUSIC_DIM), np.float32), fps, 0.0,
                             np.zeros(0), np.zeros(0, np.int64), mask, silent=True)
    feats, tempo, beats = _edge_features(librosa, y, target_sr)
    n = min(num_frames, feats.shape[0], available)
    out = np.zeros((num_frames, MUSIC_DIM), np.float32)
    out[:n] = feats[:n]
    mask = np.zeros(num_frames, bool)
    mask[:n] = True
    beats = beats[beats < n]
    return MusicFeatures(out, fps, tempo, beats / fps, beats.astype(np.int64), mask)


def _librosa():
    """librosa with its numba cache set up and every call below compiled (see librosa_setup)."""
    from genmo.conditions.librosa_setup import load_librosa

    return load_librosa(_warm_up)


def _warm_up(librosa) -> None:
    """Run every librosa call of the features once: 4 s of a chord with clicks at 120 bpm (float32)."""
    sr = sample_rate_for(30.0)
    t = np.arange(4 * sr) / sr
    y = sum(np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0)) * 0.2
    y[(np.arange(0.0, 4.0, 0.5) * sr).astype(int)] += 1.0
    _edge_features(librosa, y.astype(np.float32), sr)


def _edge_features(librosa, y: np.ndarray, sr: int) -> tuple[np.ndarray, float, np.ndarray]:
    """(frames, 35) features, tempo (bpm) and beat frame indices of a signal at sr = fps * HOP_LENGTH."""
    envelope = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP_LENGTH)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, hop_length=HOP_LENGTH).T
    chroma = librosa.feature.chroma_cens(y=y, sr=sr, hop_length=HOP_LENGTH, n_chroma=12, tuning=CHROMA_TUNING).T
    peaks = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=HOP_LENGTH)
    start_bpm = float(librosa.feature.tempo(onset_envelope=envelope, sr=sr, hop_length=HOP_LENGTH)[0])
    tempo, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=sr, hop_length=HOP_LENGTH,
                                           start_bpm=start_bpm, tightness=100)
    n = min(len(envelope), len(mfcc), len(chroma))
    feats = np.zeros((n, MUSIC_DIM), np.float32)
    feats[:, ENVELOPE_COLUMN] = envelope[:n]
    feats[:, MFCC_COLUMNS] = mfcc[:n]
    feats[:, CHROMA_COLUMNS] = chroma[:n]
    feats[peaks[peaks < n], PEAK_COLUMN] = 1.0
    beats = np.asarray(beats, dtype=np.int64)
    feats[beats[beats < n], BEAT_COLUMN] = 1.0
    return feats, float(np.atleast_1d(tempo)[0]), beats


def load_audio(path: str | Path, sr: int, offset: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode a mono clip of an audio file at rate ``sr``; bad files raise ConditionError."""
    librosa = _librosa()
    path = Path(path)
    if not path.is_file():
        raise ConditionError(f"audio file not found: {path}")
    size = path.stat().st_size
    if size > MAX_AUDIO_FILE_BYTES:
        raise ConditionError(f"{path.name}: {size / 2**20:.0f} MiB is over the {MAX_AUDIO_FILE_BYTES / 2**20:.0f} MiB limit")
    if offset < 0:
        raise ConditionError(f"{path.name}: offset must be >= 0, got {offset}")
    if duration is not None and not 0 < duration <= MAX_AUDIO_SECONDS:
        raise ConditionError(f"{path.name}: duration must be in (0, {MAX_AUDIO_SECONDS:g}] s, got {duration}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa's audioread fallback warns; the error below is what counts
            y, _ = librosa.load(path, sr=sr, mono=True, offset=offset,
                                duration=duration if duration is not None else MAX_AUDIO_SECONDS)
    except Exception as exc:  # soundfile, audioread and ffmpeg raise many unrelated types
        raise ConditionError(f"cannot decode audio file {path.name}: {one_line(exc)}") from None
    if y.size == 0:
        raise ConditionError(f"{path.name}: no audio at offset {offset:g} s (the file is shorter)")
    return y


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_path(path: Path, offset: float, duration: float | None, fps: float, allow_silent: bool) -> Path:
    from genmo.paths import cache_dir

    key = f"v{_CACHE_VERSION}|{_file_digest(path)}|{offset:.6f}|{duration}|{fps:.6f}|{allow_silent}"
    return cache_dir() / "music" / f"{hashlib.sha256(key.encode()).hexdigest()}.npz"


def music_features(path: str | Path, fps: float = MODEL_FPS, offset: float = 0.0, duration: float | None = None,
                   allow_silent: bool = False, use_cache: bool = True) -> MusicFeatures:
    """Features of the clip [offset, offset + duration) of an audio file (to its end when duration is None).

    With a duration the result has round(duration * fps) frames; frames past the end of the
    file are zero with frame_mask False.
    """
    fps = _check_fps(fps)
    path = Path(path)
    cache = _cache_path(path, offset, duration, fps, allow_silent) if use_cache and path.is_file() else None
    if cache is not None and cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as d:
                return MusicFeatures(d["features"], fps, float(d["tempo"]), d["beat_times"], d["beat_frames"],
                                     d["frame_mask"], bool(d["silent"]))
        except (OSError, KeyError, ValueError):
            pass  # damaged entry: recompute
    y = load_audio(path, sample_rate_for(fps), offset, duration)
    num_frames = int(round(duration * fps)) if duration is not None else None
    result = music_features_from_array(y, sample_rate_for(fps), fps, num_frames, allow_silent, name=path.name)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, features=result.features, tempo=result.tempo, beat_times=result.beat_times,
                 beat_frames=result.beat_frames, frame_mask=result.frame_mask, silent=result.silent)
        os.replace(tmp, cache)
    return result


def encode_tracks(tracks: list[MusicTrack], builder: ConditionBuilder, context: EncodeContext) -> None:
    """Music clips: per-frame features from ``offset`` into the file, placed at the clip's start."""
    for track in tracks:
        feats = music_features(track.path, fps=MODEL_FPS, offset=track.offset, duration=track.end - track.start)
        builder.add_frames("music", feats.features, frame_at(track.start), feats.frame_mask)
