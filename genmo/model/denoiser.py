"""The GENMO denoiser G(x_t, t, C, M) -> x_0 (GENMO paper §3, GENMO_FACTS §2 and §5).

    conditions --(one embedder each, x per-frame mask, summed)--> f_cond       (B, T, D)
    f_cond + timestep embedding, concatenated with x_t --Linear--> tokens h    (B, T, D)
    L x GENMO module:
        multi-text injection: h += g * sum_k Omega_k * MHA(LN(h), text_k)  (+ gated MLP)
        RoPE self-attention:  h += g * Attn(LN(h)) over a sliding window W  (+ gated MLP)
    head: LN -> MLP -> x_0 (B, T, motion_dim)

Every residual branch has a per-channel gate initialised to zero (GENMO_FACTS §5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genmo.model.attention import (additive_mask, apply_rope_complex, chunked_window_attention, dense_attention,
                                   rope_rotation)
from genmo.model.batch import check_conditions
from genmo.model.config import ModelConfig
from genmo.model.embedders import ConditionFusion, TimestepEmbedder, mlp, sinusoidal

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

    def forward(self, h: Tensor) -> Tensor:
        return h + self.gate * self.mlp(self.norm(h))


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

    def forward(self, h: Tensor, rope: Tensor, key_valid: Tensor | None, mode: str) -> Tensor:
        """h (B, T, D); rope: the complex rotation table (T, head_dim / 2) of `rope_rotation`."""
        b, length, d = h.shape
        qkv = self.qkv(self.norm(h)).view(b, length, 3, self.cfg.n_heads, -1).permute(2, 0, 3, 1, 4)
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
        h = h + self.gate * self.proj(out.transpose(1, 2).reshape(b, length, d))
        return self.ff(h)


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


class GenmoDenoiser(nn.Module):
    """Predicts the clean normalised motion x_0 from a noisy x_t, the step t and the conditions."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        d = cfg.d_model
        self.fusion = ConditionFusion(d, cfg.kp_embed, cfg.dropout)
        self.timestep = TimestepEmbedder(d)
        self.in_proj = nn.Linear(cfg.motion_dim + d, d)
        self.text_proj = nn.Linear(cfg.text_dim, d)
        self.text_blocks = nn.ModuleList(MultiTextBlock(cfg) for _ in range(cfg.n_layers))
        self.attn_blocks = nn.ModuleList(SelfAttentionBlock(cfg) for _ in range(cfg.n_layers))
        self.out_norm = nn.LayerNorm(d, eps=1e-6)
        self.head = mlp(d, d, cfg.motion_dim)

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
        f_cond = self.fusion(batch["cond"], batch["cond_mask"]) + self.timestep(t)[:, None, :]
        h = self.in_proj(torch.cat([x_t, f_cond.to(x_t.dtype)], dim=-1))

        omega = batch["text_windows"] & batch["text_present"][..., None]
        text = None
        if torch.is_grad_enabled() or bool(omega.any()):  # inference shortcut when no text applies
            tokens = batch["text_tokens"]
            positions = torch.arange(tokens.shape[2], device=tokens.device)
            text = self.text_proj(tokens) + sinusoidal(positions, self.cfg.d_model).to(tokens.dtype)
            text = text * batch["text_token_mask"][..., None].to(text.dtype)

        key_valid = batch["valid"]
        key_valid = None if bool(key_valid.all()) else key_valid
        rope = rope_rotation(length, self.cfg.d_model // self.cfg.n_heads, x_t.device)
        for text_block, attn_block in zip(self.text_blocks, self.attn_blocks):
            h = text_block(h, text, batch["text_token_mask"], omega)
            h = attn_block(h, rope, key_valid, attention)
        return self.head(self.out_norm(h))
