"""Configuration of the GENMO model, its diffusion process and its training (one JSON file).

A config file holds three sections: {"model": {...}, "diffusion": {...}, "train": {...}}.
Unknown keys raise UserInputError so typos never pass silently; RETIRED_KEYS, which configs
written before the sampler settings moved to the timeline spec still hold, are ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from genmo.errors import UserInputError
from genmo.motion.representation import MOTION_DIM

# Fixed widths of the frame-aligned conditions (docs/model.md §2) and of the text token states.
COND_DIMS: dict[str, tuple[int, ...]] = {
    "kp2d": (17, 3),
    "bbox": (3,),
    "cam_angvel": (6,),
    "music": (35,),
    "video": (1024,),
}
TEXT_DIM = 384
PREDICTIONS = ("x0", "v", "wiener")
LOSS_TERMS = ("simple", "joints_local", "joints_vel", "transl", "heading", "joints_world", "joints_cam", "contacts",
              "foot_skate", "reproj")


@dataclass
class ModelConfig:
    """Denoiser shape: width, depth, heads and the self-attention window."""

    motion_dim: int = MOTION_DIM
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    window: int = 120  # sliding-window length W (= training length)
    attn_block: int = 64  # query block size of the chunked sliding attention
    kp_embed: int = 32  # per-joint embedding width of the 2D keypoints
    text_dim: int = TEXT_DIM
    # v3 (all off = the v1/v2 denoiser, so older checkpoints load unchanged):
    adaln: bool = False  # timestep + pooled text modulate every block (AdaLN-zero, as in DiT)
    prediction: str = "x0"  # "x0": the head is x_0; "v": x_0 = sqrt(abar) x_t + sqrt(1 - abar) head (a skip from x_t)
    text_layers: int = 0  # trainable transformer layers over the frozen text-encoder token states
    # "wiener": x_0 = H_t * x_t + sqrt(1 - abar) head, H_t the Wiener filter of this temporal power
    # spectrum of normalised motion (0 to 0.5 cycles/frame; genmo.model.skip_filter). Measured from
    # the training set when a run starts with it empty.
    skip_spectrum: list[float] = field(default_factory=list)
    skip_power_cap: float = 0.0  # > 0: the spectrum's powers clipped there (1: never more skip than "v")
    # "wiener" with a spectrum per feature (the buffer skip_spectra, saved with the weights and
    # measured when a run starts without it) instead of skip_spectrum's one for all
    skip_per_feature: bool = False

    def validate(self) -> None:
        if self.d_model % self.n_heads:
            raise UserInputError(f"model.d_model ({self.d_model}) must be divisible by model.n_heads ({self.n_heads})")
        if (self.d_model // self.n_heads) % 2:
            raise UserInputError("model.d_model / model.n_heads must be even (RoPE rotates pairs of dims)")
        for name in ("motion_dim", "d_model", "n_layers", "n_heads", "window", "attn_block", "kp_embed", "text_dim"):
            if getattr(self, name) < 1:
                raise UserInputError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise UserInputError(f"model.dropout must be in [0, 1), got {self.dropout}")
        if self.prediction not in PREDICTIONS:
            raise UserInputError(f"model.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.text_layers < 0:
            raise UserInputError(f"model.text_layers must be >= 0, got {self.text_layers}")
        if self.skip_spectrum and (len(self.skip_spectrum) < 2 or min(self.skip_spectrum) < 0):
            raise UserInputError("model.skip_spectrum: expected at least two non-negative powers")
        if self.skip_power_cap < 0:
            raise UserInputError(f"model.skip_power_cap must be >= 0, got {self.skip_power_cap}")


RETIRED_KEYS: dict[str, tuple[str, ...]] = {"diffusion": ("sample_steps", "guidance")}
MAX_SMOOTH_SIGMA = 10.0  # frames: the largest output smoothing a config, the CLI or the studio accepts


@dataclass
class DiffusionConfig:
    """Noise schedule and how the pipeline samples this model (DDIM eta, output smoothing).

    Steps, guidance and seed are the timeline's (genmo.spec.Sampler), not the checkpoint's.
    """

    num_timesteps: int = 1000
    schedule: str = "cosine"
    estimation_input: str = "zeros"  # x_t of the estimation pass at t = T-1: "zeros" | "noise"
    eta: float = 0.0  # DDIM stochasticity the pipeline samples with (0 = deterministic)
    smooth_sigma: float = 0.0  # Gaussian over time (frames) on sampled motion; 0 = raw sampler output
    floor_lift: bool = False  # lift the root where a foot sinks under the floor (genmo.motion.floor)
    music_guidance_scale: float = 1.0  # the music's guidance weight as a multiple of the text's (1 = plain CFG)
    guidance_rescale: float = 0.0  # 0..1: pull the guided x_0's spread towards the conditional one's (0 = off)
    heading_guidance: float | None = None  # >= 1: the most guidance the yaw-velocity channel gets (None = the timeline's)

    def validate(self) -> None:
        if self.schedule != "cosine":
            raise UserInputError(f"diffusion.schedule: only 'cosine' is supported, got {self.schedule!r}")
        if self.estimation_input not in ("zeros", "noise"):
            raise UserInputError(f"diffusion.estimation_input must be 'zeros' or 'noise', got {self.estimation_input!r}")
        if self.num_timesteps < 2:
            raise UserInputError(f"diffusion.num_timesteps must be >= 2, got {self.num_timesteps}")
        if self.eta < 0:
            raise UserInputError(f"diffusion.eta must be >= 0, got {self.eta}")
        if self.music_guidance_scale <= 0:
            raise UserInputError(f"diffusion.music_guidance_scale must be > 0, got {self.music_guidance_scale}")
        if not 0.0 <= self.guidance_rescale <= 1.0:
            raise UserInputError(f"diffusion.guidance_rescale must be in [0, 1], got {self.guidance_rescale}")
        if self.heading_guidance is not None and self.heading_guidance < 1.0:
            raise UserInputError(f"diffusion.heading_guidance must be >= 1 (or null), got {self.heading_guidance}")
        if not 0.0 <= self.smooth_sigma <= MAX_SMOOTH_SIGMA:
            raise UserInputError(f"diffusion.smooth_sigma must be in [0, {MAX_SMOOTH_SIGMA:g}] frames, got {self.smooth_sigma}")


@dataclass
class TrainConfig:
    """Optimisation, dual-mode training switches, loss weights and condition dropout."""

    mode: str = "dual"  # "dual" | "diffusion_only" | "regression_only"
    use_2d_loss: bool = True
    steps: int = 20000
    batch_size: int = 32
    seq_len: int = 120
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup_steps: int = 500
    min_lr_ratio: float = 0.05
    grad_clip: float = 0.5
    ema_decay: float = 0.999
    val_every: int = 500
    val_batches: int = 20
    ckpt_every: int = 1000
    log_every: int = 20
    num_workers: int = 0
    seed: int = 0
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {
            "simple": 1.0,
            "joints_local": 0.0,
            "joints_vel": 0.0,
            "transl": 0.0,
            "heading": 0.0,
            "joints_world": 10.0,
            "joints_cam": 10.0,
            "contacts": 1.0,
            "foot_skate": 1.0,
            "reproj": 1.0,
        }
    )
    p_frame_drop: float = 0.1  # per (sample, frame, condition) exists-flag dropout
    p_text_drop: float = 0.1  # per sample
    p_music_drop: float = 0.1  # per sample
    p_obs_drop_for_gen: float = 0.5  # 2D, bbox, video and camera removed for text/music samples, per sample
    p_gen_drop_for_est: float = 0.0  # text and music removed for samples that keep their 2D, per sample
    two_d_prob: float = 0.5  # share of training windows observed by a virtual camera (estimation samples)
    balanced_sampling: bool = False  # draw windows with weight count(label) ** -balance_power instead of uniformly
    balance_power: float = 0.5  # 1 = every label equally often, 0 = every window equally often
    balance_min_windows: int = 1  # labels with fewer windows are weighted as if they had this many
    music_share: float = 0.0  # balanced sampling: share of draws from clips with music; 0 = as the labels fall
    label_boost: dict[str, float] = field(default_factory=dict)  # balanced sampling: "source:action" -> weight factor
    exclude_labels: list[str] = field(default_factory=list)  # "source:action" labels left out of the train split
    still_clips: bool = False  # add the train clips' still stretches as "stand-still" clips (genmo.data.still)
    small_t_weight_cap: float = 1.0  # generation terms weighted min(1 / (1 - alpha_bar_t), cap); 1 = off
    timestep_tilt: float = 0.0  # generation steps t drawn with density (t / T) ** tilt; 0 = uniform
    chain_prob: float = 0.0  # 2D-only samples whose generation input is sqrt(alpha_bar_t) x (estimation pass)

    def validate(self) -> None:
        if self.mode not in ("dual", "diffusion_only", "regression_only"):
            raise UserInputError(f"train.mode must be dual, diffusion_only or regression_only, got {self.mode!r}")
        unknown = set(self.loss_weights) - set(LOSS_TERMS)
        if unknown:
            raise UserInputError(f"train.loss_weights: unknown terms {sorted(unknown)}")
        for name in ("p_frame_drop", "p_text_drop", "p_music_drop", "p_obs_drop_for_gen", "p_gen_drop_for_est",
                     "two_d_prob", "music_share", "chain_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserInputError(f"train.{name} must be a probability, got {getattr(self, name)}")
        if not 0.0 <= self.balance_power <= 1.0:
            raise UserInputError(f"train.balance_power must be in [0, 1], got {self.balance_power}")
        if self.balance_min_windows < 1:
            raise UserInputError(f"train.balance_min_windows must be >= 1, got {self.balance_min_windows}")
        bad = {label: f for label, f in self.label_boost.items() if not f > 0.0}
        if bad:
            raise UserInputError(f"train.label_boost: factors must be > 0, got {bad}")
        if self.timestep_tilt < 0.0:
            raise UserInputError(f"train.timestep_tilt must be >= 0, got {self.timestep_tilt}")
        if self.small_t_weight_cap < 1.0:
            raise UserInputError(f"train.small_t_weight_cap must be >= 1, got {self.small_t_weight_cap}")
        for name in ("steps", "batch_size", "seq_len", "val_every", "ckpt_every", "log_every"):
            if getattr(self, name) < 1:
                raise UserInputError(f"train.{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class GenmoConfig:
    """The whole configuration: model + diffusion + train."""

    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        self.model.validate()
        self.diffusion.validate()
        self.train.validate()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GenmoConfig":
        """Build and validate a config from a dict; unknown sections or keys raise UserInputError."""
        if not isinstance(data, dict):
            raise UserInputError("config: expected a JSON object")
        sections = {"model": ModelConfig, "diffusion": DiffusionConfig, "train": TrainConfig}
        unknown = set(data) - set(sections)
        if unknown:
            raise UserInputError(f"config: unknown sections {sorted(unknown)}")
        parts = {}
        for name, klass in sections.items():
            values = data.get(name, {})
            if not isinstance(values, dict):
                raise UserInputError(f"config.{name}: expected a JSON object")
            values = {k: v for k, v in values.items() if k not in RETIRED_KEYS.get(name, ())}
            allowed = {f.name for f in fields(klass)}
            bad = set(values) - allowed
            if bad:
                raise UserInputError(f"config.{name}: unknown keys {sorted(bad)}")
            if name == "train" and "loss_weights" in values:
                values = {**values, "loss_weights": {**TrainConfig().loss_weights, **values["loss_weights"]}}
            parts[name] = klass(**values)
        cfg = cls(**parts)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "GenmoConfig":
        """Read a config JSON file."""
        path = Path(path)
        if not path.is_file():
            raise UserInputError(f"config file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UserInputError(f"config file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
