"""`python -m genmo generate SPEC.json --out motion.npz`: run a timeline through the pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path

from genmo.commands.progress import stage_progress
from genmo.spec import STEPS_RANGE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("generate", help="generate (or estimate) motion from a timeline spec JSON")
    p.add_argument("spec", type=Path, help="timeline spec (JSON, version 1)")
    p.add_argument("--out", type=Path, required=True, help="motion npz to write")
    p.add_argument("--steps", type=int, help=f"DDIM steps ({STEPS_RANGE[0]}-{STEPS_RANGE[1]}); default: the spec's sampler.steps")
    p.add_argument("--seed", type=int, help="random seed; default: the spec's sampler.seed")
    p.add_argument("--guidance", type=float, help="classifier-free guidance weight; default: the spec's")
    p.add_argument("--smooth", type=float, metavar="SIGMA",
                   help="temporal smoothing in frames (0-10; 0 = raw sampler output; default: the checkpoint's)")
    p.add_argument("--render", type=Path, help="also render the body animation to this mp4")
    p.add_argument("--checkpoint", type=Path, help="checkpoint folder (default: checkpoints/genmo-small)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genmo.pipeline import GenmoPipeline
    from genmo.spec import load_spec

    spec = load_spec(args.spec)
    pipe = GenmoPipeline.from_pretrained(args.checkpoint)
    progress, close = stage_progress()
    try:
        result = pipe(spec, steps=args.steps, guidance=args.guidance, seed=args.seed, smooth=args.smooth,
                      progress=progress)
    finally:
        close()
    path = result.motion.save(args.out)
    print(f"wrote {path} ({result.motion.num_frames} frames at {result.motion.fps:g} fps)")
    if args.render:  # the render extra is needed only here
        from genmo.render.result import render_result

        video = render_result(result, args.render)
        print(f"wrote {video}")
    return 0
