"""The GENMO denoiser G(x_t, t, C, M) -> x_0 (GENMO paper §3; docs/model.md §3).

    conditions --(one embedder each, x per-frame mask, summed)--> f_cond       (B, T, D)
    f_cond + timestep embedding, concatenated with x_t --Linear--> tokens h    (B, T, D)
    L x GENMO module:
        multi-text injection: h += g * sum_k Omega_k * MHA(LN(h), text_k)  (+ gated MLP)
        RoPE self-attention:  h += g * Attn(LN(h)) over a sliding window W  (+ gated MLP)
    head: LN -> MLP -> x_0 (B, T, motion_dim)

Every residual branch has a per-channel gate initialised to zero (docs/model.md §3).

v3 options (ModelConfig; all off reproduces the v1/v2 denoiser exactly):
- text_layers: a few trainable transformer layers over the frozen text-encoder token states;
- adaln: the timestep embedding plus the pooled state of the prompt covering each frame
  modulate every self-attention block and its MLP (AdaLN-zero: shift, scale and gate from a
  zero-initialised Linear, as in DiT); the timestep then no longer enters through the tokens;
- prediction "v": x_0 = sqrt(abar_t) x_t + sqrt(1 - abar_t) F, a skip from x_t with the
  timestep-dependent weights of EDM's preconditioning in variance-preserving form (F is minus
  the v of v-prediction). At t = T-1 from zeros this is sqrt(1 - abar) F, so the estimation pass
  and in-painting are unchanged.
- prediction "wiener": x_0 = H_t * x_t + sqrt(1 - abar_t) F, the scalar skip replaced by the
  Wiener filter of motion's temporal spectrum (genmo.model.skip_filter): the skip keeps the slow
  part of x_t and no longer passes its frame-to-frame noise into x_0. With skip_per_feature each
  feature has its own filter, from its own spectrum (the buffer skip_spectra).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genmo.diffusion.schedule import cosine_alphas_cumprod
from genmo.model.skip_filter import (SPECTRUM_BINS, apply_kernels, feature_wiener_kernels, grid_interpolation,
                                     wiener_kernels)
from genmo.model.attention import (additive_mask, apply_rope_complex, chunked_window_attention, dense_attention,
                                   rope_rotation)
from genmo.model.batch import check_conditions
from genmo.model.config import ModelConfig
from genmo.model.embedders import ConditionFusion, TimestepEmbedder, mlp, sinusoidal, zero_init

ATTENTION_MODES = ("auto", "chunked", "dense_over_window", "full")


class GatedMLP(nn.Module):
    """h += g * MLP(LN(h)), g zero-initialised."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.d_model, eps=1e-6)
        hidden = int(cfg.d_model * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, hidden), nn.GELU(approximate="tanh"),
                                 nn.Dropout(cfg.dropout), nn.Linear(hidden, cfg.d_model), nn.Dropout(cfg.dropout))
        self.gate = nn.Parameter(torch.zeros(cfg.d_model))

    def forward(self, h: Tensor, mod: Tensor | None = None) -> Tensor:
        """mod (B, T, 3D): AdaLN shift, scale, gate, or None."""
        if mod is None:
            return h + self.gate * self.mlp(self.norm(h))
        shift, scale, gate = mod.chunk(3, dim=-1)
        return h + (self.gate + gate) * self.mlp(self.norm(h) * (1 + scale) + shift)


class SelfAttentionBlock(nn.Module):
    """RoPE multi-head self-attention over frames, full or sliding-window, then a gated MLP."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.d_model, eps=1e-6)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.gate = nn.Parameter(torch.zeros(cfg.d_model))
        self.ff = GatedMLP(cfg)

    def forward(self, h: Tensor, rope: Tensor, key_valid: Tensor | None, mode: str, mod: Tensor | None = None) -> Tensor:
        """h (B, T, D); rope: the complex rotation table (T, head_dim / 2) of `rope_rotation`;
        mod (B, T, 6D): AdaLN shift, scale, gate of the attention and of the MLP, or None."""
        b, length, d = h.shape
        normed = self.norm(h)
        gate = self.gate
        if mod is not None:
            shift, scale, g = mod[..., : 3 * d].chunk(3, dim=-1)
            normed = normed * (1 + scale) + shift
            gate = gate + g
        qkv = self.qkv(normed).view(b, length, 3, self.cfg.n_heads, -1).permute(2, 0, 3, 1, 4)
        q, k = apply_rope_complex(qkv[:2], rope)  # q and k rotated in one pass
        v = qkv[2]
        p = self.cfg.dropout if self.training else 0.0
        w = self.cfg.window
        if mode == "full" or w >= length:
            out = dense_attention(q, k, v, key_valid, None, p)
        elif mode == "dense_over_window":
            out = dense_attention(q, k, v, key_valid, w, p)
        else:
            out = chunked_window_attention(q, k, v, key_valid, w, self.cfg.attn_block, p)
        h = h + gate * self.proj(out.transpose(1, 2).reshape(b, length, d))
        return self.ff(h, None if mod is None else mod[..., 3 * d:])


class MultiTextBlock(nn.Module):
    """f_out = f_in + g * sum_k Omega_k * MaskedMHA(LN(f_in), text_k), then a gated MLP.

    Omega_k (B, K, T) is text k's frame window AND its presence flag, so a frame covered by no
    present text receives exactly zero from this block's attention branch.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.d_model, eps=1e-6)
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.gate = nn.Parameter(torch.zeros(cfg.d_model))
        self.ff = GatedMLP(cfg)

    def forward(self, h: Tensor, text: Tensor | None, token_mask: Tensor, omega: Tensor) -> Tensor:
        """h (B, T, D); text (B, K, L, D) or None (no text applies); token_mask (B, K, L) bool;
        omega (B, K, T) bool."""
        if text is None:
            return self.ff(h)
        rows = omega.flatten(1).any(dim=1)  # samples some present text covers
        if bool(rows.any()) and not bool(rows.all()):  # e.g. the unguided half of a CFG batch: skip it
            idx = rows.nonzero()[:, 0]
            part = self._inject(h[idx], text[idx], token_mask[idx], omega[idx])
            injected = torch.zeros_like(h).index_copy_(0, idx, part)
        else:
            injected = self._inject(h, text, token_mask, omega)
        return self.ff(h + self.gate * injected)

    def _inject(self, h: Tensor, text: Tensor, token_mask: Tensor, omega: Tensor) -> Tensor:
        """sum_k Omega_k * MaskedMHA(LN(h), text_k): (B, T, D)."""
        b, length, d = h.shape
        n_texts, n_tokens = text.shape[1:3]
        n_heads = self.cfg.n_heads
        # prompts are folded into the batch so one fused 4-D attention call serves all of them
        q = self.q(self.norm(h)).view(b, 1, length, n_heads, -1).transpose(2, 3)  # (B, 1, H, T, dh)
        q = q.expand(-1, n_texts, -1, -1, -1).reshape(b * n_texts, n_heads, length, -1)
        k, v = self.kv(text).view(b * n_texts, n_tokens, 2, n_heads, -1).permute(2, 0, 3, 1, 4)  # (BK, H, L, dh)
        allowed = token_mask | ~token_mask.any(dim=-1, keepdim=True)  # absent texts are zeroed by omega
        bias = additive_mask(allowed.reshape(b * n_texts, 1, 1, n_tokens), q.dtype)
        p = self.cfg.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
        out = out.view(b, n_texts, n_heads, length, -1).transpose(2, 3).reshape(b, n_texts, length, d)
        # sum_k Omega_k * proj(out_k) with the projection applied once to the masked sum (it is affine)
        weights = omega.to(out.dtype)  # (B, K, T)
        mixed = torch.einsum("bkt,bktd->btd", weights, out) if n_texts > 1 else out[:, 0] * weights[:, 0, :, None]
        return F.linear(mixed, self.proj.weight) + weights.sum(dim=1)[..., None] * self.proj.bias


class TextEncoderBlock(nn.Module):
    """A pre-norm transformer layer over one prompt's token states (B, L, D), padding masked."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ff = nn.Sequential(nn.LayerNorm(d, eps=1e-6), mlp(d, 2 * d, d, cfg.dropout))

    def forward(self, x: Tensor, token_mask: Tensor) -> Tensor:
        """x (B, L, D); token_mask (B, L) bool (a row without tokens attends to all of them)."""
        b, n, d = x.shape
        qkv = self.qkv(self.norm(x)).view(b, n, 3, self.cfg.n_heads, -1).permute(2, 0, 3, 1, 4)
        allowed = token_mask | ~token_mask.any(dim=-1, keepdim=True)
        bias = additive_mask(allowed[:, None, None, :], x.dtype)
        p = self.cfg.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=bias, dropout_p=p)
        x = x + self.proj(out.transpose(1, 2).reshape(b, n, d))
        return x + self.ff(x)


class GenmoDenoiser(nn.Module):
    """Predicts the clean normalised motion x_0 from a noisy x_t, the step t and the conditions."""

    def __init__(self, cfg: ModelConfig, num_timesteps: int = 1000):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        d = cfg.d_model
        self.fusion = ConditionFusion(d, cfg.kp_embed, cfg.dropout)
        self.timestep = TimestepEmbedder(d)
        self.in_proj = nn.Linear(cfg.motion_dim + d, d)
        self.text_proj = nn.Linear(cfg.text_dim, d)
        self.text_encoder = nn.ModuleList(TextEncoderBlock(cfg) for _ in range(cfg.text_layers))
        self.text_blocks = nn.ModuleList(MultiTextBlock(cfg) for _ in range(cfg.n_layers))
        self.attn_blocks = nn.ModuleList(SelfAttentionBlock(cfg) for _ in range(cfg.n_layers))
        self.out_norm = nn.LayerNorm(d, eps=1e-6)
        self.head = mlp(d, d, cfg.motion_dim)
        if cfg.adaln:
            self.text_pool = nn.Linear(d, d)
            self.modulation = nn.ModuleList(zero_init(nn.Linear(d, 6 * d)) for _ in range(cfg.n_layers))
        if cfg.prediction in ("v", "wiener"):
            abar = cosine_alphas_cumprod(num_timesteps).float()
            self.register_buffer("skip_scale", abar.sqrt(), persistent=False)
            self.register_buffer("out_scale", (1 - abar).sqrt(), persistent=False)
        if cfg.prediction == "wiener" and cfg.skip_per_feature:
            # measured when training starts (genmo.data.training.measure_feature_spectra); zeros: no skip yet
            self.register_buffer("skip_spectra", torch.zeros(cfg.motion_dim, SPECTRUM_BINS))
            self.register_buffer("skip_interpolation", grid_interpolation(), persistent=False)
        elif cfg.prediction == "wiener":
            if not cfg.skip_spectrum:
                raise ValueError("model.prediction 'wiener' needs model.skip_spectrum (measured when training starts)")
            self.register_buffer("skip_kernels", wiener_kernels(cfg.skip_spectrum, abar,
                                                                power_cap=cfg.skip_power_cap), persistent=False)

    def encode_text(self, batch: dict) -> Tensor:
        """Text token features (B, K, L, D): projection + positions, the trainable text layers, padding zeroed."""
        tokens = batch["text_tokens"]
        token_mask = batch["text_token_mask"]
        positions = torch.arange(tokens.shape[2], device=tokens.device)
        text = self.text_proj(tokens) + sinusoidal(positions, self.cfg.d_model).to(tokens.dtype)
        if len(self.text_encoder):
            b, k, n, d = text.shape
            flat, flat_mask = text.reshape(b * k, n, d), token_mask.reshape(b * k, n)
            for block in self.text_encoder:
                flat = block(flat, flat_mask)
            text = flat.view(b, k, n, d)
        return text * token_mask[..., None].to(text.dtype)

    def modulations(self, t_emb: Tensor, text: Tensor | None, batch: dict, omega: Tensor) -> list[Tensor]:
        """Per-layer AdaLN parameters (B, T, 6D) from the timestep and the pooled prompt of each frame.

        Conditioning vectors c_0 = t_emb (frames no prompt covers) and c_k = t_emb + pool(text_k)
        are modulated once each; a frame takes the mean over the prompts that cover it.
        """
        b, k = omega.shape[:2]
        c = t_emb[:, None, :]
        weights = (~omega.any(dim=1)).to(t_emb.dtype)[..., None]  # (B, T, 1): no prompt
        if text is not None:
            token_mask = batch["text_token_mask"][..., None].to(text.dtype)
            pooled = (text * token_mask).sum(2) / token_mask.sum(2).clamp(min=1)  # (B, K, D)
            c = torch.cat([c, t_emb[:, None, :] + self.text_pool(pooled)], dim=1)  # (B, K+1, D)
            cover = omega.transpose(1, 2).to(t_emb.dtype)  # (B, T, K)
            cover = cover / cover.sum(-1, keepdim=True).clamp(min=1)
            weights = torch.cat([weights, cover], dim=-1)  # (B, T, K+1)
        c = F.silu(c)
        return [torch.einsum("btk,bkd->btd", weights, layer(c)) for layer in self.modulation]

    def forward(self, x_t: Tensor, t: Tensor, batch: dict, attention: str = "auto") -> Tensor:
        """x_t (B, T, motion_dim); t (B,) long; batch: the condition keys of genmo.model.batch.

        attention: "auto" (chunked sliding window when T > W, else full), "chunked",
        "dense_over_window" (the same window with a dense T x T mask) or "full" (no window).
        Returns x_0 (B, T, motion_dim).
        """
        if attention not in ATTENTION_MODES:
            raise ValueError(f"attention must be one of {ATTENTION_MODES}, got {attention!r}")
        if x_t.ndim != 3 or x_t.shape[-1] != self.cfg.motion_dim:
            raise ValueError(f"x_t: expected (B, T, {self.cfg.motion_dim}), got {tuple(x_t.shape)}")
        b, length, _ = x_t.shape
        if length < 1:
            raise ValueError("x_t: needs at least one frame")
        check_conditions(batch, length)
        t = t.expand(b) if t.ndim == 0 else t
        t_emb = self.timestep(t)
        f_cond = self.fusion(batch["cond"], batch["cond_mask"])
        if not self.cfg.adaln:
            f_cond = f_cond + t_emb[:, None, :]
        h = self.in_proj(torch.cat([x_t, f_cond.to(x_t.dtype)], dim=-1))

        omega = batch["text_windows"] & batch["text_present"][..., None]
        text = None
        if torch.is_grad_enabled() or bool(omega.any()):  # inference shortcut when no text applies
            text = self.encode_text(batch)
        mods = self.modulations(t_emb, text, batch, omega) if self.cfg.adaln else [None] * self.cfg.n_layers

        key_valid = batch["valid"]
        key_valid = None if bool(key_valid.all()) else key_valid
        rope = rope_rotation(length, self.cfg.d_model // self.cfg.n_heads, x_t.device)
        for text_block, attn_block, mod in zip(self.text_blocks, self.attn_blocks, mods):
            h = text_block(h, text, batch["text_token_mask"], omega)
            h = attn_block(h, rope, key_valid, attention, mod)
        out = self.head(self.out_norm(h))
        tt = t.long()
        if self.cfg.prediction == "v":
            out = self.skip_scale[tt][:, None, None] * x_t + self.out_scale[tt][:, None, None] * out
        elif self.cfg.prediction == "wiener":
            out = apply_kernels(x_t, self.skip_filters(tt)) + self.out_scale[tt][:, None, None] * out
        return out

    def skip_filters(self, t: Tensor) -> Tensor:
        """The Wiener skip's kernels at timesteps t (B,): (B, K) shared, or (B, D, K) per feature."""
        if not self.cfg.skip_per_feature:
            return self.skip_kernels[t]
        return feature_wiener_kernels(self.skip_spectra, self.skip_scale[t] ** 2, self.skip_interpolation,
                                      power_cap=self.cfg.skip_power_cap).to(self.skip_spectra.dtype)
