"""Make the example media in examples/media/ (all generated here; nothing copyrighted).

    .venv/bin/python examples/make_media.py

- chorale.ogg: Bach's chorale BWV 66.6 (music21 corpus, public domain) at 110 bpm, synthesised
  with tinysoundfont and the TimGM6mb soundfont that ships with pretty_midi.
- wave_keypoints.npz: COCO-17 2D keypoints of a standing body waving its right arm, projected
  through a fixed pinhole camera (the docs/spec.md 2D keypoint file).
- squat_pose.npz: a one-frame motion file holding the pose library's squat (a keyframe source).
- mannequin.mp4: the default body raising and lowering its arms, rendered offscreen (a video to
  try estimation on).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
MEDIA = ROOT / "media"
FPS = 30.0


def make_music(path: Path, bpm: float = 110.0, seconds: float = 8.0, sr: int = 22050) -> None:
    import pretty_midi
    import soundfile
    import tinysoundfont
    from music21 import corpus, tempo

    score = corpus.parse("bach/bwv66.6")
    for mark in list(score.recurse().getElementsByClass(tempo.MetronomeMark)):
        mark.activeSite.remove(mark)
    for part in score.parts:
        part.insert(0, tempo.MetronomeMark(number=bpm))
    with tempfile.TemporaryDirectory() as tmp:
        midi = score.write("midi", fp=Path(tmp) / "chorale.mid")
        synth = tinysoundfont.Synth(samplerate=sr)
        synth.sfload(os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2"))
        sequencer = tinysoundfont.Sequencer(synth)
        sequencer.midi_load(str(midi))
        stereo = np.frombuffer(synth.generate(int(seconds * sr)), dtype=np.float32).reshape(-1, 2)
    mono = stereo.mean(axis=1)
    fade = np.minimum(1.0, (len(mono) - np.arange(len(mono))) / (0.5 * sr))
    soundfile.write(path, (mono * fade / max(np.abs(mono).max(), 1e-6) * 0.8).astype(np.float32), sr, format="OGG")


def waving_motion(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """poses (N, 72), trans (N, 3): standing, the right arm waving overhead."""
    from genmo.conditions.pose_library import library_pose

    n = int(round(seconds * FPS))
    t = np.arange(n) / FPS
    poses = np.repeat(library_pose("standing")[None], n, axis=0).reshape(n, 24, 3)
    poses[:, 17] = np.stack([np.zeros(n), np.zeros(n), -1.2 + 0.5 * np.sin(2 * np.pi * 1.0 * t)], axis=1)
    poses[:, 19] = np.stack([np.zeros(n), 0.8 + 0.4 * np.sin(2 * np.pi * 1.0 * t), np.zeros(n)], axis=1)
    return poses.reshape(n, 72).astype(np.float32), np.zeros((n, 3), np.float32)


def make_keypoints(path: Path, seconds: float = 3.0, width: int = 640, height: int = 480) -> None:
    import torch

    from genmo.body import load_body
    from genmo.data.projection import coco17_from_smpl, intrinsics, look_at, project

    poses, trans = waving_motion(seconds)
    body = load_body()
    with torch.no_grad():
        joints = body(torch.from_numpy(poses), None, torch.from_numpy(trans), with_vertices=False).joints.numpy()
    points = coco17_from_smpl(joints)
    n = len(points)
    focal = 600.0
    cam_r = np.repeat(look_at(np.array([0.0, 1.0, 4.0]), np.array([0.0, 0.9, 0.0]))[None], n, axis=0)
    cam_t = -np.einsum("tab,b->ta", cam_r, np.array([0.0, 1.0, 4.0]))
    uv, _ = project(points, cam_r, cam_t, intrinsics(focal, width, height))
    keypoints = np.concatenate([uv, np.full((n, 17, 1), 0.95)], axis=-1).astype(np.float32)
    np.savez(path, keypoints=keypoints, image_size=np.array([width, height]), fps=np.float32(FPS),
             focal=np.float32(focal))


def make_keyframe(path: Path) -> None:
    from genmo.conditions.pose_library import library_pose
    from genmo.motion.motion import Motion

    Motion(poses=library_pose("squat")[None], trans=np.zeros((1, 3), np.float32),
           betas=np.zeros(10, np.float32), fps=FPS).save(path)


def make_video(path: Path, seconds: float = 3.0) -> None:
    from genmo.render import render_motion

    poses, trans = waving_motion(seconds)
    render_motion({"poses": poses, "trans": trans, "betas": np.zeros(10, np.float32), "fps": FPS}, None, path,
                  width=320, height=240, shadows=True)


def main() -> None:
    MEDIA.mkdir(parents=True, exist_ok=True)
    make_music(MEDIA / "chorale.ogg")
    make_keypoints(MEDIA / "wave_keypoints.npz")
    make_keyframe(MEDIA / "squat_pose.npz")
    make_video(MEDIA / "mannequin.mp4")
    for f in sorted(MEDIA.iterdir()):
        print(f"{f.relative_to(ROOT)}: {f.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
