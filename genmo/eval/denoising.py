"""The denoising profile: how well the denoiser recovers x_0 from x_t at each noise level, beside
the trivial predictors it must beat.

For held-out windows (their own text and music; no 2D, as when generating) and each t, draw
x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps and report the normalised MSE of:

    model        G(x_t, t, C)
    copy_xt      x_t itself
    scaled_xt    sqrt(abar_t) x_t  (the best scalar multiple of x_t under unit-variance data)
    mean         0, the data mean in normalised units

over the world fields (camera fields mean nothing without a camera). A denoiser that ignores
x_t is beaten by copy_xt at small t; one that ignores the conditions is no better than
scaled_xt at large t.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genmo.data.corpus import Corpus
from genmo.data.dataset import MotionWindows
from genmo.data.training import WindowCollator
from genmo.diffusion.schedule import NoiseSchedule
from genmo.model.batch import batch_to
from genmo.motion.representation import WORLD_FIELDS, field_mask

PROFILE_STEPS = (1, 10, 100, 300, 500, 999)
BASELINES = ("copy_xt", "scaled_xt", "mean")


@dataclass
class DenoisingSettings:
    windows: int = 64
    seq_len: int = 120
    steps: tuple[int, ...] = PROFILE_STEPS
    batch_size: int = 16
    split: str = "test"


def _masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    err = ((pred - target) ** 2)[mask]
    return float(err.mean()) if err.numel() else float("nan")


@torch.no_grad()
def evaluate_denoising(pipe, corpus: Corpus, settings: DenoisingSettings = DenoisingSettings(), seed: int = 0) -> dict:
    """{"t": [...], "model": [...], "copy_xt": [...], "scaled_xt": [...], "mean": [...], "windows": n}."""
    windows = MotionWindows(corpus, settings.split, window=settings.seq_len, stride=settings.seq_len,
                            two_d_prob=0.0, yaw_aug=False, seed=seed)
    if len(windows) == 0:
        raise ValueError(f"denoising: no {settings.split} windows of {settings.seq_len} frames in the corpus")
    picks = torch.linspace(0, len(windows) - 1, min(settings.windows, len(windows))).round().long().tolist()
    collate = WindowCollator(pipe.normalizer, text_encoder=pipe.text_encoder)
    schedule = NoiseSchedule(pipe.config.diffusion.num_timesteps)
    world = field_mask(WORLD_FIELDS)
    gen = torch.Generator().manual_seed(seed)
    sums = {name: [0.0] * len(settings.steps) for name in ("model", *BASELINES)}
    counts = [0] * len(settings.steps)
    model = pipe.model
    for start in range(0, len(picks), settings.batch_size):
        cond = batch_to(collate([windows[i] for i in picks[start:start + settings.batch_size]]), pipe.device)
        x0 = cond["x0"]
        mask = cond["valid"][..., None] & world.to(pipe.device)
        n = x0.shape[0]
        for j, t in enumerate(settings.steps):
            tt = torch.full((n,), int(t), dtype=torch.long, device=pipe.device)
            noise = torch.randn(x0.shape, generator=gen).to(pipe.device)
            x_t = schedule.q_sample(x0, tt, noise)
            a = schedule.alpha_bar(tt, x0)
            preds = {"model": model(x_t, tt, cond), "copy_xt": x_t, "scaled_xt": a.sqrt() * x_t,
                     "mean": torch.zeros_like(x0)}
            for name, pred in preds.items():
                sums[name][j] += _masked_mse(pred, x0, mask) * n
            counts[j] += n
    means = {name: [v / c for v, c in zip(values, counts)] for name, values in sums.items()}
    out: dict = {"t": list(settings.steps), "windows": len(picks), "split": settings.split}
    out.update({name: [float(f"{v:.4g}") for v in values] for name, values in means.items()})
    out["beats_every_baseline"] = all(
        means["model"][j] < min(means[b][j] for b in BASELINES) for j in range(len(settings.steps)))
    return out


def plot_profile(profile: dict, path) -> None:
    """Save the profile (model and baselines against t, log scales) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    for name, style in (("model", "o-"), ("copy_xt", "s--"), ("scaled_xt", "^--"), ("mean", ":")):
        ax.plot(profile["t"], profile[name], style, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("diffusion step t")
    ax.set_ylabel("x_0 error (normalised MSE)")
    ax.set_title(f"Denoising profile ({profile['windows']} {profile['split']} windows)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
