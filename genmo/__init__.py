"""GENMO: one diffusion model that estimates and generates human motion."""

__version__ = "0.1.0"
