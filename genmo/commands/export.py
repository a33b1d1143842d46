"""`python -m genmo export motion.npz --to bvh|glb|mp4|npz --out FILE [--cleanup]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from genmo.errors import UserInputError
from genmo.export import FORMATS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``export`` subcommand."""
    p = subparsers.add_parser("export", help="export a motion file to BVH, animated GLB, mp4 or npz",
                              description="Export a motion npz. --to defaults to the --out file's extension.")
    p.add_argument("motion", type=Path, help="motion npz (written by generate, estimate or data import)")
    p.add_argument("--out", type=Path, required=True, help="output file")
    p.add_argument("--to", choices=FORMATS, help="output format (default: from --out's extension)")
    p.add_argument("--cleanup", action="store_true", help="remove foot skate first (pins feet during contact)")
    p.add_argument("--units", choices=("m", "cm"), default="m", help="BVH units (m: Blender at scale 1; cm: Maya/MoBu)")
    p.add_argument("--audio", type=Path, help="mp4: audio file to mux (AAC)")
    p.add_argument("--audio-offset", type=float, default=0.0, help="mp4: seconds into the audio file to start")
    p.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"), help="mp4 frame size")
    p.add_argument("--body", choices=("auto", "smpl", "default"), default="auto", help="body model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load, optionally clean, export; print one line per result."""
    from genmo.body import load_body
    from genmo.export import export_motion
    from genmo.motion.motion import Motion

    fmt = args.to or args.out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UserInputError(f"cannot tell the export format from {args.out.name!r}: pass --to {'|'.join(FORMATS)}")
    if args.audio is not None and not args.audio.is_file():
        raise UserInputError(f"--audio: file not found: {args.audio}")
    motion = Motion.load(args.motion)
    body = load_body(args.body)
    if args.cleanup:
        from genmo.cleanup import clean_foot_skate, contact_foot_sliding

        cleaned = clean_foot_skate(motion, body)
        if motion.contacts is not None:
            before = contact_foot_sliding(_joints(motion, body), motion.contacts)
            after = contact_foot_sliding(cleaned.joints, cleaned.contacts)
            print(f"foot sliding on contact frames: {before:.2f} -> {after:.2f} mm/frame")
        motion = cleaned
    path = export_motion(motion, fmt, args.out, body=body, units=args.units, audio=args.audio,
                         audio_offset=args.audio_offset, size=tuple(args.size))
    print(f"wrote {path} ({fmt}, {motion.num_frames} frames at {motion.fps:g} fps, {motion.duration:.2f} s)")
    return 0


def _joints(motion, body):
    """World joints (N, 24, 3) from ``body`` (the same body the clean-up uses, whatever the file carries)."""
    import torch

    with torch.no_grad():
        return body(torch.from_numpy(motion.poses), torch.from_numpy(motion.betas), torch.from_numpy(motion.trans),
                    with_vertices=False).joints.numpy()
