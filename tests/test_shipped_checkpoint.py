"""The shipped checkpoint (checkpoints/genmo-small): complete, small, loaded by default, and trained."""

from __future__ import annotations

import numpy as np
import pytest

from genmo.model.config import GenmoConfig
from genmo.paths import default_checkpoint

FOLDER = default_checkpoint()
FILES = ("model.safetensors", "config.json", "normalizer.safetensors", "MODEL_CARD.md", "eval.json")


@pytest.fixture(scope="module")
def pipe():
    from genmo.pipeline import GenmoPipeline

    return GenmoPipeline.from_pretrained()


def test_folder_is_complete_and_under_100_mb():
    for name in FILES:
        assert (FOLDER / name).is_file(), f"{name} missing from {FOLDER}"
    assert sum(p.stat().st_size for p in FOLDER.iterdir()) < 100 * 2**20


def test_model_card_names_the_architecture_licence_and_eval_command():
    card = (FOLDER / "MODEL_CARD.md").read_text()
    cfg = GenmoConfig.load(FOLDER / "config.json")
    assert f"D = {cfg.model.d_model}, {cfg.model.n_layers} GENMO layers" in card
    assert "non-commercial" in card.lower()
    assert "python -m genmo eval --checkpoint checkpoints/genmo-small" in card


def test_model_card_tables_are_the_shipped_evaluation():
    """The card's tables are the report of the shipped `genmo eval --json` (eval.json), unedited."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "card_tables.py"
    spec = importlib.util.spec_from_file_location("card_tables", path)
    card_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card_tables)
    card = (FOLDER / "MODEL_CARD.md").read_text()
    results = json.loads((FOLDER / "eval.json").read_text())
    assert card_tables.replace_tables(card, card_tables.report_sections(results)) == card


def test_default_pipeline_loads_the_shipped_weights(pipe):
    cfg = GenmoConfig.load(FOLDER / "config.json")
    assert pipe.model.cfg.d_model == cfg.model.d_model and pipe.model.cfg.n_layers == cfg.model.n_layers
    assert all(bool(p.isfinite().all()) for p in pipe.model.parameters())


@pytest.mark.slow
def test_walk_prompt_walks_forward_on_the_floor(pipe):
    """An untrained model drifts and floats; the trained one walks: the root travels 1.5-15 m in 5 s,
    mostly in one direction, and the lowest foot stays near the floor."""
    from genmo.spec import load_spec

    spec = load_spec({"version": 1, "fps": 30, "duration": 5.0, "sampler": {"steps": 5, "guidance": 2.5, "seed": 0},
                      "tracks": [{"kind": "text", "start": 0.0, "end": 5.0, "text": "a person walks forward"}]})
    joints = pipe(spec).motion.joints
    root = joints[:, 0, [0, 2]]
    path = np.linalg.norm(np.diff(root, axis=0), axis=-1).sum()
    net = np.linalg.norm(root[-1] - root[0])
    assert 1.5 < net < 15.0 and net > 0.6 * path, (net, path)
    lowest_foot = joints[:, [7, 8, 10, 11], 1].min(axis=1)
    assert np.median(np.abs(lowest_foot - np.median(lowest_foot))) < 0.05
