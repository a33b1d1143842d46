"""Checkpoint folders: config.json + model.safetensors (+ ema.safetensors) + normalizer.safetensors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from genmo.errors import UserInputError
from genmo.model.config import GenmoConfig
from genmo.model.denoiser import GenmoDenoiser
from genmo.motion.normalizer import Normalizer

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
EMA_FILE = "ema.safetensors"
NORMALIZER_FILE = "normalizer.safetensors"


def state_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """A module's state dict as contiguous CPU tensors (safetensors-ready)."""
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def staged(path: str | Path) -> Path:
    """The temporary name ``path`` is written under before it is renamed into place."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


def write_files(folder: str | Path, writers: list[tuple[str, Callable[[Path], object]]]) -> None:
    """Write a set of files into ``folder`` so that a process killed at any moment leaves the old set.

    Each ``writer(tmp)`` writes its file under a temporary name (``staged``); once every one is
    written and flushed to disk, they are renamed over their names in the order given, back to back,
    so the last one (e.g. the trainer's state.json) is replaced only when all the others are.
    A failed writer removes the temporary files and leaves every old file as it was.
    """
    folder = Path(folder)
    names = [(folder / name, staged(folder / name)) for name, _ in writers]
    try:
        for (_, tmp), (_, write) in zip(names, writers):
            write(tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
    except BaseException:
        for _, tmp in names:
            tmp.unlink(missing_ok=True)
        raise
    for path, tmp in names:
        os.replace(tmp, path)
    if hasattr(os, "O_DIRECTORY"):  # make the renames durable too
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def weights_writer(module: nn.Module) -> Callable[[Path], None]:
    """A ``write_files`` writer of a module's weights (safetensors)."""
    return lambda path: save_file(state_tensors(module), str(path))


def save_weights(module: nn.Module, path: str | Path) -> None:
    """Write a module's weights as safetensors, atomically (a temporary file renamed into place)."""
    path = Path(path)
    write_files(path.parent, [(path.name, weights_writer(module))])


def load_weights(module: nn.Module, path: str | Path, optional: tuple[str, ...] = ()) -> None:
    """Load safetensors weights into a module; missing or unexpected keys raise UserInputError,
    except missing ``optional`` ones (which keep the module's values)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"weights file not found: {path}")
    result = module.load_state_dict(load_file(str(path)), strict=False)
    missing = [k for k in result.missing_keys if k not in optional]
    if missing or result.unexpected_keys:
        raise UserInputError(f"{path}: weights do not fit the model (missing {missing[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]})")


def best_weights(folder: Path, ema: bool = True) -> Path:
    """The weights file of a checkpoint or run folder: its EMA weights when present (and ema), else the raw ones."""
    return folder / EMA_FILE if ema and (folder / EMA_FILE).is_file() else folder / MODEL_FILE


def load_denoiser(folder: str | Path, ema: bool = True, device: str | torch.device = "cpu"
                  ) -> tuple[GenmoDenoiser, GenmoConfig, Normalizer]:
    """The denoiser (eval mode; EMA weights when present and ema=True), its config and normaliser."""
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file():
        raise UserInputError(f"{folder}: not a checkpoint folder (no {CONFIG_FILE})")
    cfg = GenmoConfig.load(folder / CONFIG_FILE)
    model = GenmoDenoiser(cfg.model, cfg.diffusion.num_timesteps)
    load_weights(model, best_weights(folder, ema))
    normalizer = Normalizer.load(folder / NORMALIZER_FILE)
    return model.to(device).eval(), cfg, normalizer


SAMPLER_FIELDS = ("eta", "smooth_sigma", "floor_lift", "music_guidance_scale", "guidance_rescale",
                  "heading_guidance")  # diffusion keys training never reads


def export_checkpoint(run_dir: str | Path, out_dir: str | Path, half: bool = True,
                      sampler_from: str | Path | None = None) -> Path:
    """Copy a training run's EMA weights (float16 when `half`), config and normaliser into a shippable folder.

    With `sampler_from` (a checkpoint folder), the config takes that checkpoint's sampling settings
    (`SAMPLER_FIELDS`: DDIM eta, output smoothing, floor lift, music guidance, guidance rescale,
    heading guidance) in place of the run's, so a retrained model keeps the sampler the shipped one
    was evaluated with.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    source = best_weights(run_dir)
    if not source.is_file() or not (run_dir / CONFIG_FILE).is_file():
        raise UserInputError(f"{run_dir}: not a training run folder (needs {CONFIG_FILE} and weights)")
    config = GenmoConfig.load(run_dir / CONFIG_FILE)
    if sampler_from is not None:
        sampler = GenmoConfig.load(Path(sampler_from) / CONFIG_FILE).diffusion
        for name in SAMPLER_FIELDS:
            setattr(config.diffusion, name, getattr(sampler, name))
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = load_file(str(source))
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, str(out_dir / MODEL_FILE))
    config.save(out_dir / CONFIG_FILE)
    (out_dir / NORMALIZER_FILE).write_bytes((run_dir / NORMALIZER_FILE).read_bytes())
    return out_dir


def average_checkpoints(folders: list[str | Path], out_dir: str | Path,
                        weights: list[float] | None = None) -> Path:
    """Write the weighted mean of several checkpoints' weights (each folder's EMA weights when present)
    to ``out_dir`` as a run folder (config.json, normalizer.safetensors, ema.safetensors) that
    `export_checkpoint` ships. Averaging checkpoints of one training lineage (a model and its own
    continuation) keeps what each learned (docs/evaluation.md, "v25"). The folders must share the
    model config and the normaliser; ``weights`` default to equal and are normalised to sum to 1.
    """
    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise UserInputError("averaging needs at least two checkpoint folders")
    weights = [1.0] * len(folders) if weights is None else list(weights)
    if len(weights) != len(folders) or any(not w > 0 for w in weights):
        raise UserInputError(f"need one positive weight per folder, got {weights} for {len(folders)} folders")
    for folder in folders:
        if not (folder / CONFIG_FILE).is_file() or not best_weights(folder).is_file():
            raise UserInputError(f"{folder}: not a checkpoint folder (needs {CONFIG_FILE} and weights)")
    first = folders[0]
    config, normaliser = GenmoConfig.load(first / CONFIG_FILE), (first / NORMALIZER_FILE).read_bytes()
    for folder in folders[1:]:
        if GenmoConfig.load(folder / CONFIG_FILE).model != config.model:
            raise UserInputError(f"{folder}: its model config differs from {first}'s; only one architecture averages")
        if (folder / NORMALIZER_FILE).read_bytes() != normaliser:
            raise UserInputError(f"{folder}: its normaliser differs from {first}'s")
    states = [load_file(str(best_weights(folder))) for folder in folders]
    for folder, state in zip(folders[1:], states[1:]):
        if state.keys() != states[0].keys():
            raise UserInputError(f"{folder}: its weights do not match {first}'s tensor for tensor")
    total = sum(weights)
    mean: dict[str, torch.Tensor] = {}
    for key, value in states[0].items():
        if value.is_floating_point():
            mean[key] = sum(s[key].double() * (w / total) for s, w in zip(states, weights)).to(torch.float32)
        elif all(torch.equal(s[key], value) for s in states[1:]):
            mean[key] = value
        else:
            raise UserInputError(f"integer tensor {key!r} differs between the folders; it cannot be averaged")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in mean.items()}, str(out_dir / EMA_FILE))
    config.save(out_dir / CONFIG_FILE)
    (out_dir / NORMALIZER_FILE).write_bytes(normaliser)
    return out_dir
