"""The Wiener skip (prediction "wiener"): its kernels, its filtering and the denoiser with it."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from genmo.diffusion.ddim import DDIMSampler
from genmo.diffusion.schedule import NoiseSchedule, cosine_alphas_cumprod
from genmo.model import GenmoDenoiser
from genmo.model.checkpoint import load_weights, save_weights
from genmo.model.skip_filter import (apply_kernels, feature_spectra, feature_wiener_kernels, grid_interpolation,
                                     motion_spectrum, wiener_kernels)
from tests.test_model import TINY, make_model, random_conditions

ABAR = cosine_alphas_cumprod(1000).float()
SLOW = [50.0, 5.0, 1.0, 0.1, 0.01, 0.01, 0.01, 0.01]  # power mostly at low frequencies, like motion


def test_flat_spectrum_gives_the_scalar_v_skip() -> None:
    kernels = wiener_kernels([1.0, 1.0, 1.0], ABAR)
    centre = kernels.shape[1] // 2
    assert torch.allclose(kernels[:, centre], ABAR.sqrt(), atol=1e-5)
    assert kernels[:, :centre].abs().max() < 1e-5 and kernels[:, centre + 1:].abs().max() < 1e-5


def test_slow_spectrum_removes_frame_to_frame_noise_more_as_t_grows() -> None:
    kernels = wiener_kernels(SLOW, ABAR)
    noise = torch.randn(1, 400, 3, generator=torch.Generator().manual_seed(0))
    t_small, t_mid = 1, 250
    rough = {t: float(apply_kernels(noise, kernels[t:t + 1]).diff(dim=1).std()) for t in (t_small, t_mid)}
    plain = float(noise.diff(dim=1).std())
    assert rough[t_mid] < 0.3 * math.sqrt(float(ABAR[t_mid])) * plain  # the scalar skip keeps sqrt(abar)
    assert rough[t_mid] < 0.5 * rough[t_small]
    # a constant signal passes with the Wiener DC gain (close to 1 / sqrt(abar) for strong DC power)
    const = torch.ones(1, 50, 2)
    gain = float(apply_kernels(const, kernels[t_mid:t_mid + 1]).mean())
    p0 = SLOW[0] / (sum(SLOW) * 2 - SLOW[0] - SLOW[-1]) * (2 * len(SLOW) - 2)
    expected = math.sqrt(float(ABAR[t_mid])) * p0 / (float(ABAR[t_mid]) * p0 + 1 - float(ABAR[t_mid]))
    assert gain == pytest.approx(expected, rel=1e-3)


def test_power_cap_one_never_skips_more_than_v_and_still_removes_fast_noise() -> None:
    capped, free = wiener_kernels(SLOW, ABAR, power_cap=1.0), wiener_kernels(SLOW, ABAR)
    const = torch.ones(1, 50, 2)
    for t in (1, 250, 600, 900):
        dc = float(apply_kernels(const, capped[t:t + 1]).mean())
        assert dc == pytest.approx(math.sqrt(float(ABAR[t])), rel=1e-3)  # slow content: exactly the v skip
        assert dc < float(apply_kernels(const, free[t:t + 1]).mean())  # the uncapped filter amplifies it
    noise = torch.randn(1, 400, 3, generator=torch.Generator().manual_seed(0))
    rough = float(apply_kernels(noise, capped[250:251]).diff(dim=1).std())
    assert rough < 0.3 * math.sqrt(float(ABAR[250])) * float(noise.diff(dim=1).std())


def test_apply_kernels_per_sample_and_edges() -> None:
    x = torch.randn(2, 7, 4)  # shorter than the kernel: edge frames are held
    delta = torch.zeros(2, 61)
    delta[0, 30], delta[1, 30] = 1.0, 2.0
    out = apply_kernels(x, delta)
    assert torch.allclose(out[0], x[0], atol=1e-6) and torch.allclose(out[1], 2 * x[1], atol=1e-6)


def test_motion_spectrum_of_white_and_of_slow_signals() -> None:
    gen = torch.Generator().manual_seed(1)
    white = torch.randn(64, 120, 8, generator=gen)
    valid = torch.ones(64, 120, dtype=torch.bool)
    spec = motion_spectrum([{"x0": white, "valid": valid}])
    assert len(spec) == 61 and max(spec) < 1.5 and min(spec) > 0.5
    slow = torch.cumsum(white, dim=1) / 10  # a random walk: power falls with frequency
    spec = motion_spectrum([{"x0": slow, "valid": valid}])
    assert spec[1] > 100 * spec[-1]
    with pytest.raises(ValueError, match="no window"):
        motion_spectrum([{"x0": white, "valid": torch.zeros(64, 120, dtype=torch.bool)}])


def test_wiener_denoiser_keeps_estimation_and_keyframes_exact() -> None:
    cfg = dataclasses.replace(TINY, adaln=True, prediction="wiener", text_layers=1, skip_spectrum=SLOW)
    model = make_model(cfg)
    batch = random_conditions(2, 24)
    zeros = torch.zeros(2, 24, cfg.motion_dim)
    last = torch.tensor([999, 999])
    with torch.no_grad():
        est = model(zeros, last, batch)
        model_v = GenmoDenoiser(dataclasses.replace(cfg, prediction="v"))
        model_v.load_state_dict(model.state_dict())
        assert torch.allclose(est, model_v(zeros, last, batch), atol=1e-6)  # skip of zeros is zero
    known = torch.randn(1, 24, cfg.motion_dim)
    mask = torch.zeros_like(known, dtype=torch.bool)
    mask[:, 10] = True
    keyed = random_conditions(1, 24, keys=(), texts=0)
    out = DDIMSampler(model, NoiseSchedule()).sample(keyed, steps=5, seed=0, keyframes=known, keyframe_mask=mask)
    assert torch.equal(out[mask], known[mask])
    with pytest.raises(ValueError, match="skip_spectrum"):
        GenmoDenoiser(dataclasses.replace(cfg, skip_spectrum=[]))


def test_feature_kernels_are_the_shared_kernels_of_each_features_own_spectrum() -> None:
    slow = torch.tensor(SLOW)
    unit = slow / ((2 * slow.sum() - slow[0] - slow[-1]) / (2 * len(SLOW) - 2))  # the shared filter's scaling
    spectra = torch.stack([unit, torch.ones(len(SLOW))])  # a slow feature and a white one
    steps = torch.tensor([1, 250, 600])
    kernels = feature_wiener_kernels(spectra, ABAR[steps], grid_interpolation(len(SLOW)), power_cap=1.0)
    assert kernels.shape == (3, 2, 61)
    assert torch.allclose(kernels[:, 0], wiener_kernels(SLOW, ABAR, power_cap=1.0)[steps], atol=1e-5)
    centre = kernels.shape[-1] // 2
    assert torch.allclose(kernels[:, 1, centre], ABAR[steps].sqrt(), atol=1e-5)  # white: the scalar v skip


def test_apply_kernels_per_feature_filters_each_feature_by_its_own_kernel() -> None:
    x = torch.randn(2, 40, 3, generator=torch.Generator().manual_seed(2))
    kernels = torch.randn(2, 3, 61, generator=torch.Generator().manual_seed(3))
    out = apply_kernels(x, kernels)
    for d in range(3):
        assert torch.allclose(out[..., d], apply_kernels(x[..., d:d + 1], kernels[:, d])[..., 0], atol=1e-5)


def test_feature_spectra_keep_each_features_power_in_normalised_units() -> None:
    gen = torch.Generator().manual_seed(4)
    white = torch.randn(64, 120, 1, generator=gen)
    slow = torch.cumsum(torch.randn(64, 120, 1, generator=gen), dim=1) / 10
    spectra = feature_spectra([{"x0": torch.cat([white, 3 * white, slow], dim=-1),
                                "valid": torch.ones(64, 120, dtype=torch.bool)}])
    assert spectra.shape == (3, 61)
    assert 0.8 < float(spectra[0].mean()) < 1.2 and torch.allclose(spectra[1], 9 * spectra[0], rtol=1e-4)
    assert spectra[2, 1] > 100 * spectra[2, -1]


def test_per_feature_skip_keeps_the_estimation_pass_and_loads_a_shared_checkpoint(tmp_path) -> None:
    shared_cfg = dataclasses.replace(TINY, adaln=True, prediction="wiener", text_layers=1, skip_spectrum=SLOW)
    shared = make_model(shared_cfg)
    save_weights(shared, tmp_path / "shared.safetensors")
    model = GenmoDenoiser(dataclasses.replace(shared_cfg, skip_per_feature=True))
    with pytest.raises(Exception, match="skip_spectra"):
        load_weights(model, tmp_path / "shared.safetensors")
    load_weights(model, tmp_path / "shared.safetensors", optional=("skip_spectra",))
    model.skip_spectra.copy_(torch.rand(shared_cfg.motion_dim, 61) * 5)
    batch = random_conditions(2, 24)
    zeros = torch.zeros(2, 24, shared_cfg.motion_dim)
    last = torch.tensor([999, 999])
    x_t = torch.randn(2, 24, shared_cfg.motion_dim)
    mid = torch.tensor([300, 300])
    with torch.no_grad():
        assert torch.allclose(model(zeros, last, batch), shared(zeros, last, batch), atol=1e-6)
        assert not torch.allclose(model(x_t, mid, batch), shared(x_t, mid, batch), atol=1e-4)
    save_weights(model, tmp_path / "per_feature.safetensors")
    again = GenmoDenoiser(dataclasses.replace(shared_cfg, skip_per_feature=True))
    load_weights(again, tmp_path / "per_feature.safetensors")
    assert torch.equal(again.skip_spectra, model.skip_spectra)
