"""`python -m genmo bench [--json] [--quick]`: speed and memory on this machine (see genmo.bench)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genmo.errors import UserInputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="measure speed on this machine (generation, estimation, render, studio)")
    p.add_argument("--json", action="store_true", help="print one JSON object (default: a readable table)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and the untrained tiny model: a smoke test")
    p.add_argument("--threads", type=int, help="torch threads (default: one per core, 1 when the CPU is "
                                               "already saturated; see genmo.device.default_threads)")
    p.add_argument("--checkpoint", type=Path, help="checkpoint folder (default: checkpoints/genmo-small, "
                                                  "else random weights with configs/cpu-wide.json, its architecture)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads < 1:
        raise UserInputError(f"--threads must be >= 1, got {args.threads}")
    log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if not args.json else (lambda msg: None)
    from genmo.bench import run_bench

    report = run_bench(quick=args.quick, threads=args.threads, checkpoint=args.checkpoint, log=log)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:32s} {json.dumps(value)}")
    return 0
