"""DDIM sampling for an x_0-predicting denoiser: 1..T steps, classifier-free guidance, keyframe
in-painting and seeded noise.

One step is the estimation pass: x_0 = G(x_{T-1}, T-1, C) with x_{T-1} = zeros (or noise).
More steps start, by default ("observed"), from the estimation input wherever a sample has 2D
keypoints, except on the frames that text or music covers, which start from noise: an estimated
stretch (occluded frames and gaps included) begins from the estimation pass, a generated one keeps
its seed's diversity.
Guidance: the unconditional pass drops text and music but keeps 2D, bbox, camera and video;
out = u + w (c - u), with the conditional and unconditional passes in one forward of batch 2B.
With a music scale s != 1 and both text and music present, the music's own contribution gets its
own weight (compositional guidance, three passes in one forward of batch 3B):
out = u + w (c_text - u) + s w (c - c_text), where c_text drops the music only.
A guidance rescale phi > 0 pulls the text's guided x_0 back towards the conditional one's spread (Lin
et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed", section 3.4):
g <- phi * g * std(c) / std(g) + (1 - phi) * g, std per sample over frames and features, with
g = u + w (c - u) for text alone and g = u + w (c_text - u) against c_text when music is present
too (the music's share s w (c - c_text) is added after, unscaled); music alone is not rescaled.
Capped channels (``guidance_caps``, e.g. the yaw velocity) get min(w, cap) in place of every weight
w: guidance multiplies a small per-frame bias in a rate, and a rolled-out quantity (the heading)
sums that bias over every frame.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from genmo.diffusion.schedule import NoiseSchedule
from genmo.model.batch import GUIDED_COND_KEYS, cat_batches

ProgressCallback = Callable[[int, int, int], None]  # (step index, number of steps, t)


def null_guided(batch: dict) -> dict:
    """The classifier-free-guidance null: the same batch without text and music."""
    out = dict(batch)
    out["text_present"] = torch.zeros_like(batch["text_present"])
    out["cond"] = dict(batch["cond"])
    out["cond_mask"] = dict(batch["cond_mask"])
    for key in GUIDED_COND_KEYS:
        out["cond"][key] = torch.zeros_like(batch["cond"][key])
        out["cond_mask"][key] = torch.zeros_like(batch["cond_mask"][key])
    return out


def without_music(batch: dict) -> dict:
    """The same batch without its music (text and everything else kept)."""
    out = dict(batch)
    out["cond"] = dict(batch["cond"], music=torch.zeros_like(batch["cond"]["music"]))
    out["cond_mask"] = dict(batch["cond_mask"], music=torch.zeros_like(batch["cond_mask"]["music"]))
    return out


def has_text(batch: dict) -> bool:
    """Whether any sample has a text prompt on any frame."""
    return bool((batch["text_present"][..., None] & batch["text_windows"]).any())


def has_music(batch: dict) -> bool:
    """Whether any sample has music on any frame."""
    return bool(batch["cond_mask"]["music"].any())


def has_guided_conditions(batch: dict) -> bool:
    """Whether the batch holds anything guidance acts on (text or music)."""
    return has_text(batch) or any(bool(batch["cond_mask"][k].any()) for k in GUIDED_COND_KEYS)


def estimated_frames(batch: dict) -> Tensor:
    """(B, T) bool: the frames of samples with 2D keypoints that no text or music covers."""
    has_2d = (batch["cond_mask"]["kp2d"] & batch["valid"]).any(dim=1, keepdim=True)
    text = (batch["text_present"][..., None] & batch["text_windows"]).any(dim=1)
    generated = text | torch.stack([batch["cond_mask"][k] for k in GUIDED_COND_KEYS]).any(dim=0)
    return has_2d & ~generated


def make_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A CPU generator (same noise on every device) from a seed, or a given generator."""
    if isinstance(seed, torch.Generator):
        return seed
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


class DDIMSampler:
    """Samples normalised motion x_0 (B, T, D) from a denoiser given a condition batch."""

    def __init__(self, model: nn.Module, schedule: NoiseSchedule, estimation_input: str = "zeros",
                 music_scale: float = 1.0, guidance_rescale: float = 0.0,
                 guidance_caps: tuple[tuple[slice, float], ...] = ()):
        if estimation_input not in ("zeros", "noise"):
            raise ValueError(f"estimation_input must be 'zeros' or 'noise', got {estimation_input!r}")
        if music_scale <= 0:
            raise ValueError(f"music_scale must be > 0, got {music_scale}")
        if not 0.0 <= guidance_rescale <= 1.0:
            raise ValueError(f"guidance_rescale must be in [0, 1], got {guidance_rescale}")
        if any(cap < 1.0 for _, cap in guidance_caps):
            raise ValueError(f"guidance caps must be >= 1, got {[cap for _, cap in guidance_caps]}")
        self.model = model
        self.schedule = schedule
        self.estimation_input = estimation_input
        self.music_scale = music_scale
        self.guidance_rescale = guidance_rescale
        self.guidance_caps = guidance_caps

    def _channel_weight(self, weight: float, dim: int, device: torch.device) -> Tensor | float:
        """A guidance weight per motion channel: ``weight``, at most each cap on its channels."""
        if not self.guidance_caps:
            return weight
        out = torch.full((dim,), weight, device=device)
        for channels, cap in self.guidance_caps:
            out[channels] = min(weight, cap)
        return out

    def _guided_batch(self, batch: dict, guidance: float) -> tuple[dict, tuple[float, ...], bool]:
        """The batch every step feeds the model, the weights of its B-sized parts (one part: no
        guidance; [c, u] with u + w (c - u); or [c, c_text, u] with the music weighted apart), and
        whether a [c, u] guidance is the text's alone (so the guidance rescale acts on it)."""
        if guidance == 1.0 or not has_guided_conditions(batch):
            return batch, (), False
        music = has_music(batch)
        if (self.music_scale == 1.0 and self.guidance_rescale == 0.0) or not music:
            return cat_batches(batch, null_guided(batch)), (guidance,), not music
        if not has_text(batch):  # c_text is u: the music scale multiplies the one guidance weight
            return cat_batches(batch, null_guided(batch)), (guidance * self.music_scale,), False
        parts = cat_batches(cat_batches(batch, without_music(batch)), null_guided(batch))
        return parts, (guidance, guidance * self.music_scale), False

    def _denoise(self, x_t: Tensor, t: int, batch: dict, weights: tuple[Tensor | float, ...], text_alone: bool,
                 attention: str) -> Tensor:
        """x_0 at step t of the batch, the per-channel weights and text-alone flag of `_guided_batch`."""
        parts = len(weights) + 1 if weights else 1
        tt = torch.full((x_t.shape[0] * parts,), t, dtype=torch.long, device=x_t.device)
        out = self.model(torch.cat([x_t] * parts), tt, batch, attention=attention)
        if not weights:
            return out
        if len(weights) == 1:
            cond, uncond = out.chunk(2)
            guided = uncond + weights[0] * (cond - uncond)
            return self._rescaled(guided, cond) if text_alone else guided
        cond, text_only, uncond = out.chunk(3)
        w_text, w_music = weights
        return self._rescaled(uncond + w_text * (text_only - uncond), text_only) + w_music * (cond - text_only)

    def _rescaled(self, guided: Tensor, cond: Tensor) -> Tensor:
        """The guided x_0 with its per-sample spread pulled towards the conditional x_0's by guidance_rescale."""
        if self.guidance_rescale == 0.0:
            return guided
        ratio = cond.std(dim=(1, 2), keepdim=True) / guided.std(dim=(1, 2), keepdim=True).clamp(min=1e-8)
        return self.guidance_rescale * guided * ratio + (1.0 - self.guidance_rescale) * guided

    @torch.inference_mode()
    def sample(
        self,
        batch: dict,
        steps: int = 50,
        *,
        eta: float = 0.0,
        guidance: float = 1.0,
        seed: int | torch.Generator | None = 0,
        keyframes: Tensor | None = None,
        keyframe_mask: Tensor | None = None,
        init: str | None = None,
        callback: ProgressCallback | None = None,
        attention: str = "auto",
    ) -> Tensor:
        """Run DDIM and return normalised x_0 (B, T, D).

        batch: condition keys of genmo.model.batch (valid gives B and T); steps 1..T;
        eta 0 = deterministic DDIM; guidance w (1 = off); seed int or generator;
        keyframes (B, T, D) known normalised values with keyframe_mask (B, T, D) bool;
        init "zeros" | "noise" | "observed" (default: the estimation input for 1 step, else
        "observed": the estimation input on `estimated_frames`, noise elsewhere);
        callback(i, steps, t) after every step.
        """
        valid = batch["valid"]
        b, length = valid.shape
        device = valid.device
        dim = self.model.cfg.motion_dim
        if eta < 0:
            raise ValueError(f"eta must be >= 0, got {eta}")
        if (keyframes is None) != (keyframe_mask is None):
            raise ValueError("keyframes and keyframe_mask must be given together")
        if keyframes is not None and (keyframes.shape != (b, length, dim) or keyframe_mask.shape != (b, length, dim)):
            raise ValueError(f"keyframes / keyframe_mask: expected shape {(b, length, dim)}")
        init = init or (self.estimation_input if steps == 1 else "observed")
        if init not in ("zeros", "noise", "observed"):
            raise ValueError(f"init must be 'zeros', 'noise' or 'observed', got {init!r}")
        timesteps = self.schedule.ddim_timesteps(steps)
        gen = make_generator(seed)

        def noise() -> Tensor:
            return torch.randn((b, length, dim), generator=gen).to(device)

        model_batch, weights, text_alone = self._guided_batch(batch, guidance)  # built once, used every step
        weights = tuple(self._channel_weight(w, dim, device) for w in weights)
        x_t = self._initial(init, batch, noise)
        x0 = x_t
        abar = self.schedule.alphas_cumprod
        for i, t in enumerate(timesteps):
            if keyframes is not None:
                tt = torch.full((b,), t, dtype=torch.long, device=device)
                x_t = torch.where(keyframe_mask, self.schedule.q_sample(keyframes, tt, noise()), x_t)
            x0 = self._denoise(x_t, t, model_batch, weights, text_alone, attention)
            if i + 1 < len(timesteps):
                t_next = timesteps[i + 1]
                a, a_next = float(abar[t]), float(abar[t_next])
                eps = (x_t - a ** 0.5 * x0) / (1 - a) ** 0.5
                sigma = eta * ((1 - a_next) / (1 - a) * (1 - a / a_next)) ** 0.5
                x_t = a_next ** 0.5 * x0 + max(1 - a_next - sigma ** 2, 0.0) ** 0.5 * eps
                if sigma > 0:
                    x_t = x_t + sigma * noise()
            if callback is not None:
                callback(i, len(timesteps), t)
        if keyframes is not None:
            x0 = torch.where(keyframe_mask, keyframes, x0)
        return x0

    def _initial(self, init: str, batch: dict, noise: Callable[[], Tensor]) -> Tensor:
        """x at the first step: zeros, noise, or ("observed") zeros on `estimated_frames` and noise elsewhere."""
        valid = batch["valid"]
        if init == "zeros":
            return torch.zeros(*valid.shape, self.model.cfg.motion_dim, device=valid.device)
        x = noise()
        if init == "observed" and self.estimation_input == "zeros":
            x = torch.where(estimated_frames(batch)[..., None], 0.0, x)
        return x

    @torch.inference_mode()
    def estimate(self, batch: dict, attention: str = "auto", seed: int | torch.Generator | None = 0) -> Tensor:
        """The estimation pass G(x, T-1, C), x = zeros (or noise per estimation_input)."""
        b, length = batch["valid"].shape
        dim = self.model.cfg.motion_dim
        device = batch["valid"].device
        if self.estimation_input == "zeros":
            x = torch.zeros(b, length, dim, device=device)
        else:
            x = torch.randn((b, length, dim), generator=make_generator(seed)).to(device)
        t = torch.full((b,), self.schedule.last_step, dtype=torch.long, device=device)
        return self.model(x, t, batch, attention=attention)
