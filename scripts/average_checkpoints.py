"""Average the weights of several checkpoints of one model into a run folder that ship_checkpoint exports.

    python scripts/average_checkpoints.py OUT_DIR FOLDER FOLDER [FOLDER ...] [--weights 1,1]

Each FOLDER is a training run, a copied snapshot of one, or a checkpoint folder; its EMA weights are
used when present. The folders must share the model config and the normaliser. Then
`python scripts/ship_checkpoint.py OUT_DIR SHIP_DIR --sampler-from checkpoints/genmo-small`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genmo.errors import UserInputError
from genmo.model.checkpoint import average_checkpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--weights", default=None, help="comma-separated, one per folder (default: equal)")
    args = parser.parse_args(argv)
    try:
        weights = [float(w) for w in args.weights.split(",")] if args.weights else None
        out = average_checkpoints(args.folders, args.out_dir, weights)
    except (UserInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"averaged {len(args.folders)} checkpoints into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
