"""`python -m genmo data {build,pack,stats,import-bvh}`: build the training corpus, pack it compactly
for another machine, summarise it, retarget a BVH file to an SMPL-24 motion file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genmo.data.sources import SOURCES
from genmo.errors import UserInputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `data` with its sub-subcommands."""
    data = subparsers.add_parser("data", help="training data: build the corpus, pack it, stats, import BVH")
    sub = data.add_subparsers(dest="data_command", required=True)
    b = sub.add_parser("build", help="convert the motion sets into a cached SMPL-24 corpus")
    b.add_argument("--out", required=True, help="corpus folder to write")
    b.add_argument("--data", default=None, help="data folder (default: $GENMO_DATA or ../shared/data)")
    b.add_argument("--sources", default=",".join(SOURCES), help="comma-separated motion sets")
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--no-music", action="store_true", help="skip music features")
    b.add_argument("--limit", type=int, default=None, help="at most this many clips per set (quick builds)")
    k = sub.add_parser("pack", help="a compact copy of what training reads (motion + text states) for a GPU machine")
    k.add_argument("--corpus", default=None, help="corpus folder (default: runs/corpus in the repository)")
    k.add_argument("--out", required=True, help="pack folder to write")
    k.add_argument("--texts-per-clip", type=int, default=None,
                   help="keep at most this many sentences per clip, the most shared first (default: all)")
    k.add_argument("--text-bits", type=int, choices=(16, 8), default=16,
                   help="text states as float16, or as 8-bit codes with a per-dimension range")
    s = sub.add_parser("stats", help="print hours / clips / splits of a corpus")
    s.add_argument("--data", default=None, help="corpus folder (default: runs/corpus in the repository)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    i = sub.add_parser("import-bvh", help="retarget a BVH file to an SMPL-24 motion npz")
    i.add_argument("bvh")
    i.add_argument("--out", required=True)
    i.add_argument("--joint-map", default=None, help='JSON {"smpl_joint": "bvh_joint"} (default: match names)')
    i.add_argument("--scale", type=float, default=None, help="file units to metres (default: guess cm or m)")
    data.set_defaults(run=run)


def _data_root(arg: str | None) -> Path:
    from genmo.paths import data_root

    root = Path(arg) if arg else data_root()
    if root is None or not Path(root).is_dir():
        raise UserInputError("no data folder: pass --data DIR or set GENMO_DATA")
    return Path(root)


def _default_corpus() -> Path:
    from genmo.paths import repo_root

    return repo_root() / "runs" / "corpus"


def run(args: argparse.Namespace) -> int:
    """Run a `data` subcommand; returns the exit code."""
    if args.data_command == "build":
        from genmo.data.corpus import build_corpus

        sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
        unknown = [s for s in sources if s not in SOURCES]
        if unknown:
            raise UserInputError(f"unknown motion set(s) {', '.join(unknown)}; expected {', '.join(SOURCES)}")
        log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
        build_corpus(_data_root(args.data), Path(args.out), sources, max(1, args.workers), not args.no_music, args.limit, log)
        return 0
    if args.data_command == "pack":
        from genmo.data.pack import build_pack

        log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
        corpus = Path(args.corpus) if args.corpus else _default_corpus()
        print(json.dumps(build_pack(corpus, Path(args.out), args.texts_per_clip, args.text_bits, log=log)))
        return 0
    if args.data_command == "stats":
        from genmo.data.corpus import corpus_stats, load_corpus

        stats = corpus_stats(load_corpus(Path(args.data) if args.data else _default_corpus()))
        if args.json:
            print(json.dumps(stats))
        else:
            print(f"total {stats['total_hours']:.2f} h; splits {stats['splits']}")
            for name, s in stats["sources"].items():
                print(f"  {name:18s} {s['clips']:5d} clips {s['hours']:.2f} h")
        return 0
    if args.data_command == "import-bvh":
        from genmo.data.importer import import_bvh

        motion = import_bvh(Path(args.bvh), Path(args.out), args.joint_map, args.scale)
        print(f"wrote {args.out}: {motion.num_frames} frames at {motion.fps:g} fps", file=sys.stderr)
        return 0
    raise UserInputError(f"unknown data command {args.data_command!r}")
