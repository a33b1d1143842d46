"""Text following of one checkpoint under several sampler settings, on the validation split.

    python scripts/text_probe.py --checkpoint DIR [--data runs/corpus] [--settings 10:2.5,10:5,50:2.5]
                                 [--clips 128] [--smooth 2] [--json out.json]

Each setting is STEPS:GUIDANCE. For each, the text-to-motion task of `genmo eval` (genmo.eval.text2motion:
one generation per clip from its first sentence, the learned evaluator, R-precision in batches of 32)
runs on ``--clips`` validation clips, without the multimodality repeats. It is cheaper than the full
protocol (320 test clips, 50 steps) and larger than --quick (64 clips, 5 steps), whose action accuracy
moves by one clip between checkpoints. The validation split is for choosing settings and recipes;
report on the test split with `genmo eval`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def parse_settings(text: str) -> list[tuple[int, float]]:
    """'10:2.5,50:5' -> [(10, 2.5), (50, 5.0)]."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        steps, _, guidance = item.partition(":")
        out.append((int(steps), float(guidance or 1.0)))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("runs/corpus"))
    p.add_argument("--settings", default="10:2.5", help="comma-separated STEPS:GUIDANCE")
    p.add_argument("--clips", type=int, default=128)
    p.add_argument("--smooth", type=float, default=2.0, help="output smoothing (frames)")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)

    from genmo.data.corpus import load_corpus
    from genmo.eval.evaluator import default_evaluator_dir, load_evaluator
    from genmo.eval.text2motion import TextSettings, evaluate_text2motion
    from genmo.pipeline import GenmoPipeline

    pipe = GenmoPipeline.from_pretrained(args.checkpoint)
    pipe.smooth_sigma = args.smooth
    corpus = load_corpus(args.data)
    evaluator = load_evaluator(default_evaluator_dir())
    rows = []
    for steps, guidance in parse_settings(args.settings):
        start = time.perf_counter()
        result = evaluate_text2motion(pipe, corpus, evaluator, TextSettings(
            clips=args.clips, steps=steps, guidance=guidance, mm_texts=0, split="val"))
        gen = result["generated"]
        row = {"checkpoint": str(args.checkpoint), "clips": result["clips"], "steps": steps, "guidance": guidance,
               "seconds": round(time.perf_counter() - start),
               **{k: gen.get(k) for k in ("r_precision_top3", "action_accuracy", "fid", "diversity", "matching_score")}}
        print(json.dumps(row), flush=True)
        rows.append(row)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
