"""The prepared GPU training run: train from a pack within a wall-clock budget, export the checkpoint.

    python scripts/gpu_train.py --pack runs/pack --out OUT_DIR --budget-s 450 [--config configs/gpu-v4.json]
        [--init CHECKPOINT] [--batch-size N] [--workers N] [--require-cuda]

The budget covers the whole script, from its start (imports, reading the pack, fitting the normaliser)
to the exported checkpoint: the trainer gets what is left less EXPORT_RESERVE_S, times its first
steps and sets the step count so that its cosine schedule ends inside that (genmo.train.budget).
The run folder (full-precision weights, optimiser state) goes to --run-dir, a temporary folder by
default; OUT_DIR receives only what is worth bringing back: the float16 EMA checkpoint (config.json,
model.safetensors, normalizer.safetensors, loadable by GenmoPipeline.from_pretrained), log.jsonl
and summary.json. The device is genmo.device's choice (CUDA when there is one); it also runs on
the CPU, which is how it is tested. docs/training.md gives the device tool's call.
"""

from __future__ import annotations

import time

START = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the loader workers are the CPU's work; one thread each

import torch  # noqa: E402

from genmo.data.training import training_sets  # noqa: E402
from genmo.device import pick_device  # noqa: E402
from genmo.errors import GenmoUserError, one_line  # noqa: E402
from genmo.model.checkpoint import NORMALIZER_FILE, export_checkpoint  # noqa: E402
from genmo.model.config import GenmoConfig  # noqa: E402
from genmo.motion.normalizer import Normalizer  # noqa: E402
from genmo.train.trainer import LOG_FILE, Trainer  # noqa: E402

EXPORT_RESERVE_S = 10.0  # exporting the checkpoint and copying the log
SUMMARY_FILE = "summary.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pack", type=Path, default=Path("runs/pack"), help="pack folder (python -m genmo data pack)")
    p.add_argument("--out", type=Path, required=True, help="folder for the exported checkpoint, log and summary")
    p.add_argument("--budget-s", type=float, required=True, help="wall-clock seconds for the whole script")
    p.add_argument("--config", type=Path, default=Path("configs/gpu-v4.json"))
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights and normaliser")
    p.add_argument("--run-dir", type=Path, help="training run folder (default: a temporary folder)")
    p.add_argument("--batch-size", type=int, help="override train.batch_size")
    p.add_argument("--workers", type=int, help="override train.num_workers")
    p.add_argument("--require-cuda", action="store_true", help="fail at once when no CUDA device is found")
    return p.parse_args(argv)


def _plan_record(log: Path) -> dict:
    plans = [r for r in map(json.loads, log.read_text().splitlines()) if r.get("split") == "plan"]
    return plans[-1] if plans else {}


def train(args: argparse.Namespace) -> dict:
    """Run the budgeted training and the export; returns the summary."""
    device = pick_device()
    if args.require_cuda and device.type != "cuda":
        raise GenmoUserError("--require-cuda: torch sees no CUDA device")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    cfg = GenmoConfig.load(args.config)
    if args.batch_size is not None:
        cfg.train.batch_size = args.batch_size
    if args.workers is not None:
        cfg.train.num_workers = args.workers
    normalizer = Normalizer.load(args.init / NORMALIZER_FILE) if args.init else None
    train_set, val_set, normalizer, collate = training_sets(args.pack, cfg.train, normalizer)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="genmo-gpu-run-"))
    trainer = Trainer(cfg, train_set, val_set, run_dir, normalizer, collate_fn=collate, progress=False)
    if args.init:
        trainer.warm_start(args.init)
    setup_s = time.monotonic() - START
    fit_budget = args.budget_s - setup_s - EXPORT_RESERVE_S
    if fit_budget <= 0:
        raise GenmoUserError(f"--budget-s {args.budget_s:g}: setup alone took {setup_s:.0f} s")
    t0 = time.monotonic()
    result = trainer.fit(budget_s=fit_budget)
    fit_s = time.monotonic() - t0
    trainer.close()
    export_checkpoint(run_dir, args.out)
    shutil.copy(run_dir / LOG_FILE, args.out / LOG_FILE)
    plan = _plan_record(run_dir / LOG_FILE)
    summary = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "config": str(args.config), "pack": str(args.pack),
               "batch_size": cfg.train.batch_size, "num_workers": cfg.train.num_workers,
               "train_windows": len(train_set), "val_windows": len(val_set), **result,
               "planned_steps": plan.get("steps"), "probe_step_s": plan.get("step_s"),
               "windows_per_s": round(result["step"] * cfg.train.batch_size / fit_s, 1),
               "setup_s": round(setup_s, 1), "fit_s": round(fit_s, 1), "budget_s": args.budget_s,
               "files": {f.name: f.stat().st_size for f in sorted(args.out.iterdir()) if f.is_file()}}
    summary["wall_s"] = round(time.monotonic() - START, 1)
    (args.out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        summary = train(args)
    except GenmoUserError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
