"""`python -m genmo train --config CONFIG (--data DIR | --synthetic N) --out RUN_DIR [--steps N]
[--time-budget SECONDS] [--resume | --init CHECKPOINT]`.

Multi-process: `torchrun --nproc_per_node 2 -m genmo train ...` (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genmo.errors import UserInputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `train` subcommand."""
    p = subparsers.add_parser("train", help="train the GENMO denoiser (dual mode)")
    p.add_argument("--config", type=Path, required=True, help="config JSON (e.g. configs/small.json)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="training data folder (see genmo data)")
    src.add_argument("--synthetic", type=int, metavar="N", help="train on N synthetic samples (smoke test)")
    p.add_argument("--out", type=Path, required=True, help="run folder for checkpoints and logs")
    p.add_argument("--steps", type=int, help="total steps (default: train.steps of the config)")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="time the first steps, then train as many steps (at most --steps) as fit in SECONDS")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    start.add_argument("--init", type=Path, metavar="CHECKPOINT",
                       help="start from this checkpoint's weights and normaliser (fine-tuning; fresh optimiser)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _synthetic(n: int, cfg, normalizer):
    from genmo.train.synthetic import SyntheticMotionDataset

    train = SyntheticMotionDataset(n, cfg.train.seq_len, seed=cfg.train.seed, normalizer=normalizer)
    val = SyntheticMotionDataset(max(2, n // 8), cfg.train.seq_len, seed=cfg.train.seed + 1,
                                 normalizer=train.normalizer)
    return train, val, train.normalizer, None


def _real(data_dir: Path, cfg, normalizer):
    """Windows from genmo.data.dataset, turned into batches by genmo.data.training's collate."""
    from genmo.data.training import training_sets

    if not data_dir.is_dir():
        raise UserInputError(f"--data: folder not found: {data_dir}")
    return training_sets(data_dir, cfg.train, normalizer)


def run(args: argparse.Namespace) -> int:
    """Train; prints a JSON summary on stdout (main process)."""
    from genmo.model.checkpoint import CONFIG_FILE, NORMALIZER_FILE
    from genmo.model.config import GenmoConfig
    from genmo.motion.normalizer import Normalizer
    from genmo.train.trainer import Trainer

    cfg = GenmoConfig.load(args.config)
    if args.steps is not None and args.steps < 1:
        raise UserInputError(f"--steps must be >= 1, got {args.steps}")
    if args.time_budget is not None and args.time_budget <= 0:
        raise UserInputError(f"--time-budget must be > 0 seconds, got {args.time_budget:g}")
    normalizer = None
    if args.resume:
        if not (args.out / NORMALIZER_FILE).is_file():
            raise UserInputError(f"--resume: no checkpoint in {args.out}")
        normalizer = Normalizer.load(args.out / NORMALIZER_FILE)
    elif args.init is not None:
        if not (args.init / NORMALIZER_FILE).is_file():
            raise UserInputError(f"--init: no checkpoint in {args.init}")
        normalizer = Normalizer.load(args.init / NORMALIZER_FILE)
    if args.synthetic is not None:
        train_set, val_set, normalizer, collate = _synthetic(args.synthetic, cfg, normalizer)
    else:
        train_set, val_set, normalizer, collate = _real(args.data, cfg, normalizer)
    if cfg.model.prediction == "wiener" and not cfg.model.skip_spectrum and args.resume:
        cfg.model.skip_spectrum = GenmoConfig.load(args.out / CONFIG_FILE).model.skip_spectrum  # the run's own
    if cfg.model.prediction == "wiener" and not cfg.model.skip_spectrum and not cfg.model.skip_per_feature:
        if args.synthetic is not None:
            raise UserInputError("model.prediction 'wiener' needs model.skip_spectrum with --synthetic")
        from genmo.data.training import measure_spectrum

        cfg.model.skip_spectrum = measure_spectrum(train_set, collate)
    trainer = Trainer(cfg, train_set, val_set, args.out, normalizer, collate_fn=collate,
                      progress=not args.no_progress)
    try:
        if args.resume:
            trainer.resume()
        elif args.init is not None:
            trainer.warm_start(args.init)
        if cfg.model.skip_per_feature and not bool(trainer.model.skip_spectra.any()):
            if args.synthetic is not None:
                raise UserInputError("model.skip_per_feature measures its spectra from --data, not --synthetic")
            from genmo.data.training import measure_feature_spectra

            trainer.set_skip_spectra(measure_feature_spectra(train_set, collate))
        summary = trainer.fit(args.steps, budget_s=args.time_budget)
        if trainer.info.is_main:
            print(json.dumps({"out": str(args.out), **summary}))
    finally:
        trainer.close()
    return 0
