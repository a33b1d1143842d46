"""Give a "wiener" checkpoint the per-feature skip: measure each feature's spectrum on the training
split with the checkpoint's own normaliser, store it with the weights and set model.skip_per_feature.
The weights are not retrained (docs/evaluation.md, "Per-feature Wiener skip").

    python scripts/feature_skip.py CHECKPOINT OUT_DIR --data runs/corpus
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from genmo.data.training import measure_feature_spectra, training_sets
from genmo.model.checkpoint import CONFIG_FILE, MODEL_FILE, NORMALIZER_FILE
from genmo.model.config import GenmoConfig
from genmo.motion.normalizer import Normalizer


def main() -> None:
    parser = argparse.ArgumentParser(description="Add per-feature Wiener skip spectra to a checkpoint.")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="the corpus the checkpoint was trained on")
    args = parser.parse_args()
    cfg = GenmoConfig.load(args.checkpoint / CONFIG_FILE)
    if cfg.model.prediction != "wiener":
        raise SystemExit(f"{args.checkpoint}: model.prediction is {cfg.model.prediction!r}, not 'wiener'")
    normalizer = Normalizer.load(args.checkpoint / NORMALIZER_FILE)
    train_set, _, _, collate = training_sets(args.data, cfg.train, normalizer)
    spectra = measure_feature_spectra(train_set, collate)
    tensors = load_file(str(args.checkpoint / MODEL_FILE))
    dtype = next(iter(tensors.values())).dtype
    tensors["skip_spectra"] = spectra.to(dtype)
    cfg.model.skip_per_feature = True
    args.out_dir.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(args.out_dir / MODEL_FILE))
    cfg.save(args.out_dir / CONFIG_FILE)
    if args.out_dir.resolve() != args.checkpoint.resolve():
        shutil.copyfile(args.checkpoint / NORMALIZER_FILE, args.out_dir / NORMALIZER_FILE)
    print(f"wrote {args.out_dir}: spectra of {spectra.shape[0]} features, mean power {float(spectra.mean()):.3f}")


if __name__ == "__main__":
    main()
