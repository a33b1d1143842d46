"""Measure each speed lever of the video front end: time per stage and its accuracy cost.

    python scripts/video_levers.py [CLIP ...] [--json out.json]

Each configuration adds one lever to the previous one, from the reference path (pose, detection
schedule and camera on every frame) to FAST (the first four); then threads, or BlazePose's video
mode, on top of FAST. Accuracy against the reference on the same clip: the 2D keypoint difference (mean pixel distance of joints both see, over frames both
posed, in % of the reference box height), the share of posed frames with a person, and the 3D joint
difference (root-relative MPJPE, mm) of the model's 1-step estimates from the two observations.
Default clips: examples/media/mannequin.mp4 and <shared data>/media/vtest.avi (first 20 s).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from genmo.bench import looped_video
from genmo.conditions.frontend import EVERY_FRAME, FAST, FrontEndOptions
from genmo.conditions.keypoints2d import save_keypoints2d
from genmo.conditions.observation import VideoObservation
from genmo.conditions.video import extract_video
from genmo.paths import data_root, repo_root

_LOST = replace(EVERY_FRAME, detect_when_lost=True)
_POSE = replace(_LOST, pose_fps=FAST.pose_fps)
_CAMERA = replace(_POSE, camera_fps=FAST.camera_fps)
CONFIGS: dict[str, FrontEndOptions] = {
    "every_frame": EVERY_FRAME,
    "+detect_when_lost": _LOST,
    "+pose_15hz": _POSE,
    "+camera_10hz": _CAMERA,
    "+threads (not in FAST)": replace(_CAMERA, threaded=True),
    "+pose_tracking (not in FAST)": replace(_CAMERA, pose_tracking=True),
}


def keypoint_difference(obs: VideoObservation, ref: VideoObservation) -> float:
    """Mean 2D distance of joints seen (conf > 0.5) in both, over frames both found, in % of the reference box height."""
    both = obs.person_found & ref.person_found
    if not both.any():
        return float("nan")
    a, b = obs.keypoints[both], ref.keypoints[both]
    seen = (a[..., 2] > 0.5) & (b[..., 2] > 0.5)
    height = (ref.bbox[both, 3] - ref.bbox[both, 1])[:, None]
    dist = np.linalg.norm(a[..., :2] - b[..., :2], axis=-1) / np.maximum(height, 1.0)
    return float(dist[seen].mean() * 100)


def posed_share(options: FrontEndOptions, fps: float, frames: int) -> float:
    """The share of ``frames`` source frames that BlazePose runs on."""
    return sum(options.runs_on(options.pose_fps, fps, t) for t in range(frames)) / max(frames, 1)


def estimate_joints(pipe, obs: VideoObservation, folder: Path, name: str) -> np.ndarray:
    """The model's 1-step estimate from an observation: joints (T, J, 3), root-relative."""
    from genmo.spec import spec_for_observation

    path = folder / f"{name}.npz"
    save_keypoints2d(path, obs)
    joints = pipe(spec_for_observation("keypoints2d", path), steps=1, guidance=1.0, seed=0).motion.joints
    return joints - joints[:, :1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this much of each clip")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tmp_clips = tempfile.TemporaryDirectory(prefix="genmo-clips-")
    clips = args.clips or [repo_root() / "examples" / "media" / "mannequin.mp4"]
    vtest = data_root() / "media" / "vtest.avi" if data_root() is not None else None
    if not args.clips and vtest is not None and vtest.is_file():
        # vtest.avi as it is (10 fps), and its frames played at 30 fps (people move 3x faster: a hard case)
        clips += [vtest, looped_video(vtest, Path(tmp_clips.name) / "vtest_at_30fps.mp4", int(args.seconds * 30))]
    from genmo.pipeline import GenmoPipeline
    from genmo.videofile import probe_video

    pipe = GenmoPipeline.from_pretrained(None, device="cpu")
    extract_video(clips[0], duration=0.5)  # warm-up: loads BlazePose
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="genmo-levers-") as tmp:
        for clip in clips:
            info = probe_video(clip)
            seconds = min(args.seconds, info.duration or args.seconds)
            rows: dict[str, dict] = {}
            ref = ref_joints = None
            for name, options in CONFIGS.items():
                timings: dict[str, float] = {}
                start = time.perf_counter()
                obs = extract_video(clip, fps=info.fps, duration=seconds, timings=timings, options=options)
                row = {"wall_s": round(time.perf_counter() - start, 2),
                       **{f"{k}_ms": round(v, 1) for k, v in timings.items()},
                       "found_of_posed": round(float(obs.person_found.mean()) / posed_share(options, info.fps, obs.num_frames), 3)}
                joints = estimate_joints(pipe, obs, Path(tmp), f"{clip.stem}-{len(rows)}")
                if ref is None:
                    ref, ref_joints = obs, joints
                row["kp2d_diff_pct_height"] = round(keypoint_difference(obs, ref), 2)
                n = min(len(joints), len(ref_joints))
                row["mpjpe_vs_ref_mm"] = round(float(np.linalg.norm(joints[:n] - ref_joints[:n], axis=-1).mean() * 1000), 1)
                rows[name] = row
                print(clip.name, name, row, flush=True)
            report[f"{clip.name} ({info.width}x{info.height}, {info.fps:g} fps, {seconds:g} s)"] = rows
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
