"""Hostile and broken media through the studio's media checks and the CLI.

Zero-byte, truncated and renamed files must give one-line MediaError / ConditionError (exit 2 in the
CLI, no traceback); a 20,000 x 20,000 image is refused from its header with no large allocation
(peak RSS of a fresh process is measured); a 2-hour audio file is refused from its header.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from app.media import MediaError, inspect_media

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_MEDIA = REPO / "examples" / "media"
RSS_LIMIT_MB = 600  # a decoded 20000 x 20000 BGR frame alone is 1,144 MiB
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYOPENGL_PLATFORM": os.environ.get("PYOPENGL_PLATFORM", "osmesa")}


def write_png(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit greyscale PNG: tiny on disk, width * height * 3 bytes once decoded to BGR."""
    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def write_long_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """An 8-bit mono WAV of ``seconds`` made as a sparse file (the header is all that is written)."""
    n = int(seconds * rate)
    header = (b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8)
              + b"data" + struct.pack("<I", n))
    with path.open("wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + n)
    return path


def _hostile_files(folder: Path) -> list[tuple[str, Path, str]]:
    """(kind, file, expected message fragment) for every broken or renamed file."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, suffix in (("music", ".wav"), ("music", ".mp3"), ("video", ".mp4"), ("keypoints2d", ".npz"),
                         ("keyframe", ".npz")):
        empty = folder / f"empty_{kind}{suffix}"
        empty.write_bytes(b"")
        out.append((kind, empty, "empty"))
    for kind, source in (("music", "chorale.ogg"), ("video", "mannequin.mp4"), ("keypoints2d", "wave_keypoints.npz"),
                         ("keyframe", "squat_pose.npz")):
        data = (EXAMPLE_MEDIA / source).read_bytes()
        cut = folder / f"truncated_{source}"
        cut.write_bytes(data[: max(64, len(data) // 10)])
        out.append((kind, cut, ""))
    text = b"this is not a media file\n" * 20
    for kind, suffix in (("music", ".wav"), ("video", ".mp4"), ("keypoints2d", ".npz"), ("keyframe", ".npz")):
        fake = folder / f"text_as_{kind}{suffix}"
        fake.write_bytes(text)
        out.append((kind, fake, ""))
    swapped = [("music", "mannequin.mp4", ".wav"), ("video", "chorale.ogg", ".mp4"), ("keypoints2d", "squat_pose.npz", ".npz"),
               ("keyframe", "wave_keypoints.npz", ".npz")]
    for kind, source, suffix in swapped:
        target = folder / f"renamed_{Path(source).stem}_as_{kind}{suffix}"
        shutil.copy(EXAMPLE_MEDIA / source, target)
        out.append((kind, target, ""))
    pickled = folder / "pickled_keypoints.npz"
    np.savez(pickled, keypoints=np.array([{"evil": 1}], dtype=object), image_size=np.array([640, 480]))
    out.append(("keypoints2d", pickled, ""))
    out.append(("video", write_png(folder / "image_as_video.mp4", 64, 64), "an image file"))
    out.append(("music", write_png(folder / "image_as_audio.wav", 64, 64), "an image file"))
    return out


def test_broken_and_renamed_files_give_one_line_media_errors(tmp_path):
    files = _hostile_files(tmp_path)
    for kind, path, fragment in files:
        with pytest.raises(MediaError) as info:
            inspect_media(path, kind)
        text = str(info.value)
        assert text and "\n" not in text and "Traceback" not in text, (path.name, text)
        assert fragment in text, (path.name, text)
    print(f"hostile files tried through inspect_media: {len(files)}")


PEAK_RSS_EPILOGUE = """
import re as _re
print("VMHWM_KB", _re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
"""


def _peak_rss_mb(code: str, *args: str) -> tuple[int, str, float]:
    """Run python code in a fresh process; (exit code, combined output, peak RSS MiB of that process).

    The peak is the child's own VmHWM (reset by exec), not getrusage: Linux carries ru_maxrss over
    exec, so a child of a large test process would report the parent's size.
    """
    proc = subprocess.run([sys.executable, "-c", code + PEAK_RSS_EPILOGUE, *args], cwd=REPO, env=ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    output = proc.stdout.decode(errors="replace")
    peak_kb = float(output.rsplit("VMHWM_KB", 1)[1].split()[0]) if "VMHWM_KB" in output else float("inf")
    return proc.returncode, output, peak_kb / 1024


INSPECT = """
import sys
import genmo.conditions.music as music
from app.media import MediaError, inspect_media
decode = music.load_audio

def counted(*args, **kwargs):
    print("DECODED")
    return decode(*args, **kwargs)

music.load_audio = counted
try:
    inspect_media(sys.argv[1], sys.argv[2])
    print("ACCEPTED")
except MediaError as err:
    print("REFUSED", err)
"""


def write_pbm(path: Path, width: int, height: int) -> Path:
    """A 1-bit PBM (a format ffmpeg decodes as a one-frame video) made as a sparse file."""
    header = f"P4\n{width} {height}\n".encode()
    with path.open("wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + height * ((width + 7) // 8))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind,side,expected", [("png", 20000, "an image file"), ("pbm", 16000, "megapixel limit")])
def test_huge_image_renamed_as_video_is_refused_from_the_header(tmp_path, kind, side, expected):
    writer = write_png if kind == "png" else write_pbm
    path = writer(tmp_path / f"huge_{side}.mp4", side, side)
    code, out, rss = _peak_rss_mb(INSPECT, str(path), "video")
    assert code == 0 and "REFUSED" in out and expected in out, out
    assert rss < RSS_LIMIT_MB, f"peak RSS {rss:.0f} MiB: the frame was decoded"


@pytest.mark.slow
def test_huge_image_through_video_extraction_is_refused_from_the_header(tmp_path):
    path = write_png(tmp_path / "huge.png", 20000, 20000)
    code, out, rss = _peak_rss_mb(
        "import sys\nfrom genmo.conditions.video import extract_video\n"
        "try:\n    extract_video(sys.argv[1])\nexcept ValueError as err:\n    print('REFUSED', err)\n", str(path))
    assert code == 0 and "REFUSED" in out and "megapixel" in out, out
    assert rss < RSS_LIMIT_MB, f"peak RSS {rss:.0f} MiB: the image was decoded"


@pytest.mark.slow
def test_two_hour_audio_is_refused_from_its_header(tmp_path):
    path = write_long_wav(tmp_path / "two_hours.wav", 2 * 3600)
    assert path.stat().st_size < 60 * 2**20
    code, out, rss = _peak_rss_mb(INSPECT, str(path), "music")
    assert code == 0 and "REFUSED" in out and "7200 s is longer than" in out, out
    assert "DECODED" not in out, "the audio was decoded before it was refused"
    assert rss < RSS_LIMIT_MB


# -- the CLI ------------------------------------------------------------------------------------

def tiny_checkpoint(folder: Path) -> Path:
    """A checkpoint folder holding the tiny random model (config, safetensors weights, normaliser)."""
    from genmo.model.checkpoint import CONFIG_FILE, MODEL_FILE, NORMALIZER_FILE, save_weights
    from genmo.pipeline import GenmoPipeline

    pipe = GenmoPipeline.tiny_random()
    folder.mkdir(parents=True, exist_ok=True)
    pipe.config.save(folder / CONFIG_FILE)
    save_weights(pipe.model, folder / MODEL_FILE)
    pipe.normalizer.save(folder / NORMALIZER_FILE)
    return folder


# One child process runs every CLI case through genmo.cli.main (torch is imported once, not once per
# case); each case's exit code and stderr come back as one JSON line.
_CLI_CASES = """
import contextlib, io, json, sys
from genmo.cli import main
for args in json.loads(sys.stdin.read()):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as stop:
            code = stop.code
    print(json.dumps([code, err.getvalue()]), flush=True)
"""


def _cli_cases(cases: list[list[str]]) -> list[tuple[int, str]]:
    """(exit code, stderr) of `genmo ARGS` for each case, in one separate process."""
    proc = subprocess.run([sys.executable, "-c", _CLI_CASES], cwd=REPO, env=ENV, input=json.dumps(cases),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [tuple(json.loads(line)) for line in proc.stdout.splitlines() if line.startswith("[")]
    assert len(results) == len(cases), proc.stdout[-3000:]
    return results


@pytest.mark.slow
def test_cli_refuses_broken_media_with_one_line(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "ckpt")
    files = {kind_path[1].name: kind_path for kind_path in _hostile_files(tmp_path / "media")}
    files["huge.mp4"] = ("video", write_png(tmp_path / "huge.mp4", 20000, 20000), "")
    cases = []
    for name in ("empty_video.mp4", "truncated_mannequin.mp4", "text_as_video.mp4", "huge.mp4"):
        cases.append(["estimate", "--video", str(files[name][1]), "--out", str(tmp_path / "o.npz"),
                      "--checkpoint", str(ckpt), "--steps", "1"])
    for name in ("empty_keypoints2d.npz", "pickled_keypoints.npz", "renamed_squat_pose_as_keypoints2d.npz"):
        cases.append(["estimate", "--keypoints2d", str(files[name][1]), "--out", str(tmp_path / "o.npz"),
                      "--checkpoint", str(ckpt), "--steps", "1"])
    for name in ("empty_music.wav", "truncated_chorale.ogg", "renamed_mannequin_as_music.wav"):
        spec = tmp_path / f"{name}.json"
        spec.write_text('{"version": 1, "duration": 2.0, "tracks": [{"kind": "music", "start": 0, "end": 2, '
                        f'"path": "{files[name][1]}"}}]}}')
        cases.append(["generate", str(spec), "--out", str(tmp_path / "o.npz"), "--checkpoint", str(ckpt), "--steps", "1"])
    for args, (code, err) in zip(cases, _cli_cases(cases)):
        lines = err.strip().splitlines()
        assert code == 2, (args, err[-2000:])
        assert "Traceback" not in err and lines[-1].startswith("error: "), (args, err[-2000:])
    print(f"hostile files tried through the CLI: {len(cases)}")
