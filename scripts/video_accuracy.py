"""Accuracy of the video path against ground truth: held-out mocap clips rendered as videos, estimated
with each front-end configuration, scored in mm.

    python scripts/video_accuracy.py [--data runs/corpus] [--seconds 10] [--configs every_frame,fast]
                                     [--out runs/video_truth] [--json out.json]

Each clip of CLIPS (the corpus's test split) is rendered by genmo.eval.video_truth: the body mesh at
640x480, 30 fps, seen by a still camera that pans with the person (focal 640 px, the pipeline's default).
Each configuration estimates every video end to end as `genmo estimate --video` does (shipped checkpoint,
default steps, seed 0). Reported per clip and as the frame-weighted mean over clips: root-relative
camera-frame MPJPE and PA-MPJPE (mm), the front end's person-found share and 2D keypoint error, the wall
time, and each error's ratio to the every-frame path (the target for FAST: <= 1.1).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from genmo.conditions.frontend import EVERY_FRAME, FAST, FrontEndOptions
from genmo.eval.video_truth import TRUTH_FPS, TruthView, score_video, truth_camera
from genmo.eval.video_truth_render import render_truth_video

# (source, clip id, view): walking, turning, arms, dancing; all from the test split
CLIPS: tuple[tuple[str, str, TruthView], ...] = (
    ("bandai", "dataset-2_walk_elderly_014", TruthView(distance=5.5, azimuth_deg=70)),
    ("cmu_iclone", "006_11", TruthView(distance=5.0, azimuth_deg=30)),
    ("bandai", "dataset-2_wave-both-hands_youthful_004", TruthView(distance=4.0, azimuth_deg=20)),
    ("bandai", "dataset-1_bye_feminine_001", TruthView(distance=4.0, azimuth_deg=-40)),
    ("dance_with_melody", "DANCE_C_8", TruthView(distance=4.5, azimuth_deg=0)),
)
CONFIGS: dict[str, FrontEndOptions] = {
    "every_frame": EVERY_FRAME,
    "fast": FAST,
    "detect_when_lost": replace(EVERY_FRAME, detect_when_lost=True),
    "pose_15hz": replace(EVERY_FRAME, pose_fps=FAST.pose_fps),
    "camera_10hz": replace(EVERY_FRAME, camera_fps=FAST.camera_fps),
    "fast_pose_20hz": replace(FAST, pose_fps=20.0),  # candidate presets: FAST with more pose frames
    "fast_pose_every_frame": replace(FAST, pose_fps=None),
}
METRICS = ("mpjpe_mm", "pa_mpjpe_mm", "wa_mpjpe_mm", "w_mpjpe_mm", "found_pct", "kp2d_err_pct", "wall_s")
TARGET = ("mpjpe_mm", "pa_mpjpe_mm")  # the errors a configuration must keep within 1.1 x every frame


def mean_rows(rows: list[dict[str, float]], weights: list[int]) -> dict[str, float]:
    """Frame-weighted mean of each metric over clips."""
    total = sum(weights)
    return {k: sum(r[k] * w for r, w in zip(rows, weights)) / total for k in METRICS}


def ratios(row: dict[str, float], ref: dict[str, float]) -> dict[str, float]:
    """Each target error of ``row`` over the reference's."""
    return {k: row[k] / ref[k] for k in TARGET}


def table(report: dict) -> str:
    """The markdown table of the mean row of every configuration, with its ratios to every_frame (mean and
    worst clip)."""
    ref = report["mean"].get("every_frame")
    lines = ["| configuration | MPJPE mm | PA-MPJPE mm | WA-MPJPE mm | x every frame: MPJPE / PA (worst clip) "
             "| person found % | 2D err % height | wall s per clip |", "|---|---|---|---|---|---|---|---|"]
    for name, row in report["mean"].items():
        ratio = "-"
        if ref:
            mean = ratios(row, ref)
            worst = report["worst_ratio"][name]
            ratio = f"{mean['mpjpe_mm']:.2f} / {mean['pa_mpjpe_mm']:.2f} ({worst['mpjpe_mm']:.2f} / {worst['pa_mpjpe_mm']:.2f})"
        lines.append(f"| {name} | {row['mpjpe_mm']:.1f} | {row['pa_mpjpe_mm']:.1f} | {row['wa_mpjpe_mm']:.1f} | {ratio} "
                     f"| {row['found_pct']:.0f} | {row['kp2d_err_pct']:.1f} | {row['wall_s']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("runs/corpus"), help="corpus folder (its test split)")
    parser.add_argument("--seconds", type=float, default=10.0, help="at most this much of each clip")
    parser.add_argument("--clips", type=int, default=len(CLIPS), help="the first N clips of CLIPS")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {','.join(CONFIGS)}")
    parser.add_argument("--out", type=Path, default=Path("runs/video_truth"), help="folder for the rendered videos")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint folder (default checkpoints/genmo-small)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or not names:
        sys.exit(f"--configs: unknown {unknown or '(none)'}; choose from {', '.join(CONFIGS)}")

    from genmo.data.corpus import load_corpus
    from genmo.eval.common import ground_truth, split_clips
    from genmo.pipeline import GenmoPipeline

    corpus = load_corpus(args.data)
    test = {(c["source"], c["id"]): c for c in split_clips(corpus, "test")}
    pipe = GenmoPipeline.from_pretrained(args.checkpoint, device="cpu")
    rest = pipe.body.rest_joints().float()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"configs": {n: asdict(CONFIGS[n]) for n in names}, "clips": {}, "mean": {}}
    frames: list[int] = []
    for source, clip_id, view in CLIPS[: args.clips]:
        clip = test.get((source, clip_id))
        if clip is None:
            sys.exit(f"{source}/{clip_id} is not in the test split of {args.data}")
        gt = ground_truth(corpus, clip, rest, frames=int(round(args.seconds * TRUTH_FPS)))
        camera = truth_camera(gt.joints, view)
        video = render_truth_video(pipe.body, gt, camera, args.out / f"{clip_id.replace('/', '_')}.mp4")
        rows = {}
        for name in names:
            rows[name] = score_video(pipe, video, gt.joints, camera, CONFIGS[name])
            print(clip_id, name, {k: round(v, 1) for k, v in rows[name].items()}, file=sys.stderr, flush=True)
        report["clips"][clip_id] = {"frames": gt.num_frames, "view": asdict(view), **rows}
        frames.append(gt.num_frames)
    clips = list(report["clips"].values())
    report["mean"] = {n: mean_rows([c[n] for c in clips], frames) for n in names}
    if "every_frame" in names:
        report["worst_ratio"] = {n: {k: max(ratios(c[n], c["every_frame"])[k] for c in clips) for k in TARGET}
                                 for n in names}
        report["within_10pct_of_every_frame"] = {
            n: all(v <= 1.1 for v in ratios(report["mean"][n], report["mean"]["every_frame"]).values()) for n in names}
    print(table(report))
    for name, ok in report.get("within_10pct_of_every_frame", {}).items():
        print(f"{name}: mean MPJPE and PA-MPJPE within 10 % of every frame: {ok}")
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
