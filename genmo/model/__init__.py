"""The GENMO denoiser, its configuration and the batch format it consumes."""

from genmo.model.config import DiffusionConfig, GenmoConfig, ModelConfig, TrainConfig
from genmo.model.denoiser import GenmoDenoiser

__all__ = ["DiffusionConfig", "GenmoConfig", "GenmoDenoiser", "ModelConfig", "TrainConfig"]
