"""The v3 denoiser options: the x_t skip (prediction "v"), AdaLN-zero conditioning, trainable text layers."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from genmo.diffusion.ddim import DDIMSampler
from genmo.diffusion.schedule import NoiseSchedule
from genmo.model import GenmoDenoiser
from genmo.train.trainer import parameter_groups
from tests.test_model import TINY, make_model, random_conditions

V3 = dataclasses.replace(TINY, adaln=True, prediction="v", text_layers=1)


def test_defaults_are_the_v2_denoiser() -> None:
    """All v3 options off: no new parameters, so v2 checkpoints load unchanged."""
    v2_keys = set(GenmoDenoiser(TINY).state_dict())
    assert not any(k.startswith(("modulation", "text_pool", "text_encoder")) for k in v2_keys)
    assert {"modulation.0.weight", "text_pool.weight", "text_encoder.0.qkv.weight"} <= set(GenmoDenoiser(V3).state_dict())


def test_skip_makes_small_t_output_close_to_x_t() -> None:
    """x_0 = sqrt(abar) x_t + sqrt(1 - abar) F: at t = 0 the input passes through almost untouched."""
    model = make_model(V3)
    x = torch.randn(2, 20, V3.motion_dim)
    batch = random_conditions(2, 20)
    with torch.no_grad():
        out0 = model(x, torch.tensor([0, 0]), batch)
        out_hi = model(x, torch.tensor([999, 999]), batch)
    assert (out0 - x).abs().max() < 0.2 * (out_hi - x).abs().max()
    abar = NoiseSchedule().alphas_cumprod
    assert float(abar[0]) > 0.999 and float(abar[999]) < 1e-6


def test_estimation_pass_from_zeros_ignores_the_skip() -> None:
    """At t = T-1 from zeros the skip term is exactly 0, so the output is sqrt(1 - abar) F."""
    model = make_model(V3)
    batch = random_conditions(2, 12)
    zeros = torch.zeros(2, 12, V3.motion_dim)
    t = torch.tensor([999, 999])
    with torch.no_grad():
        out = model(zeros, t, batch)
        x0_model = dataclasses.replace(V3, prediction="x0")
        plain = GenmoDenoiser(x0_model).eval()
        plain.load_state_dict(model.state_dict())
        raw = plain(zeros, t, batch)
    abar = NoiseSchedule().alphas_cumprod[999].item()
    torch.testing.assert_close(out, (1 - abar) ** 0.5 * raw)


@pytest.mark.parametrize("length", [1, 9, 40])
def test_v3_any_length_and_window(length: int) -> None:
    model = make_model(V3)
    x = torch.randn(2, length, V3.motion_dim)
    batch = random_conditions(2, length)
    with torch.no_grad():
        out = model(x, torch.tensor([5, 500]), batch)
        dense = model(x, torch.tensor([5, 500]), batch, attention="dense_over_window")
    assert out.shape == x.shape and torch.isfinite(out).all()
    torch.testing.assert_close(out, dense, atol=1e-4, rtol=1e-4)


def test_adaln_depends_on_t_and_on_the_prompt_covering_each_frame() -> None:
    model = make_model(dataclasses.replace(V3, prediction="x0"))
    x = torch.randn(1, 16, V3.motion_dim)
    batch = random_conditions(1, 16, keys=(), texts=2)
    batch["text_windows"][:] = False
    batch["text_windows"][0, 0, :8] = True  # prompt 0 covers frames 0-7, prompt 1 frames 8-15
    batch["text_windows"][0, 1, 8:] = True
    other = {**batch, "text_tokens": batch["text_tokens"].clone()}
    other["text_tokens"][0, 1] = torch.randn(5, 384)  # change prompt 1 only
    with torch.no_grad():
        a = model(x, torch.tensor([100]), batch)
        b = model(x, torch.tensor([600]), batch)
        c = model(x, torch.tensor([100]), other)
    assert not torch.allclose(a, b)  # the timestep matters
    diff = (a - c).abs().amax(dim=-1)[0]
    assert diff[8:].min() > 0  # frames under the changed prompt change
    # frames 0-7 see prompt 1 only through self-attention, which mixes every frame: check the AdaLN path alone
    mods_a = model.modulations(model.timestep(torch.tensor([100])), model.encode_text(batch), batch,
                               batch["text_windows"] & batch["text_present"][..., None])
    mods_c = model.modulations(model.timestep(torch.tensor([100])), model.encode_text(other), other,
                               other["text_windows"] & other["text_present"][..., None])
    assert torch.equal(mods_a[0][0, :8], mods_c[0][0, :8]) and not torch.equal(mods_a[0][0, 8:], mods_c[0][0, 8:])


def test_ddim_keyframes_exact_with_skip() -> None:
    model = make_model(V3)
    batch = random_conditions(1, 24, keys=(), texts=0)
    known = torch.randn(1, 24, V3.motion_dim)
    mask = torch.zeros_like(known, dtype=torch.bool)
    mask[:, 10] = True
    out = DDIMSampler(model, NoiseSchedule()).sample(batch, steps=5, seed=0, keyframes=known, keyframe_mask=mask)
    assert torch.equal(out[mask], known[mask])


def test_seeds_give_different_samples_with_skip() -> None:
    model = make_model(V3)
    batch = random_conditions(1, 24, keys=(), texts=1)
    sampler = DDIMSampler(model, NoiseSchedule())
    a = sampler.sample(batch, steps=5, seed=0)
    b = sampler.sample(batch, steps=5, seed=1)
    assert (a - b).abs().mean() > 1e-3


def test_no_weight_decay_on_gates_norms_and_biases() -> None:
    model = GenmoDenoiser(V3)
    decay, exempt = parameter_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.01 and exempt["weight_decay"] == 0.0
    exempt_names = {names[id(p)] for p in exempt["params"]}
    assert all(p.ndim == 1 or names[id(p)].endswith("invisible") for p in exempt["params"])
    assert "attn_blocks.0.gate" in exempt_names and "attn_blocks.0.norm.weight" in exempt_names
    assert "attn_blocks.0.qkv.weight" not in exempt_names
    assert len(decay["params"]) + len(exempt["params"]) == len(list(model.parameters()))
