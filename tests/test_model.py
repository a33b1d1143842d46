"""The GENMO denoiser: shapes, attention paths, multi-text masks, config validation."""

from __future__ import annotations

import pytest
import torch

from genmo.model import GenmoConfig, GenmoDenoiser, ModelConfig
from genmo.model.attention import (apply_rope, chunked_window_attention, dense_attention, rope_tables,
                                   sliding_window_mask)
from genmo.model.batch import COND_KEYS, empty_conditions
from genmo.model.config import COND_DIMS
from genmo.model.denoiser import MultiTextBlock

TINY = ModelConfig(motion_dim=12, d_model=32, n_layers=2, n_heads=2, mlp_ratio=2.0, dropout=0.0,
                   window=16, attn_block=8, kp_embed=8)


def make_model(cfg: ModelConfig = TINY, seed: int = 0) -> GenmoDenoiser:
    """A tiny denoiser with randomised (non-zero) gates and zero-init layers, so every path matters."""
    torch.manual_seed(seed)
    model = GenmoDenoiser(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gate") or p.abs().sum() == 0:
                p.normal_(0.0, 0.3)
    return model


def random_conditions(b: int, length: int, keys: tuple[str, ...] = COND_KEYS, texts: int = 2, seed: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    batch = empty_conditions(b, length, texts=texts, tokens=5)
    for key in keys:
        batch["cond"][key] = torch.randn(b, length, *COND_DIMS[key], generator=g)
        batch["cond_mask"][key] = torch.rand(b, length, generator=g) > 0.2
    if texts:
        batch["text_tokens"] = torch.randn(b, texts, 5, 384, generator=g)
        batch["text_token_mask"][..., :3] = True
        batch["text_present"][:] = True
        batch["text_windows"][:, 0, : max(1, length // 2)] = True
        batch["text_windows"][:, -1, length // 3:] = True
    return batch


def run(model: GenmoDenoiser, x: torch.Tensor, batch: dict, attention: str = "auto") -> torch.Tensor:
    with torch.no_grad():
        return model(x, torch.tensor([5, 999])[: x.shape[0]], batch, attention=attention)


@pytest.mark.parametrize("length", [1, 7, 120, 1000])
def test_output_shape_any_length(length: int) -> None:
    model = make_model()
    x = torch.randn(2, length, TINY.motion_dim)
    out = run(model, x, random_conditions(2, length))
    assert out.shape == (2, length, TINY.motion_dim)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("keys", [(), ("kp2d",), ("music",), ("bbox", "cam_angvel"), ("video", "kp2d", "music")])
@pytest.mark.parametrize("texts", [0, 1])
def test_any_subset_of_conditions(keys: tuple[str, ...], texts: int) -> None:
    model = make_model()
    x = torch.randn(2, 20, TINY.motion_dim)
    batch = random_conditions(2, 20, keys, texts=max(texts, 1))
    if not texts:
        batch["text_present"][:] = False
    out = run(model, x, batch)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_conditions_change_the_output() -> None:
    model = make_model()
    x = torch.randn(2, 20, TINY.motion_dim)
    with_cond = run(model, x, random_conditions(2, 20))
    without = run(model, x, empty_conditions(2, 20, texts=2, tokens=5))
    assert (with_cond - without).abs().max() > 1e-3


def test_masked_condition_is_ignored() -> None:
    model = make_model()
    x = torch.randn(2, 20, TINY.motion_dim)
    batch = random_conditions(2, 20, ("kp2d",))
    batch["cond_mask"]["music"][:] = False
    base = run(model, x, batch)
    batch["cond"]["music"] = torch.randn(2, 20, 35) * 10  # absent: must not matter
    assert torch.allclose(run(model, x, batch), base, atol=1e-6)


def test_sliding_window_equals_full_attention_when_window_covers_length() -> None:
    model = make_model()
    x = torch.randn(2, 16, TINY.motion_dim)
    batch = random_conditions(2, 16)
    full = run(model, x, batch, attention="full")
    for mode in ("auto", "chunked", "dense_over_window"):
        assert torch.allclose(run(model, x, batch, attention=mode), full, atol=1e-5)


@pytest.mark.parametrize("length", [17, 50, 203])
def test_chunked_sliding_equals_dense_masked_reference(length: int) -> None:
    model = make_model()
    x = torch.randn(2, length, TINY.motion_dim)
    batch = random_conditions(2, length)
    chunked = run(model, x, batch, attention="chunked")
    dense = run(model, x, batch, attention="dense_over_window")
    full = run(model, x, batch, attention="full")
    assert torch.allclose(chunked, dense, atol=1e-5)
    assert (chunked - full).abs().max() > 1e-4  # the window really restricts attention


@pytest.mark.parametrize("block", [1, 3, 8, 64])
def test_chunked_attention_kernel_with_padding(block: int) -> None:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 37, 8, generator=g) for _ in range(3))
    key_valid = torch.ones(2, 37, dtype=torch.bool)
    key_valid[1, 25:] = False
    ref = dense_attention(q, k, v, key_valid, 10)
    out = chunked_window_attention(q, k, v, key_valid, 10, block)
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.isfinite(out).all()  # windows lying fully in padding must not produce NaN


def test_window_mask_sees_exactly_w_consecutive_frames() -> None:
    mask = sliding_window_mask(300, 120, torch.device("cpu"))
    assert (mask.sum(1) == 120).all()
    rows = mask.int()
    assert ((rows[:, 1:] - rows[:, :-1]).abs().sum(1) <= 2).all()  # one contiguous run
    assert mask[0, :120].all() and mask[299, 180:].all() and mask[150, 90:210].all()


def test_rope_scores_depend_only_on_relative_position() -> None:
    cos, sin = rope_tables(64, 8, torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, generator=g), torch.randn(8, generator=g)
    qs, ks = apply_rope(q.expand(64, 8), cos, sin), apply_rope(k.expand(64, 8), cos, sin)
    assert torch.allclose(qs[10] @ ks[3], qs[50] @ ks[43], atol=1e-4)
    assert not torch.allclose(qs[10] @ ks[3], qs[10] @ ks[9], atol=1e-3)


def test_text_block_gives_nothing_outside_every_window() -> None:
    torch.manual_seed(0)
    block = MultiTextBlock(TINY).eval()
    torch.nn.init.normal_(block.gate)
    h = torch.randn(1, 30, TINY.d_model)
    omega = torch.zeros(1, 2, 30, dtype=torch.bool)
    omega[0, 0, :10] = True
    omega[0, 1, 5:15] = True
    mask = torch.ones(1, 2, 4, dtype=torch.bool)
    text_a, text_b = torch.randn(1, 2, 4, TINY.d_model), torch.randn(1, 2, 4, TINY.d_model)
    with torch.no_grad():
        out_a, out_b = block(h, text_a, mask, omega), block(h, text_b, mask, omega)
        no_text = block(h, None, mask, omega)
    assert torch.equal(out_a[:, 15:], out_b[:, 15:])
    assert torch.equal(out_a[:, 15:], no_text[:, 15:])
    assert (out_a[:, :15] - out_b[:, :15]).abs().amax(-1).min() > 1e-4


def test_text_only_reaches_frames_within_the_receptive_field() -> None:
    model = make_model()  # 2 layers, window 16: frame 90 of 100 only sees frames >= 74
    x = torch.randn(1, 100, TINY.motion_dim)
    batch = random_conditions(1, 100, (), texts=1)
    batch["text_windows"][:] = False
    batch["text_windows"][0, 0, :20] = True
    base = run(model, x, batch)
    batch["text_tokens"] = torch.randn_like(batch["text_tokens"])
    changed = run(model, x, batch)
    assert torch.equal(changed[:, 80:], base[:, 80:])
    assert (changed[:, :20] - base[:, :20]).abs().max() > 1e-4


def test_absent_or_padded_text_tokens_are_ignored() -> None:
    model = make_model()
    x = torch.randn(2, 20, TINY.motion_dim)
    batch = random_conditions(2, 20, ())
    base = run(model, x, batch)
    batch["text_tokens"][..., 3:, :] = 100.0  # padding tokens
    assert torch.allclose(run(model, x, batch), base, atol=1e-5)
    batch["text_present"][:] = False
    assert torch.allclose(run(model, x, batch), run(model, x, empty_conditions(2, 20, texts=2, tokens=5)), atol=1e-5)


def test_bad_inputs_raise_value_error() -> None:
    model = make_model()
    with pytest.raises(ValueError, match="x_t"):
        model(torch.zeros(1, 5, 3), torch.tensor([0]), empty_conditions(1, 5))
    batch = empty_conditions(1, 5)
    batch["cond"]["bbox"] = torch.zeros(1, 5, 4)
    with pytest.raises(ValueError, match="bbox"):
        model(torch.zeros(1, 5, TINY.motion_dim), torch.tensor([0]), batch)
    with pytest.raises(ValueError, match="attention"):
        model(torch.zeros(1, 5, TINY.motion_dim), torch.tensor([0]), empty_conditions(1, 5), attention="sparse")
    with pytest.raises(ValueError, match="n_heads"):
        GenmoDenoiser(ModelConfig(d_model=30, n_heads=4))


def test_config_files_load_and_reject_unknown_keys(tmp_path) -> None:
    from genmo.paths import repo_root

    for name in ("tiny", "small"):
        cfg = GenmoConfig.load(repo_root() / "configs" / f"{name}.json")
        assert cfg.model.window >= 1
    small = GenmoConfig.load(repo_root() / "configs" / "small.json")
    assert (small.model.d_model, small.model.n_layers, small.model.n_heads, small.model.window) == (256, 6, 4, 120)
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": {"widht": 3}}')
    with pytest.raises(ValueError, match="widht"):
        GenmoConfig.load(bad)
    bad.write_text('{"train": {"mode": "both"}}')
    with pytest.raises(ValueError, match="train.mode"):
        GenmoConfig.load(bad)


def test_config_ignores_retired_sampler_keys_and_checks_eta():
    from genmo.errors import UserInputError
    from genmo.model.config import GenmoConfig

    cfg = GenmoConfig.from_dict({"diffusion": {"sample_steps": 5, "guidance": 2.5, "eta": 0.5}})
    assert cfg.diffusion.eta == 0.5 and "sample_steps" not in cfg.to_dict()["diffusion"]
    with pytest.raises(UserInputError, match="eta"):
        GenmoConfig.from_dict({"diffusion": {"eta": -1.0}})
    with pytest.raises(UserInputError, match="unknown keys"):
        GenmoConfig.from_dict({"diffusion": {"sample_step": 5}})
