"""The Wiener skip of the "wiener" prediction: x_0 = H_t * x_t + sqrt(1 - abar_t) F.

For stationary data of temporal power spectrum P(f) (unit variance: P = 1 is white) noised as
x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps, the best linear estimate of x_0 from x_t filters every
frequency by H_t(f) = sqrt(abar) P(f) / (abar P(f) + 1 - abar). With P = 1 this is the scalar
skip sqrt(abar) of the "v" prediction; for motion, whose power lies at low frequencies, it is a
low-pass filter that narrows as t grows, so the skip no longer passes the frame-to-frame noise of
x_t into x_0 and the network's head need not cancel it. The filter is an odd FIR kernel per
timestep, applied along time with the edge frames held.

One spectrum for every feature (``wiener_kernels``) is what v5-v9 were trained with. Features differ
a lot, though: contacts and a few joints carry most of the fast power, so the shared spectrum lets
more frame-to-frame noise through the skip than the smooth features have. ``feature_wiener_kernels``
filters each feature by its own spectrum (measured in normalised units, so noise has power 1).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

GRID = 512  # frequency grid the kernels are designed on
HALF_TAPS = 30  # kernels have 2 * HALF_TAPS + 1 taps
SPECTRUM_BINS = 61  # a measured spectrum's frequencies, evenly spaced from 0 to 0.5 cycles per frame


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
    return _fir(response, half_taps).float()


def _fir(response: Tensor, half_taps: int) -> Tensor:
    """Odd FIR kernels (..., 2 * half_taps + 1) of zero-phase responses (..., GRID/2 + 1), DC gain kept."""
    impulse = torch.fft.irfft(response, n=GRID, dim=-1)  # real and even: taps at 0, 1, ..., -1
    taps = torch.cat([impulse[..., -half_taps:], impulse[..., : half_taps + 1]], dim=-1)
    return taps * (response[..., :1] / taps.sum(-1, keepdim=True).clamp(min=1e-12))


def grid_interpolation(bins: int = SPECTRUM_BINS) -> Tensor:
    """(bins, GRID/2 + 1) weights: ``powers @ W`` interpolates powers at ``bins`` evenly spaced
    frequencies (0 to 0.5 cycles per frame) linearly onto the kernel design grid."""
    pos = torch.linspace(0.0, bins - 1, GRID // 2 + 1, dtype=torch.float64)
    lo = pos.floor().long().clamp(max=bins - 2)
    frac = pos - lo
    weights = torch.zeros(bins, GRID // 2 + 1, dtype=torch.float64)
    cols = torch.arange(GRID // 2 + 1)
    weights[lo, cols] = 1 - frac
    weights[lo + 1, cols] += frac
    return weights.float()


def feature_wiener_kernels(spectra: Tensor, alphas_cumprod: Tensor, interpolation: Tensor,
                           half_taps: int = HALF_TAPS, power_cap: float = 0.0) -> Tensor:
    """FIR kernels (B, D, 2 * half_taps + 1) of each feature's Wiener filter H_t for the B noise levels
    ``alphas_cumprod`` (B,). ``spectra`` (D, bins) are the features' powers in normalised units (noise
    has power 1, so they are not rescaled), put on the design grid by ``interpolation``
    (``grid_interpolation``) and clipped at ``power_cap`` when it is > 0, as in ``wiener_kernels``."""
    p = (spectra.float() @ interpolation).clamp(min=0.0)  # (D, GRID/2 + 1)
    if power_cap > 0:
        p = p.clamp(max=power_cap)
    levels, inverse = torch.unique(alphas_cumprod, return_inverse=True)  # sampling batches share one t
    a = levels.float()[:, None, None]
    response = a.sqrt() * p / (a * p + (1 - a))  # (levels, D, GRID/2 + 1)
    return _fir(response, half_taps)[inverse]


def apply_kernels(x: Tensor, kernels: Tensor) -> Tensor:
    """Filter x (B, T, D) along time with one kernel per sample (B, K) or per sample and feature
    (B, D, K), edge frames held."""
    half = kernels.shape[-1] // 2
    padded = F.pad(x.transpose(1, 2), (half, half), mode="replicate")  # (B, D, T + 2 half)
    windows = padded.unfold(-1, kernels.shape[-1], 1)  # (B, D, T, K)
    pattern = "bdtk,bk->btd" if kernels.ndim == 2 else "bdtk,bdk->btd"
    return torch.einsum(pattern, windows, kernels.to(x.dtype))


@torch.no_grad()
def motion_spectrum(batches, bins: int = SPECTRUM_BINS) -> list[float]:
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


@torch.no_grad()
def feature_spectra(batches, bins: int = SPECTRUM_BINS) -> Tensor:
    """Each feature's mean temporal power spectrum (D, bins) of normalised motion x0 (B, T, D) over an
    iterable of batches (as ``motion_spectrum``), in normalised units: not rescaled, so a feature of
    unit variance has a mean power of 1 and the Wiener gain weighs it against unit noise."""
    total, count = None, 0
    for batch in batches:
        x = batch["x0"][batch["valid"].all(dim=1)].to(torch.float64)
        if not len(x):
            continue
        power = torch.fft.rfft(x, dim=1).abs().pow(2).sum(dim=0) / x.shape[1]  # (T/2 + 1, D)
        total = power if total is None else total + power
        count += len(x)
    if total is None:
        raise ValueError("feature_spectra: no window with every frame valid")
    mean = (total / count).numpy()
    freqs, out = np.linspace(0.0, 0.5, mean.shape[0]), np.linspace(0.0, 0.5, bins)
    return torch.from_numpy(np.stack([np.interp(out, freqs, mean[:, d]) for d in range(mean.shape[1])])).float()
