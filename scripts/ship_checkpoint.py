"""Copy a training run into a shippable checkpoint folder: `python scripts/ship_checkpoint.py RUN_DIR [OUT_DIR]`.

Writes float16 EMA weights, config.json and the normaliser; the model card is written by hand
(with the evaluation table) next to them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from genmo.model.checkpoint import export_checkpoint
from genmo.paths import default_checkpoint

if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = export_checkpoint(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) == 3 else default_checkpoint())
    size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    print(f"wrote {out} ({size:.1f} MiB)")
