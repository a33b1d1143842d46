"""The paper's Table 7 ablations on this project's data: evaluate training runs on the estimation tasks.

    python scripts/ablation_table.py --data runs/corpus --out docs/ablations.json RUN_DIR [RUN_DIR ...]

Each run is exported like a shipped checkpoint (EMA weights, `RUN_DIR/export/`), then evaluated with
the full estimation protocol of `genmo eval` (test split, held-out cameras; plain and 30 % occluded).
Prints a markdown table (MPJPE, PA-MPJPE, W-MPJPE100, Jitter at 1 and 5 steps, plus the last
validation loss) and writes every figure as JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genmo.data.corpus import load_corpus
from genmo.eval.suite import evaluate
from genmo.eval.evaluator import default_evaluator_dir
from genmo.model.checkpoint import export_checkpoint
from genmo.model.config import GenmoConfig
from genmo.pipeline import GenmoPipeline

COLUMNS = (("mpjpe", "MPJPE"), ("pa_mpjpe", "PA-MPJPE"), ("w_mpjpe100", "W-MPJPE100"), ("jitter", "Jitter"))
STEPS = ("1", "5")


def describe_run(run_dir: Path) -> dict:
    """Training mode, 2D loss switch, steps and last validation loss of a run folder."""
    cfg = GenmoConfig.load(run_dir / "config.json")
    val = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if '"val"' in line]
    return {"mode": cfg.train.mode, "use_2d_loss": cfg.train.use_2d_loss, "steps": cfg.train.steps,
            "batch_size": cfg.train.batch_size, "d_model": cfg.model.d_model, "n_layers": cfg.model.n_layers,
            "val_loss": val[-1]["loss"] if val else None, "val_step": val[-1]["step"] if val else None}


def evaluate_run(run_dir: Path, corpus) -> dict:
    """Export the run's EMA weights and evaluate estimation, with and without occlusion."""
    folder = export_checkpoint(run_dir, run_dir / "export")
    pipe = GenmoPipeline.from_pretrained(folder, device="cpu")
    result = evaluate(pipe, corpus, ["estimation", "occlusion"], quick=False, evaluator_dir=default_evaluator_dir(),
                      log=lambda m: print(f"{run_dir.name}: {m}", file=sys.stderr, flush=True))
    return {"run": str(run_dir), **describe_run(run_dir), **result}


def markdown(rows: list[dict]) -> str:
    """One line per run and task: the columns at 1 and 5 DDIM steps."""
    head = ["run", "mode", "2D loss", "val loss", "task"] + [f"{h} ({s})" for s in STEPS for _, h in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        for task, label in (("estimation", "2D"), ("estimation_occluded", "2D, 30% occluded")):
            steps = row[task]["steps"]
            cells = [f"{steps[s][k]:.1f}" for s in STEPS for k, _ in COLUMNS]
            lines.append("| " + " | ".join([Path(row["run"]).name, row["mode"], "yes" if row["use_2d_loss"] else "no",
                                             f"{row['val_loss']:.2f}", label, *cells]) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="training run folders")
    parser.add_argument("--data", type=Path, required=True, help="corpus folder")
    parser.add_argument("--out", type=Path, help="write all figures here as JSON")
    args = parser.parse_args()
    corpus = load_corpus(args.data)
    rows = [evaluate_run(run, corpus) for run in args.runs]
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
