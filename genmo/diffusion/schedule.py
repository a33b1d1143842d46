"""The cosine noise schedule and the forward (noising) process q(x_t | x_0) (docs/model.md §4)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def cosine_alphas_cumprod(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """alpha_bar(t) for t = 0..T-1 from alpha_bar(u) = cos^2(((u / T) + s) / (1 + s) * pi / 2),
    with every beta capped at max_beta. Returns float64 (T,)."""
    def f(u: float) -> float:
        return math.cos((u / num_timesteps + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f(i + 1) / f(i), max_beta) for i in range(num_timesteps)]
    return torch.cumprod(1 - torch.tensor(betas, dtype=torch.float64), dim=0)


class NoiseSchedule:
    """alpha_bar table with q_sample; x_0-prediction parameterisation."""

    def __init__(self, num_timesteps: int = 1000):
        if num_timesteps < 2:
            raise ValueError(f"num_timesteps must be >= 2, got {num_timesteps}")
        self.num_timesteps = num_timesteps
        self.alphas_cumprod = cosine_alphas_cumprod(num_timesteps)

    @property
    def last_step(self) -> int:
        """t = T - 1, where the estimation pass runs."""
        return self.num_timesteps - 1

    def alpha_bar(self, t: Tensor, like: Tensor) -> Tensor:
        """alpha_bar at integer steps t (B,), shaped to broadcast against `like` (B, ...)."""
        a = self.alphas_cumprod.to(like.device)[t.long()].to(like.dtype)
        return a.view(-1, *([1] * (like.ndim - 1)))

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise."""
        a = self.alpha_bar(t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def predict_noise(self, x_t: Tensor, t: Tensor, x0: Tensor) -> Tensor:
        """The noise implied by x_t and a predicted x_0."""
        a = self.alpha_bar(t, x_t)
        return (x_t - a.sqrt() * x0) / (1 - a).sqrt()

    def sample_timesteps(self, batch: int, device: torch.device, generator: torch.Generator | None = None,
                         tilt: float = 0.0) -> Tensor:
        """Training steps t in {0..T-1}, (B,) long: uniform at tilt 0; density proportional to
        (t / T) ** tilt otherwise, so the noisy steps, where the conditions decide the motion, are
        drawn more often (tilt 1: t >= 0.8 T on 36% of samples instead of 20%)."""
        if tilt == 0.0:
            return torch.randint(0, self.num_timesteps, (batch,), device=device, generator=generator)
        u = torch.rand(batch, generator=generator).to(device)
        t = (u ** (1.0 / (tilt + 1.0)) * self.num_timesteps).long()
        return t.clamp(max=self.num_timesteps - 1)

    def ddim_timesteps(self, steps: int) -> list[int]:
        """`steps` descending steps from T-1 to 0 (evenly spaced); 1 step = [T-1]."""
        if not 1 <= steps <= self.num_timesteps:
            raise ValueError(f"steps must be in 1..{self.num_timesteps}, got {steps}")
        if steps == 1:
            return [self.last_step]
        grid = torch.linspace(self.last_step, 0, steps, dtype=torch.float64).round().long().tolist()
        return sorted(set(grid), reverse=True)
