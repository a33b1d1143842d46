"""The studio's one-click examples: timeline JSONs in examples/ with media made by examples/make_media.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genmo.paths import shipped_dir
from genmo.spec import load_spec

EXAMPLES_DIR = shipped_dir("examples")
EXAMPLES: dict[str, tuple[str, str]] = {
    "text_only": ("Text only", "one prompt for the whole timeline"),
    "two_prompts": ("Two prompts", "walk, then jump: chained without stitching"),
    "text_then_music": ("Text then music", "a bow, then dancing to a Bach chorale"),
    "video_estimation": ("Video estimation", "estimate the body in a rendered video clip"),
    "inbetweening": ("In-betweening", "three keyframes: standing, squat, arms up"),
    "mix": ("Mix of all", "2D keypoints, overlapping prompts, music and a keyframe"),
}


def example_path(name: str) -> Path:
    """The JSON file of an example."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r} (expected one of {', '.join(EXAMPLES)})")
    return EXAMPLES_DIR / f"{name}.json"


def load_example(name: str) -> dict[str, Any]:
    """The example's validated spec dict with absolute media paths."""
    return load_spec(example_path(name), check_files=True).to_dict()
