"""Noise schedule, forward process and the DDIM sampler."""

from genmo.diffusion.ddim import DDIMSampler
from genmo.diffusion.schedule import NoiseSchedule

__all__ = ["DDIMSampler", "NoiseSchedule"]
