"""Checkpoint folders: config.json + model.safetensors (+ ema.safetensors) + normalizer.safetensors."""

from __future__ import annotations

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


def save_weights(module: nn.Module, path: str | Path) -> None:
    save_file(state_tensors(module), str(path))


def load_weights(module: nn.Module, path: str | Path) -> None:
    """Load safetensors weights into a module; missing or unexpected keys raise UserInputError."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"weights file not found: {path}")
    result = module.load_state_dict(load_file(str(path)), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise UserInputError(f"{path}: weights do not fit the model (missing {result.missing_keys[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]})")


def load_denoiser(folder: str | Path, ema: bool = True, device: str | torch.device = "cpu"
                  ) -> tuple[GenmoDenoiser, GenmoConfig, Normalizer]:
    """The denoiser (eval mode; EMA weights when present and ema=True), its config and normaliser."""
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file():
        raise UserInputError(f"{folder}: not a checkpoint folder (no {CONFIG_FILE})")
    cfg = GenmoConfig.load(folder / CONFIG_FILE)
    model = GenmoDenoiser(cfg.model, cfg.diffusion.num_timesteps)
    weights = folder / EMA_FILE if ema and (folder / EMA_FILE).is_file() else folder / MODEL_FILE
    load_weights(model, weights)
    normalizer = Normalizer.load(folder / NORMALIZER_FILE)
    return model.to(device).eval(), cfg, normalizer


def export_checkpoint(run_dir: str | Path, out_dir: str | Path, half: bool = True) -> Path:
    """Copy a training run's EMA weights (float16 when `half`), config and normaliser into a shippable folder."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    source = run_dir / EMA_FILE if (run_dir / EMA_FILE).is_file() else run_dir / MODEL_FILE
    if not source.is_file() or not (run_dir / CONFIG_FILE).is_file():
        raise UserInputError(f"{run_dir}: not a training run folder (needs {CONFIG_FILE} and weights)")
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = load_file(str(source))
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, str(out_dir / MODEL_FILE))
    for name in (CONFIG_FILE, NORMALIZER_FILE):
        (out_dir / name).write_bytes((run_dir / name).read_bytes())
    return out_dir
