"""The Wiener skip of the "wiener" prediction: x_0 = H_t * x_t + sqrt(1 - abar_t) F.

For stationary data of temporal power spectrum P(f) (unit variance: P = 1 is white) noised as
x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps, the best linear estimate of x_0 from x_t filters every
frequency by H_t(f) = sqrt(abar) P(f) / (abar P(f) + 1 - abar). With P = 1 this is the scalar
skip sqrt(abar) of the "v" prediction; for motion, whose power lies at low frequencies, it is a
low-pass filter that narrows as t grows, so the skip no longer passes the frame-to-frame noise of
x_t into x_0 and the network's head need not cancel it. The filter is an odd FIR kernel per
timestep, applied along time with the edge frames held.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

GRID = 512  # frequency grid the kernels are designed on
HALF_TAPS = 30  # kernels have 2 * HALF_TAPS + 1 taps


def _unit_mean(one_sided: torch.Tensor) -> torch.Tensor:
    """A one-sided power spectrum (0 to 0.5 cycles per frame) scaled so its two-sided mean is 1."""
    two_sided = torch.cat([one_sided, one_sided[1:-1].flip(0)])
    return one_sided / two_sided.mean().clamp(min=1e-12)


def wiener_kernels(spectrum: list[float], alphas_cumprod: Tensor, half_taps: int = HALF_TAPS,
                   power_cap: float = 0.0) -> Tensor:
    """FIR kernels (num_timesteps, 2 * half_taps + 1) of H_t for a one-sided power spectrum given at
    evenly spaced frequencies from 0 to 0.5 cycles per frame (normalised here to a mean of 1).
    ``power_cap`` > 0 clips the normalised powers at that value: with 1, no frequency passes more of
    x_t than the scalar skip sqrt(abar), so the filter only removes noise where motion is weaker
    than white noise (its high frequencies) and leaves the slow content to the network."""
    p = torch.as_tensor(spectrum, dtype=torch.float64)
    if p.ndim != 1 or len(p) < 2 or bool((p < 0).any()):
        raise ValueError("spectrum: expected at least two non-negative powers")
    freqs = torch.linspace(0.0, 0.5, GRID // 2 + 1, dtype=torch.float64)
    p_grid = torch.from_numpy(np.interp(freqs.numpy(), np.linspace(0.0, 0.5, len(p)), p.numpy()))
    p_grid = _unit_mean(p_grid)
    if power_cap > 0:
        p_grid = p_grid.clamp(max=power_cap)
    a = alphas_cumprod.to(torch.float64)[:, None]
    response = a.sqrt() * p_grid / (a * p_grid + (1 - a))  # (T, GRID/2 + 1)
    impulse = torch.fft.irfft(response, n=GRID, dim=-1)  # real and even: taps at 0, 1, ..., -1
    taps = torch.cat([impulse[:, -half_taps:], impulse[:, : half_taps + 1]], dim=-1)
    taps = taps * (response[:, :1] / taps.sum(-1, keepdim=True).clamp(min=1e-12))  # keep the DC gain
    return taps.float()


def apply_kernels(x: Tensor, kernels: Tensor) -> Tensor:
    """Filter x (B, T, D) along time with one kernel per sample (B, K), edge frames held."""
    half = kernels.shape[-1] // 2
    padded = F.pad(x.transpose(1, 2), (half, half), mode="replicate")  # (B, D, T + 2 half)
    windows = padded.unfold(-1, kernels.shape[-1], 1)  # (B, D, T, K)
    return torch.einsum("bdtk,bk->btd", windows, kernels.to(x.dtype))


@torch.no_grad()
def motion_spectrum(batches, bins: int = 61) -> list[float]:
    """Mean temporal power spectrum of normalised motion x0 (B, T, D) over an iterable of batches
    (dicts with "x0" and "valid"; only windows with every frame valid), at ``bins`` frequencies from
    0 to 0.5 cycles per frame, scaled to a mean of 1."""
    total, count = None, 0
    for batch in batches:
        x = batch["x0"][batch["valid"].all(dim=1)].to(torch.float64)
        if not len(x):
            continue
        power = torch.fft.rfft(x, dim=1).abs().pow(2).mean(dim=(0, 2)) / x.shape[1]
        power = torch.from_numpy(np.interp(np.linspace(0.0, 0.5, bins), np.linspace(0.0, 0.5, len(power)),
                                           power.numpy()))
        total = power * len(x) if total is None else total + power * len(x)
        count += len(x)
    if total is None:
        raise ValueError("motion_spectrum: no window with every frame valid")
    return [round(float(v), 6) for v in _unit_mean(total / count)]
