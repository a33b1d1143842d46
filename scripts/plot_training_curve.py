"""Plot training and validation loss of one or more runs: `python scripts/plot_training_curve.py OUT.png RUN_DIR...`.

Reads each run's `log.jsonl` (written by `python -m genmo train`); the training loss is smoothed over
20 logged points, the validation loss (held-out clips) is drawn as it was logged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_log(run_dir: Path) -> tuple[list[dict], list[dict]]:
    """(train records, validation records) of a run's log.jsonl."""
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("split") == "train"], [r for r in records if r.get("split") == "val"]


def smooth(values: np.ndarray, width: int = 20) -> np.ndarray:
    """Trailing moving average (shorter at the start)."""
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), width)
    return (cumsum[1:] - cumsum[np.arange(1, len(values) + 1) - counts]) / counts


def main() -> int:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, runs = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for run in runs:
        train, val = read_log(run)
        steps = np.array([r["step"] for r in train])
        line, = ax.plot(steps, smooth(np.array([r["loss"] for r in train])), alpha=0.5, label=f"{run.name} train")
        ax.plot([r["step"] for r in val], [r["loss"] for r in val], "o-", color=line.get_color(),
                label=f"{run.name} validation")
    ax.set(xlabel="step", ylabel="total loss", yscale="log", title="GENMO training loss (held-out validation clips)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
