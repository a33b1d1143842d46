import numpy as np
import pytest
import torch

from genmo.cli import main
from genmo.diffusion.smoothing import smooth_time
from genmo.errors import UserInputError
from genmo.pipeline import GenmoPipeline
from genmo.spec import load_spec


def _jitter(x: torch.Tensor) -> float:
    """Mean absolute third difference over time (B, T, D)."""
    return float((x[:, 3:] - 3 * x[:, 2:-1] + 3 * x[:, 1:-2] - x[:, :-3]).abs().mean())


def test_zero_sigma_returns_the_input():
    x = torch.randn(2, 50, 7)
    assert smooth_time(x, 0.0) is x


def test_negative_sigma_is_refused():
    with pytest.raises(ValueError, match="sigma"):
        smooth_time(torch.zeros(1, 10, 3), -1.0)


def test_constants_stay_constant_up_to_the_ends():
    x = torch.full((1, 40, 3), 2.5)
    np.testing.assert_allclose(smooth_time(x, 2.0).numpy(), 2.5, rtol=1e-6)


def test_noise_is_removed_and_the_signal_kept():
    t = torch.linspace(0, 4 * np.pi, 300)
    clean = torch.sin(t)[None, :, None].repeat(1, 1, 4)
    noisy = clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    out = smooth_time(noisy, 2.0)
    assert _jitter(out) < 0.05 * _jitter(noisy)
    assert (out - clean).abs().mean() < 0.5 * (noisy - clean).abs().mean()


def test_padding_neither_leaks_in_nor_changes():
    x = torch.randn(1, 60, 2)
    valid = torch.zeros(1, 60, dtype=torch.bool)
    valid[:, :45] = True
    padded = x.clone()
    padded[:, 45:] = 1e6
    out = smooth_time(padded, 2.0, valid)
    np.testing.assert_allclose(out[:, :45].numpy(), smooth_time(x[:, :45], 2.0).numpy(), rtol=1e-5, atol=1e-5)
    assert torch.equal(out[:, 45:], padded[:, 45:])


def test_pipeline_smoothing_keeps_keyframes_exact_and_removes_jitter():
    pipe = GenmoPipeline.tiny_random()
    spec = load_spec({"version": 1, "fps": 30, "duration": 3.0,
                      "tracks": [{"kind": "keyframe", "time": 1.5, "path": "library:arms_up"}]}, check_files=False)
    assert pipe.smooth_sigma == 0.0  # the tiny model's config: raw sampler output
    raw = pipe(spec, steps=3, seed=2).motion
    smooth = pipe(spec, steps=3, seed=2, smooth=2.0).motion
    np.testing.assert_allclose(smooth.poses[45, 3:], raw.poses[45, 3:], atol=1e-5)  # the body pose is the keyframe's
    assert _jitter(torch.from_numpy(smooth.joints).reshape(1, 90, -1)) < 0.5 * _jitter(
        torch.from_numpy(raw.joints).reshape(1, 90, -1))


def test_smoothing_out_of_range_is_a_user_error(tmp_path, capsys):
    pipe = GenmoPipeline.tiny_random()
    spec = load_spec({"version": 1, "fps": 30, "duration": 1.0, "tracks": []}, check_files=False)
    with pytest.raises(UserInputError, match="smoothing"):
        pipe(spec, steps=1, smooth=11.0)
    path = tmp_path / "spec.json"
    path.write_text('{"version": 1, "fps": 30, "duration": 1.0, "tracks": []}')
    assert main(["generate", str(path), "--out", str(tmp_path / "m.npz"), "--smooth", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "smoothing" in err[0]


def test_kept_entries_hold_their_values():
    x = torch.randn(1, 30, 4, generator=torch.Generator().manual_seed(1))
    keep = torch.zeros(1, 30, 4, dtype=torch.bool)
    keep[0, 10, :2] = True
    out = smooth_time(x, 2.0, keep=keep)
    assert torch.equal(out[keep], x[keep])
    assert not torch.equal(out[0, 10, 2:], x[0, 10, 2:])
