"""`python -m genmo eval --checkpoint DIR --data CORPUS [--json] [--out report.md] [--quick] [--tasks ...]`.

Evaluates on the corpus's TEST split only and prints one JSON object (--json) or the markdown
report; --out also writes the markdown. `--train-evaluator` instead trains the text/motion
evaluator on the TRAIN split and saves it (default checkpoints/evaluator).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genmo.errors import UserInputError
from genmo.eval.suite import TASKS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `eval` subcommand."""
    p = subparsers.add_parser("eval", help="evaluate a checkpoint on the test split (estimation, text, music, ...)")
    p.add_argument("--data", type=Path, required=True, help="corpus folder built by `genmo data build`")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", type=Path, help="checkpoint folder (default checkpoints/genmo-small)")
    src.add_argument("--tiny-random", action="store_true", help="evaluate an untrained tiny model (smoke test)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--out", type=Path, help="write the markdown report here")
    p.add_argument("--quick", action="store_true", help="few clips and steps (about a minute on a CPU)")
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    p.add_argument("--denoising", action="store_true",
                   help="only the denoising profile: x_0 error against t beside the trivial baselines")
    p.add_argument("--behaviours", action="store_true",
                   help="only the behaviour checks: a physical test of every action's prompt over 3 seeds")
    p.add_argument("--plot", type=Path, help="with the denoising task: also save its profile as a PNG plot")
    p.add_argument("--evaluator", type=Path, help="text/motion evaluator folder (default checkpoints/evaluator)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--split", choices=("test", "val"), default="test",
                   help="held-out split to score (default test; val only to choose settings such as --smooth)")
    p.add_argument("--smooth", type=float, metavar="SIGMA",
                   help="temporal smoothing of sampled motion in frames (default: the checkpoint's "
                        "diffusion.smooth_sigma; 0 = the raw sampler output)")
    p.add_argument("--guidance", type=float, metavar="W",
                   help="classifier-free guidance of every generation task (default: the sampler's, "
                        "genmo.spec.DEFAULT_GUIDANCE); choose it on --split val")
    p.add_argument("--device", help="torch device (default: cuda when available)")
    p.add_argument("--train-evaluator", action="store_true",
                   help="train the text/motion evaluator on the TRAIN split, save it to --evaluator and exit")
    p.add_argument("--evaluator-steps", type=int, default=1500, help="training steps of --train-evaluator")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate (or train the evaluator); prints the report or one JSON object."""
    from genmo.data.corpus import load_corpus
    from genmo.eval.evaluator import default_evaluator_dir, train_evaluator
    from genmo.eval.report import markdown_report
    from genmo.eval.suite import evaluate, log, parse_tasks
    from genmo.model.config import MAX_SMOOTH_SIGMA
    from genmo.spec import GUIDANCE_RANGE

    if args.smooth is not None and not 0.0 <= args.smooth <= MAX_SMOOTH_SIGMA:
        raise UserInputError(f"--smooth must be in [0, {MAX_SMOOTH_SIGMA:g}] frames, got {args.smooth}")
    if args.guidance is not None and not GUIDANCE_RANGE[0] <= args.guidance <= GUIDANCE_RANGE[1]:
        raise UserInputError(f"--guidance must be in [{GUIDANCE_RANGE[0]:g}, {GUIDANCE_RANGE[1]:g}], got {args.guidance}")
    evaluator_dir = args.evaluator or default_evaluator_dir()
    corpus = load_corpus(args.data)
    if args.train_evaluator:
        summary = train_evaluator(corpus, evaluator_dir, steps=args.evaluator_steps, seed=args.seed, log=log)
        print(json.dumps(summary))
        return 0
    tasks = parse_tasks(args.tasks)
    if args.denoising or args.behaviours:
        tasks = [t for t, on in (("denoising", args.denoising), ("behaviours", args.behaviours)) if on]
    from genmo.pipeline import GenmoPipeline

    if args.tiny_random:
        pipe, name = GenmoPipeline.tiny_random(seed=args.seed), "tiny-random"
    else:
        pipe = GenmoPipeline.from_pretrained(args.checkpoint, device=args.device)
        name = str(args.checkpoint) if args.checkpoint else "checkpoints/genmo-small"
    if args.smooth is not None:
        pipe.smooth_sigma = args.smooth
    result = {"checkpoint": name, "corpus": str(args.data), "evaluator": str(evaluator_dir)}
    result.update(evaluate(pipe, corpus, tasks, args.quick, evaluator_dir, seed=args.seed, split=args.split,
                           guidance=args.guidance))
    if args.plot and "denoising" in result:
        from genmo.eval.denoising import plot_profile

        plot_profile(result["denoising"], args.plot)
    report = markdown_report(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    print(json.dumps(result) if args.json else report)
    return 0
