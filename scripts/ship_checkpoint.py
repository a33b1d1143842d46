"""Copy a training run into a shippable checkpoint folder.

    python scripts/ship_checkpoint.py RUN_DIR [OUT_DIR] [--sampler-from CHECKPOINT]

Writes float16 EMA weights, config.json and the normaliser; `--sampler-from` takes the sampling
settings (eta, smoothing, floor lift, music guidance) from an existing checkpoint such as the shipped
one. The model card is written by hand (with the evaluation table) next to them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from genmo.model.checkpoint import export_checkpoint
from genmo.paths import default_checkpoint

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Export a training run as a float16 checkpoint folder.")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out_dir", type=Path, nargs="?", default=None)
    parser.add_argument("--sampler-from", type=Path, default=None, help="checkpoint whose sampler settings to keep")
    args = parser.parse_args()
    out = export_checkpoint(args.run_dir, args.out_dir or default_checkpoint(), sampler_from=args.sampler_from)
    size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    print(f"wrote {out} ({size:.1f} MiB)")
