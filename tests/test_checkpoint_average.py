"""Averaging checkpoints of one model (genmo.model.checkpoint.average_checkpoints)."""

import pytest
import torch

from genmo.errors import UserInputError
from genmo.model.checkpoint import (CONFIG_FILE, EMA_FILE, MODEL_FILE, NORMALIZER_FILE, average_checkpoints,
                                    export_checkpoint, save_weights)
from genmo.pipeline import GenmoPipeline


def _run_folder(folder, pipe, seed, ema=True):
    torch.manual_seed(seed)
    for param in pipe.model.parameters():
        param.data.normal_()
    folder.mkdir()
    pipe.config.save(folder / CONFIG_FILE)
    save_weights(pipe.model, folder / (EMA_FILE if ema else MODEL_FILE))
    pipe.normalizer.save(folder / NORMALIZER_FILE)
    return {k: v.clone() for k, v in pipe.model.state_dict().items()}


def test_weighted_mean_of_two_checkpoints_loads_and_ships(tmp_path):
    pipe = GenmoPipeline.tiny_random()
    a = _run_folder(tmp_path / "a", pipe, 0)
    b = _run_folder(tmp_path / "b", pipe, 1, ema=False)  # a shipped-style folder: model weights only
    out = average_checkpoints([tmp_path / "a", tmp_path / "b"], tmp_path / "avg", weights=[3.0, 1.0])
    loaded = GenmoPipeline.from_pretrained(export_checkpoint(out, tmp_path / "ship", half=False))
    state = loaded.model.state_dict()
    for name, value in a.items():
        if value.is_floating_point():
            assert torch.allclose(state[name], 0.75 * value + 0.25 * b[name], atol=1e-6), name
    assert any(not torch.allclose(state[k], a[k]) for k in a if a[k].is_floating_point())


def test_folders_of_different_models_or_normalisers_are_refused(tmp_path):
    pipe = GenmoPipeline.tiny_random()
    _run_folder(tmp_path / "a", pipe, 0)
    _run_folder(tmp_path / "b", pipe, 1)
    with pytest.raises(UserInputError, match="at least two"):
        average_checkpoints([tmp_path / "a"], tmp_path / "out")
    with pytest.raises(UserInputError, match="positive weight"):
        average_checkpoints([tmp_path / "a", tmp_path / "b"], tmp_path / "out", weights=[1.0, 0.0])
    wider = GenmoPipeline.tiny_random()
    wider.config.model.d_model *= 2
    wider.config.save(tmp_path / "b" / CONFIG_FILE)
    with pytest.raises(UserInputError, match="model config differs"):
        average_checkpoints([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    pipe.config.save(tmp_path / "b" / CONFIG_FILE)
    (tmp_path / "b" / NORMALIZER_FILE).write_bytes((tmp_path / "b" / NORMALIZER_FILE).read_bytes() + b" ")
    with pytest.raises(UserInputError, match="normaliser differs"):
        average_checkpoints([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_script_reports_bad_input_in_one_line(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "average_checkpoints.py"
    spec = importlib.util.spec_from_file_location("average_checkpoints_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main([str(tmp_path / "out"), str(tmp_path / "missing"), str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing" in err[0]
