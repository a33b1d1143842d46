"""GENMO: one diffusion model that estimates and generates human motion."""

import os

# torch's OpenMP runtime (libgomp) spins idle worker threads by default; on a small, shared CPU
# the spinning starves the other threads and made a denoiser pass 3-5x slower under load
# (docs/performance.md). Only takes effect when genmo is imported before torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
