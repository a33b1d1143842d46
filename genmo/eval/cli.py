"""`python -m genmo eval --checkpoint DIR --data CORPUS [--json] [--out report.md] [--quick] [--tasks ...]`.

Evaluates on the corpus's TEST split only and prints one JSON object (--json) or the markdown
report; --out also writes the markdown. `--train-evaluator` instead trains the text/motion
evaluator on the TRAIN split and saves it (default checkpoints/evaluator).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

TASKS = ("estimation", "occlusion", "text", "music", "inbetween", "multitext", "denoising", "behaviours")
OCCLUSION = 0.3


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
    p.add_argument("--plot", type=Path, help="with --denoising: also save the profile as a PNG plot")
    p.add_argument("--evaluator", type=Path, help="text/motion evaluator folder (default checkpoints/evaluator)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--smooth", type=float, metavar="SIGMA",
                   help="temporal smoothing of sampled motion in frames (default: the checkpoint's "
                        "diffusion.smooth_sigma; 0 = the raw sampler output)")
    p.add_argument("--device", help="torch device (default: cuda when available)")
    p.add_argument("--train-evaluator", action="store_true",
                   help="train the text/motion evaluator on the TRAIN split, save it to --evaluator and exit")
    p.add_argument("--evaluator-steps", type=int, default=1500, help="training steps of --train-evaluator")
    p.set_defaults(run=run)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def settings_for(quick: bool) -> dict:
    """Per-task settings: the full protocol, or the --quick one."""
    from genmo.eval.behaviours import BehaviourSettings
    from genmo.eval.denoising import DenoisingSettings
    from genmo.eval.estimation import EstimationSettings
    from genmo.eval.inbetween import InbetweenSettings
    from genmo.eval.multitext import MultiTextSettings
    from genmo.eval.music import MusicSettings
    from genmo.eval.text2motion import TextSettings

    if not quick:
        return {"estimation": EstimationSettings(), "text": TextSettings(), "music": MusicSettings(),
                "inbetween": InbetweenSettings(), "multitext": MultiTextSettings(),
                "denoising": DenoisingSettings(), "behaviours": BehaviourSettings()}
    return {"estimation": EstimationSettings(clips=6, max_frames=120, steps=(1, 5)),
            "text": TextSettings(clips=64, max_frames=120, steps=5, mm_texts=8, mm_generations=2, diversity_pairs=100),
            "music": MusicSettings(segment_frames=150, segments_per_clip=2, steps=5),
            "inbetween": InbetweenSettings(clips=8, frames=90, steps=5),
            "multitext": MultiTextSettings(timelines=4, window_frames=45, steps=5),
            "denoising": DenoisingSettings(windows=16), "behaviours": BehaviourSettings(seeds=(0, 1), min_pass=1, steps=5)}


def _tasks(text: str) -> list[str]:
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ValueError(f"--tasks: unknown task {unknown[0] if unknown else '(none)'}; choose from {', '.join(TASKS)}")
    return tasks


def evaluate(pipe, corpus, tasks: list[str], quick: bool, evaluator_dir: Path, seed: int = 0, log=_log) -> dict:
    """Run the requested tasks; returns the result object (without checkpoint/corpus names)."""
    from dataclasses import asdict

    from genmo.eval.behaviours import evaluate_behaviours
    from genmo.eval.denoising import evaluate_denoising
    from genmo.eval.estimation import evaluate_estimation
    from genmo.eval.evaluator import load_evaluator
    from genmo.eval.inbetween import evaluate_inbetween
    from genmo.eval.multitext import evaluate_multitext
    from genmo.eval.music import evaluate_music
    from genmo.eval.text2motion import evaluate_text2motion

    settings = settings_for(quick)
    result: dict = {"split": "test", "quick": quick, "seed": seed, "smooth_sigma": pipe.smooth_sigma,
                    "runtime_s": {}, "skipped": {},
                    "settings": {k: asdict(v) for k, v in settings.items()}}
    t_all = time.perf_counter()
    for task in tasks:
        t0 = time.perf_counter()
        log(f"eval: {task} ...")
        try:
            if task == "estimation":
                result["estimation"] = evaluate_estimation(pipe, corpus, settings["estimation"], seed=seed)
            elif task == "occlusion":
                result["estimation_occluded"] = evaluate_estimation(pipe, corpus, settings["estimation"],
                                                                    occlusion=OCCLUSION, seed=seed)
            elif task == "text":
                evaluator = load_evaluator(evaluator_dir)
                result["text_to_motion"] = evaluate_text2motion(pipe, corpus, evaluator, settings["text"], seed=seed)
            elif task == "music":
                result["music"] = evaluate_music(pipe, corpus, settings["music"], seed=seed)
            elif task == "inbetween":
                result["inbetween"] = evaluate_inbetween(pipe, corpus, settings["inbetween"], seed=seed)
            elif task == "multitext":
                result["multitext"] = evaluate_multitext(pipe, corpus, settings["multitext"], seed=seed)
            elif task == "denoising":
                result["denoising"] = evaluate_denoising(pipe, corpus, settings["denoising"], seed=seed)
            elif task == "behaviours":
                result["behaviours"] = evaluate_behaviours(pipe, settings["behaviours"])
        except ValueError as err:  # a task the corpus or the evaluator cannot support is reported, not fatal
            result["skipped"][task] = str(err).splitlines()[0]
            log(f"eval: {task} skipped: {result['skipped'][task]}")
        result["runtime_s"][task] = round(time.perf_counter() - t0, 2)
    result["runtime_s"]["total"] = round(time.perf_counter() - t_all, 2)
    return result


def run(args: argparse.Namespace) -> int:
    from genmo.data.corpus import load_corpus
    from genmo.eval.evaluator import default_evaluator_dir, train_evaluator
    from genmo.eval.report import markdown_report
    from genmo.model.config import MAX_SMOOTH_SIGMA

    if args.smooth is not None and not 0.0 <= args.smooth <= MAX_SMOOTH_SIGMA:
        raise ValueError(f"--smooth must be in [0, {MAX_SMOOTH_SIGMA:g}] frames, got {args.smooth}")
    evaluator_dir = args.evaluator or default_evaluator_dir()
    corpus = load_corpus(args.data)
    if args.train_evaluator:
        summary = train_evaluator(corpus, evaluator_dir, steps=args.evaluator_steps, seed=args.seed, log=_log)
        print(json.dumps(summary))
        return 0
    tasks = _tasks(args.tasks)
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
    result.update(evaluate(pipe, corpus, tasks, args.quick, evaluator_dir, seed=args.seed))
    if args.plot and "denoising" in result:
        from genmo.eval.denoising import plot_profile

        plot_profile(result["denoising"], args.plot)
    report = markdown_report(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    print(json.dumps(result) if args.json else report)
    return 0
