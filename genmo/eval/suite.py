"""The evaluation suite: which tasks run, with which settings (the full protocol or --quick), and
one call that runs them on a pipeline and a corpus (the TEST split; `--split val` only to choose settings)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from genmo.errors import UserInputError, one_line

TASKS = ("estimation", "occlusion", "text", "music", "inbetween", "multitext", "denoising", "behaviours")
OCCLUSION = 0.3


def log(message: str) -> None:
    """Progress lines on stderr."""
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


def parse_tasks(text: str) -> list[str]:
    """The comma-separated task list of --tasks, checked against TASKS."""
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise UserInputError(f"--tasks: unknown task {unknown[0] if unknown else '(none)'}; choose from {', '.join(TASKS)}")
    return tasks


def evaluate(pipe, corpus, tasks: list[str], quick: bool, evaluator_dir: Path, seed: int = 0, log=log,
             split: str = "test", guidance: float | None = None) -> dict:
    """Run the requested tasks; returns the result object (without checkpoint/corpus names).
    ``guidance`` overrides every generation task's classifier-free guidance weight."""
    from dataclasses import asdict, replace

    from genmo.eval.behaviours import evaluate_behaviours
    from genmo.eval.denoising import evaluate_denoising
    from genmo.eval.estimation import evaluate_estimation
    from genmo.eval.evaluator import load_evaluator
    from genmo.eval.inbetween import evaluate_inbetween
    from genmo.eval.multitext import evaluate_multitext
    from genmo.eval.music import evaluate_music
    from genmo.eval.text2motion import evaluate_text2motion

    overrides = {"split": split} if guidance is None else {"split": split, "guidance": guidance}
    settings = {name: replace(value, **{k: v for k, v in overrides.items() if hasattr(value, k)})
                for name, value in settings_for(quick).items()}
    result: dict = {"split": split, "quick": quick, "seed": seed, "smooth_sigma": pipe.smooth_sigma,
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
            result["skipped"][task] = one_line(err)
            log(f"eval: {task} skipped: {result['skipped'][task]}")
        result["runtime_s"][task] = round(time.perf_counter() - t0, 2)
    result["runtime_s"]["total"] = round(time.perf_counter() - t_all, 2)
    return result
