"""GenmoPipeline: timeline spec -> conditions -> DDIM sampler -> motion.

Diffusers-style: the pipeline owns a denoiser, a sampler, the normaliser and the body, and runs
each stage once per call:

    pipe = GenmoPipeline.from_pretrained("checkpoints/genmo-small")
    result = pipe(spec, steps=5, guidance=5.0, seed=0, progress=callback)
    result.motion.save("motion.npz")

The stages live elsewhere: the track encoders (genmo.conditions.encoders), the sampler and its
output smoothing (genmo.diffusion), the decoding to a Motion (genmo.motion.output).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from genmo.body import load_body
from genmo.body.model import BodyModel
from genmo.conditions.builder import Conditions
from genmo.conditions.encoders import EncodeContext, encode_timeline
from genmo.device import pick_device, prepare
from genmo.diffusion import DDIMSampler, NoiseSchedule
from genmo.diffusion.ddim import ProgressCallback
from genmo.diffusion.keyframe_warp import warp_to_keyframes
from genmo.diffusion.smoothing import smooth_time
from genmo.errors import UserInputError
from genmo.model.batch import ConditionBatch, batch_to
from genmo.model.checkpoint import load_denoiser
from genmo.model.config import MAX_SMOOTH_SIGMA, GenmoConfig, ModelConfig
from genmo.model.denoiser import GenmoDenoiser
from genmo.motion import MOTION_DIM, Motion, Normalizer
from genmo.motion.floor import floor_lift
from genmo.motion.output import vectors_to_motion
from genmo.motion.representation import LAYOUT
from genmo.paths import CHECKPOINTS_HINT, default_checkpoint
from genmo.spec import STEPS_RANGE, TimelineSpec

Progress = Callable[[str, int, int], None]  # (stage, done, total): "conditions", "video", "sampling"

if TYPE_CHECKING:
    from genmo.conditions.frontend import FrontEndOptions


@dataclass
class GenerationResult:
    """A generated motion with what produced it: per-frame condition masks, timings and notes."""

    motion: Motion
    spec: TimelineSpec
    condition_masks: dict[str, np.ndarray]
    text_windows: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    focal: float | None = None
    observation: Any = None  # the first video / 2D-keypoint clip's VideoObservation at MODEL_FPS, from its start


class GenmoPipeline:
    """Runs the GENMO denoiser on a timeline spec."""

    def __init__(self, model: GenmoDenoiser, config: GenmoConfig, normalizer: Normalizer,
                 body: BodyModel | None = None, device: str | torch.device | None = None) -> None:
        if config.model.motion_dim != MOTION_DIM:
            raise UserInputError(
                f"checkpoint motion_dim {config.model.motion_dim} does not match this code's {MOTION_DIM}"
            )
        self.device = prepare(device)
        self.model = model.to(self.device).eval()
        self.config = config
        self.normalizer = normalizer
        self.body = body or load_body()
        schedule = NoiseSchedule(config.diffusion.num_timesteps)
        heading = config.diffusion.heading_guidance
        self.sampler = DDIMSampler(self.model, schedule, config.diffusion.estimation_input,
                                   config.diffusion.music_guidance_scale, config.diffusion.guidance_rescale,
                                   guidance_caps=((LAYOUT["yaw_vel"], heading),) if heading is not None else ())
        self.smooth_sigma = config.diffusion.smooth_sigma  # frames at the model rate; 0 = raw sampler output
        self.video_options: FrontEndOptions | None = None  # FrontEndOptions for video clips (None: every frame, the accurate path)
        self.eta = config.diffusion.eta  # DDIM stochasticity; 0 = deterministic
        self.floor_lift = config.diffusion.floor_lift  # feet kept on or above the floor
        self._text_encoder = None

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | torch.device | None = None) -> "GenmoPipeline":
        """Load a checkpoint folder (default: checkpoints/genmo-small)."""
        folder = Path(path) if path is not None else default_checkpoint()
        if not (folder / "config.json").is_file():
            raise UserInputError(
                f"no checkpoint found at {folder}: train one with `python -m genmo train`, pass --checkpoint"
                f" or {CHECKPOINTS_HINT}"
            )
        model, config, normalizer = load_denoiser(folder, device=pick_device(device))
        return cls(model, config, normalizer, device=device)

    @classmethod
    def tiny_random(cls, seed: int = 0) -> "GenmoPipeline":
        """An untrained tiny model, for developing the studio and for tests."""
        torch.manual_seed(seed)
        cfg = GenmoConfig(model=ModelConfig(motion_dim=MOTION_DIM, d_model=64, n_layers=2, n_heads=2, window=120))
        return cls(GenmoDenoiser(cfg.model), cfg, Normalizer.identity(), device="cpu")

    @property
    def text_encoder(self):
        """The text encoder (all-MiniLM-L6-v2), loaded on first use."""
        if self._text_encoder is None:
            from genmo.conditions.text import default_encoder

            self._text_encoder = default_encoder()
        return self._text_encoder

    def encode_conditions(self, spec: TimelineSpec, progress: Progress | None = None) -> Conditions:
        """Stage 1: every track of the timeline encoded into one condition set at MODEL_FPS."""
        return encode_timeline(spec, EncodeContext(self.body, lambda: self.text_encoder, progress,
                                                         self.video_options))

    def __call__(self, spec: TimelineSpec, steps: int | None = None, guidance: float | None = None,
                 seed: int | None = None, progress: Progress | None = None, eta: float | None = None,
                 smooth: float | None = None) -> GenerationResult:
        """Generate (or estimate) the motion of a timeline. steps, guidance and seed default to the spec's
        sampler; ``eta`` to the checkpoint's; ``smooth`` (frames) overrides ``smooth_sigma``."""
        steps = int(steps if steps is not None else spec.sampler.steps)
        guidance = float(guidance if guidance is not None else spec.sampler.guidance)
        seed = int(seed if seed is not None else spec.sampler.seed)
        smooth = float(smooth if smooth is not None else self.smooth_sigma)
        if not STEPS_RANGE[0] <= steps <= STEPS_RANGE[1]:
            raise UserInputError(f"steps must be between {STEPS_RANGE[0]} and {STEPS_RANGE[1]}, got {steps}")
        if not 0.0 <= smooth <= MAX_SMOOTH_SIGMA:
            raise UserInputError(f"smoothing must be between 0 and {MAX_SMOOTH_SIGMA:g} frames, got {smooth}")
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        if progress is not None:
            progress("conditions", 0, 1)
        conditions = self.encode_conditions(spec, progress)
        timings["conditions_s"], clock = time.perf_counter() - clock, time.perf_counter()

        def report(i: int, total: int, t: int) -> None:
            if progress is not None:
                progress("sampling", i + 1, total)

        known = conditions.constraints
        x = self.sample_batch(conditions.batch, steps, guidance, seed,
                              keyframes=known.values if known.any else None,
                              keyframe_mask=known.mask if known.any else None,
                              smooth=smooth, eta=eta, callback=report)
        timings["sampling_s"], clock = time.perf_counter() - clock, time.perf_counter()

        batch = conditions.batch
        motion = vectors_to_motion(x[0], self.body, spec.fps, has_camera=bool(batch["cond_mask"]["kp2d"].any()))
        timings["decode_s"] = time.perf_counter() - clock
        masks = {k: v[0].cpu().numpy() for k, v in batch["cond_mask"].items() if k != "video"}
        windows = batch["text_windows"][0][batch["text_present"][0]].cpu().numpy()
        return GenerationResult(motion=motion, spec=spec, condition_masks=masks, text_windows=windows,
                                timings=timings, notes=conditions.notes, focal=conditions.focal,
                                observation=conditions.observation)

    def sample_batch(self, batch: ConditionBatch, steps: int, guidance: float = 1.0, seed: int = 0,
                     keyframes: torch.Tensor | None = None, keyframe_mask: torch.Tensor | None = None,
                     smooth: float | None = None, eta: float | None = None,
                     callback: ProgressCallback | None = None) -> torch.Tensor:
        """Stage 2: sample a condition batch and return unnormalised motion vectors (B, T, D) on the CPU.

        keyframes: unnormalised known values (B, T, D) with keyframe_mask (B, T, D) bool, in-painted
        by the sampler; the output is smoothed over time by ``smooth`` frames (default
        ``self.smooth_sigma``) with the keyframes kept exact, then, with ``self.floor_lift``, lifted
        where a foot sinks under the floor (genmo.motion.floor); ``eta`` defaults to ``self.eta``.
        """
        batch = batch_to(batch, self.device)
        known = None
        if keyframes is not None:
            known = self.normalizer.normalize(keyframes).to(self.device)
            keyframe_mask = keyframe_mask.to(self.device)
        x0 = self.sampler.sample(batch, steps, eta=self.eta if eta is None else eta, guidance=guidance, seed=seed,
                                 keyframes=known, keyframe_mask=keyframe_mask, callback=callback)
        if known is not None:
            x0 = warp_to_keyframes(x0, known, keyframe_mask)
        x0 = smooth_time(x0, self.smooth_sigma if smooth is None else smooth, batch["valid"], keep=keyframe_mask)
        if self.floor_lift:
            x0 = self._lift_feet(x0, batch["valid"], keyframe_mask)
        return self.normalizer.denormalize(x0.float().cpu())

    def _lift_feet(self, x0: torch.Tensor, valid: torch.Tensor, keyframe_mask: torch.Tensor | None) -> torch.Tensor:
        """Normalised x0 with the root raised where a foot sinks under the floor; frames whose root
        height is a keyframe's keep it."""
        dim = LAYOUT["root_height"].start
        pinned = keyframe_mask[..., dim].cpu() if keyframe_mask is not None else None
        lift = floor_lift(self.normalizer.denormalize(x0.float().cpu()), self.body, valid.cpu(), pinned=pinned)
        x0 = x0.clone()
        x0[..., dim] += (lift / self.normalizer.std[dim]).to(x0)
        return x0
