"""`python -m genmo estimate --video V | --keypoints2d K --out motion.npz`: motion from observations."""

from __future__ import annotations

import argparse
from pathlib import Path

from genmo.commands.progress import stage_progress
from genmo.spec import STEPS_RANGE, Sampler


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("estimate", help="estimate motion from a video or a 2D keypoint file")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", type=Path, help="video file (mp4, avi, mov, mkv, webm)")
    source.add_argument("--keypoints2d", type=Path, help="2D keypoints npz (COCO-17, see docs/spec.md)")
    p.add_argument("--out", type=Path, required=True, help="motion npz to write")
    p.add_argument("--steps", type=int, default=Sampler.steps,
                   help=f"DDIM steps ({STEPS_RANGE[0]}-{STEPS_RANGE[1]}, default {Sampler.steps})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smooth", type=float, metavar="SIGMA",
                   help="temporal smoothing in frames (0-10; 0 = raw sampler output; default: the checkpoint's)")
    p.add_argument("--fast", action="store_true",
                   help="video: pose at 15 Hz, camera at 10 Hz, detection only when the person is lost "
                        "(faster than real time; less accurate, see docs/performance.md)")
    p.add_argument("--render", type=Path, help="also render the body animation to this mp4")
    p.add_argument("--checkpoint", type=Path, help="checkpoint folder (default: checkpoints/genmo-small)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genmo.pipeline import GenmoPipeline
    from genmo.spec import spec_for_observation

    kind, path = ("video", args.video) if args.video else ("keypoints2d", args.keypoints2d)
    spec = spec_for_observation(kind, path)
    pipe = GenmoPipeline.from_pretrained(args.checkpoint)
    if args.fast:
        from genmo.conditions.frontend import FAST

        pipe.video_options = FAST
    progress, close = stage_progress()
    try:
        result = pipe(spec, steps=args.steps, seed=args.seed, smooth=args.smooth,
                      progress=progress)
    finally:
        close()
    out = result.motion.save(args.out)
    print(f"wrote {out} ({result.motion.num_frames} frames, {result.motion.duration:.2f} s)")
    if args.render:  # the render extra is needed only here
        from genmo.render.result import render_result

        print(f"wrote {render_result(result, args.render)}")
    return 0
