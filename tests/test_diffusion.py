"""Cosine schedule, q_sample and the DDIM sampler (estimation pass, CFG, in-painting, seeds)."""

from __future__ import annotations

import math

import pytest
import torch

from genmo.diffusion import DDIMSampler, NoiseSchedule
from genmo.diffusion.ddim import null_guided, without_music
from genmo.errors import UserInputError
from genmo.model.config import GenmoConfig
from tests.test_model import TINY, make_model, random_conditions


@pytest.fixture(scope="module")
def sampler() -> DDIMSampler:
    return DDIMSampler(make_model(), NoiseSchedule(1000), estimation_input="zeros")


def test_cosine_schedule_matches_formula() -> None:
    sched = NoiseSchedule(1000)
    a = sched.alphas_cumprod
    assert a.shape == (1000,)
    assert (a[1:] < a[:-1]).all() and 0 < a[-1] < 1e-3 and a[0] > 0.999

    def f(u: float) -> float:
        return math.cos((u / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2

    assert a[499].item() == pytest.approx(f(500) / f(0), rel=1e-6)


def test_q_sample_moments() -> None:
    sched = NoiseSchedule(1000)
    x0 = torch.full((4000, 1, 1), 2.0)
    t = torch.full((4000,), 300)
    xt = sched.q_sample(x0, t, torch.randn(4000, 1, 1, generator=torch.Generator().manual_seed(0)))
    a = sched.alphas_cumprod[300].item()
    assert xt.mean().item() == pytest.approx(2 * math.sqrt(a), abs=0.05)
    assert xt.std().item() == pytest.approx(math.sqrt(1 - a), abs=0.05)
    assert torch.allclose(sched.predict_noise(xt, t, x0), (xt - math.sqrt(a) * x0) / math.sqrt(1 - a), atol=1e-5)


@pytest.mark.parametrize("steps", [1, 2, 5, 50])
def test_ddim_timesteps(steps: int) -> None:
    ts = NoiseSchedule(1000).ddim_timesteps(steps)
    assert len(ts) == steps and ts[0] == 999 and ts == sorted(ts, reverse=True)
    assert steps == 1 or ts[-1] == 0
    with pytest.raises(ValueError, match="steps"):
        NoiseSchedule(1000).ddim_timesteps(0)


def test_one_step_equals_estimation_pass(sampler: DDIMSampler) -> None:
    batch = random_conditions(2, 20)
    one = sampler.sample(batch, steps=1, guidance=1.0, seed=3)
    est = sampler.estimate(batch)
    assert torch.allclose(one, est, atol=1e-6)


def test_sampling_shapes_seeds_and_callback(sampler: DDIMSampler) -> None:
    batch = random_conditions(2, 30)
    seen: list[tuple[int, int, int]] = []
    a = sampler.sample(batch, steps=5, guidance=2.5, seed=7, callback=lambda i, n, t: seen.append((i, n, t)))
    b = sampler.sample(batch, steps=5, guidance=2.5, seed=7)
    c = sampler.sample(batch, steps=5, guidance=2.5, seed=8)
    assert a.shape == (2, 30, TINY.motion_dim) and torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-4
    assert [s[0] for s in seen] == list(range(5)) and seen[0][2] == 999 and seen[-1][2] == 0
    stochastic = sampler.sample(batch, steps=5, eta=1.0, seed=7)
    assert (stochastic - a).abs().max() > 1e-4


def test_guidance_is_u_plus_w_times_c_minus_u(sampler: DDIMSampler) -> None:
    batch = random_conditions(2, 20)
    model = sampler.model
    x = torch.zeros(2, 20, TINY.motion_dim)
    t = torch.full((2,), 999)
    with torch.no_grad():
        c = model(x, t, batch)
        u = model(x, t, null_guided(batch))
    guided = sampler.sample(batch, steps=1, guidance=3.0)
    assert torch.allclose(guided, u + 3.0 * (c - u), atol=1e-5)
    assert (c - u).abs().max() > 1e-4  # the null really drops text and music


def _guidance_parts(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The estimation pass (t = 999 from zeros) with every condition, without the music, and the null."""
    b, length = batch["valid"].shape
    x = torch.zeros(b, length, TINY.motion_dim)
    t = torch.full((b,), 999)
    with torch.no_grad():
        return tuple(model(x, t, part) for part in (batch, without_music(batch), null_guided(batch)))


def test_music_scale_weighs_the_music_apart_from_the_text() -> None:
    batch = random_conditions(2, 20)
    assert batch["cond_mask"]["music"].any() and batch["text_present"].any()
    model = make_model()
    c, c_text, u = _guidance_parts(model, batch)
    plain = DDIMSampler(model, NoiseSchedule(1000)).sample(batch, steps=1, guidance=3.0)
    scaled = DDIMSampler(model, NoiseSchedule(1000), music_scale=2.0).sample(batch, steps=1, guidance=3.0)
    assert torch.allclose(plain, u + 3.0 * (c - u), atol=1e-5)  # scale 1: plain guidance
    assert torch.allclose(scaled, u + 3.0 * (c_text - u) + 6.0 * (c - c_text), atol=1e-5)
    assert (c - c_text).abs().max() > 1e-4  # the music changes the prediction
    silent = without_music(batch)
    assert torch.allclose(DDIMSampler(model, NoiseSchedule(1000), music_scale=2.0).sample(silent, steps=1, guidance=3.0),
                          DDIMSampler(model, NoiseSchedule(1000)).sample(silent, steps=1, guidance=3.0), atol=1e-6)


def test_guidance_rescale_gives_the_guided_output_the_conditional_spread() -> None:
    batch = without_music(random_conditions(2, 20))  # text alone: the whole guided output is rescaled
    model = make_model()
    c, _, u = _guidance_parts(model, batch)
    guided = u + 3.0 * (c - u)
    full = DDIMSampler(model, NoiseSchedule(1000), guidance_rescale=1.0).sample(batch, steps=1, guidance=3.0)
    half = DDIMSampler(model, NoiseSchedule(1000), guidance_rescale=0.5).sample(batch, steps=1, guidance=3.0)
    assert not torch.allclose(guided.std(dim=(1, 2)), c.std(dim=(1, 2)), rtol=1e-2)  # guidance changed the spread
    assert torch.allclose(full.std(dim=(1, 2)), c.std(dim=(1, 2)), rtol=1e-4)
    assert torch.allclose(half, 0.5 * full + 0.5 * guided, atol=1e-5)


def test_guidance_rescale_leaves_the_music_share_unscaled() -> None:
    batch = random_conditions(2, 20)
    assert batch["cond_mask"]["music"].any() and batch["text_present"].any()
    model = make_model()
    c, c_text, u = _guidance_parts(model, batch)
    text_part = u + 3.0 * (c_text - u)
    text_part = text_part * c_text.std(dim=(1, 2), keepdim=True) / text_part.std(dim=(1, 2), keepdim=True)
    out = DDIMSampler(model, NoiseSchedule(1000), guidance_rescale=1.0).sample(batch, steps=1, guidance=3.0)
    assert torch.allclose(out, text_part + 3.0 * (c - c_text), atol=1e-5)
    with pytest.raises(ValueError, match="guidance_rescale"):
        DDIMSampler(model, NoiseSchedule(1000), guidance_rescale=1.5)


def test_guidance_caps_limit_the_weight_on_their_channels_only() -> None:
    model = make_model()
    capped, cap = slice(6, 7), 1.5
    text_alone = without_music(random_conditions(2, 20))
    c, _, u = _guidance_parts(model, text_alone)
    out = DDIMSampler(model, NoiseSchedule(1000), guidance_caps=((capped, cap),)).sample(text_alone, steps=1, guidance=3.0)
    weight = torch.full((TINY.motion_dim,), 3.0)
    weight[capped] = cap
    assert torch.allclose(out, u + weight * (c - u), atol=1e-5)
    assert (c - u)[..., capped].abs().max() > 1e-4  # the cap changed what that channel gets
    both = random_conditions(2, 20)
    c, c_text, u = _guidance_parts(model, both)
    out = DDIMSampler(model, NoiseSchedule(1000), music_scale=2.0,
                      guidance_caps=((capped, cap),)).sample(both, steps=1, guidance=3.0)
    music_weight = torch.full((TINY.motion_dim,), 6.0)
    music_weight[capped] = cap
    assert torch.allclose(out, u + weight * (c_text - u) + music_weight * (c - c_text), atol=1e-5)
    low = DDIMSampler(model, NoiseSchedule(1000), guidance_caps=((capped, 5.0),)).sample(text_alone, steps=1, guidance=3.0)
    assert torch.allclose(low, DDIMSampler(model, NoiseSchedule(1000)).sample(text_alone, steps=1, guidance=3.0))
    with pytest.raises(ValueError, match="guidance caps"):
        DDIMSampler(model, NoiseSchedule(1000), guidance_caps=((capped, 0.5),))
    with pytest.raises(UserInputError, match="heading_guidance"):
        GenmoConfig.from_dict({"diffusion": {"heading_guidance": 0.5}})


def test_null_keeps_observations_and_drops_text_and_music() -> None:
    batch = random_conditions(2, 10)
    null = null_guided(batch)
    assert not null["text_present"].any() and not null["cond_mask"]["music"].any()
    for key in ("kp2d", "bbox", "cam_angvel", "video"):
        assert torch.equal(null["cond_mask"][key], batch["cond_mask"][key])
    assert batch["text_present"].all()  # the original is untouched


def test_keyframe_inpainting_returns_keyframes_exactly(sampler: DDIMSampler) -> None:
    batch = random_conditions(1, 40)
    g = torch.Generator().manual_seed(0)
    keys = torch.randn(1, 40, TINY.motion_dim, generator=g)
    mask = torch.zeros(1, 40, TINY.motion_dim, dtype=torch.bool)
    mask[:, [0, 20, 39]] = True
    mask[:, 10, :4] = True
    out = sampler.sample(batch, steps=5, keyframes=keys, keyframe_mask=mask, seed=1)
    assert torch.equal(out[mask], keys[mask])
    free = sampler.sample(batch, steps=5, seed=1)
    assert (out[~mask] - free[~mask]).abs().max() > 1e-5  # the constraint propagates
    with pytest.raises(ValueError, match="together"):
        sampler.sample(batch, steps=2, keyframes=keys)


def test_long_sequence_samples_in_one_pass(sampler: DDIMSampler) -> None:
    batch = random_conditions(1, 500)
    out = sampler.sample(batch, steps=2, guidance=2.0, seed=0)
    assert out.shape == (1, 500, TINY.motion_dim) and torch.isfinite(out).all()


def test_estimated_frames_start_from_the_estimation_input(sampler: DDIMSampler) -> None:
    batch = random_conditions(1, 24, keys=("kp2d",), texts=0)
    batch["cond_mask"]["kp2d"][:] = True
    first: dict[str, torch.Tensor] = {}
    real_forward = sampler.model.forward

    def record(x_t, t, b, **kw):
        first.setdefault("x", x_t.clone())
        return real_forward(x_t, t, b, **kw)

    sampler.model.forward = record
    try:
        a = sampler.sample(batch, steps=5, seed=1)
        assert torch.count_nonzero(first.pop("x")) == 0  # all frames observed: the estimation input
        b = sampler.sample(batch, steps=5, seed=2)
        first.clear()
        batch["cond_mask"]["kp2d"][:, 12:] = False  # an occluded stretch is still estimated
        sampler.sample(batch, steps=5, seed=1)
        assert torch.count_nonzero(first.pop("x")) == 0
        batch["cond_mask"]["music"][:, 18:] = True  # music makes its frames generated: noise
        sampler.sample(batch, steps=5, seed=1)
        x = first.pop("x")
        assert torch.count_nonzero(x[:, :18]) == 0 and bool((x[:, 18:] != 0).all())
        batch["cond_mask"]["kp2d"][:] = False  # no 2D at all: noise everywhere
        sampler.sample(batch, steps=5, seed=1)
        assert bool((first.pop("x") != 0).all())
    finally:
        sampler.model.forward = real_forward
    assert torch.equal(a, b)  # fully observed and eta 0: no seed dependence
    with pytest.raises(ValueError, match="init"):
        sampler.sample(batch, steps=5, init="ones")


def test_timesteps_are_uniform_without_tilt_and_favour_noisy_steps_with_it() -> None:
    schedule = NoiseSchedule(1000)
    gen = torch.Generator().manual_seed(0)
    uniform = schedule.sample_timesteps(20000, torch.device("cpu"), gen)
    tilted = schedule.sample_timesteps(20000, torch.device("cpu"), gen, tilt=1.0)
    for t in (uniform, tilted):
        assert t.dtype == torch.long and int(t.min()) >= 0 and int(t.max()) <= 999
    assert float((uniform >= 800).float().mean()) == pytest.approx(0.20, abs=0.015)
    assert float((tilted >= 800).float().mean()) == pytest.approx(0.36, abs=0.015)  # 1 - 0.8 ** 2
    assert float((tilted < 100).float().mean()) == pytest.approx(0.01, abs=0.005)  # 0.1 ** 2
