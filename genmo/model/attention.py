"""Self-attention over frames: rotary position embedding and sliding-window attention.

Sliding window (GENMO_FACTS §5): with window W < L, query i sees exactly the W consecutive keys
[lo_i, lo_i + W) with lo_i = clamp(i - W // 2, 0, L - W), i.e. centred and pushed inward at the
sequence edges. `chunked_window_attention` computes this in blocks of B queries, each attending to
a key span of at most W + B - 1 frames, so time and memory grow linearly with L.
`dense_attention` is the plain L x L path (used when W >= L, and as the reference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def rope_tables(length: int, head_dim: int, device: torch.device, base: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos, sin tables (length, head_dim) for interleaved-pair RoPE at positions 0..length-1."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]
    angles = angles.repeat_interleave(2, dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate adjacent pairs (x_2k, x_2k+1) of the last dim: x * cos + (-x_2k+1, x_2k) * sin.

    x (..., L, d); cos, sin (L, d).
    """
    pairs = x.unflatten(-1, (-1, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    return (x * cos + rotated * sin).to(x.dtype)


def window_starts(length: int, window: int, device: torch.device) -> Tensor:
    """First key of every query's window: clamp(i - W // 2, 0, L - W). (L,) long."""
    i = torch.arange(length, device=device)
    return (i - window // 2).clamp(min=0, max=max(length - window, 0))


def sliding_window_mask(length: int, window: int, device: torch.device) -> Tensor:
    """Dense (L, L) bool mask, True where query i may attend to key j."""
    lo = window_starts(length, window, device)[:, None]
    j = torch.arange(length, device=device)[None, :]
    return (j >= lo) & (j < lo + window)


def _ensure_some_key(allowed: Tensor, fallback: Tensor | None) -> Tensor:
    """Rows with no allowed key (windows lying fully in padding) use `fallback` (their window,
    ignoring padding; None = every key) instead of producing NaN."""
    empty = ~allowed.any(dim=-1, keepdim=True)
    if fallback is None:
        return allowed | empty
    return allowed | (empty & fallback)


def dense_attention(q: Tensor, k: Tensor, v: Tensor, key_valid: Tensor | None, window: int | None,
                    dropout: float = 0.0) -> Tensor:
    """Full attention, optionally restricted by a dense sliding-window mask.

    q, k, v (B, H, L, d); key_valid (B, L) bool or None; window None = no window.
    """
    b, _, length, _ = q.shape
    window_mask = None
    if window is not None and window < length:
        window_mask = sliding_window_mask(length, window, q.device)[None, None]
    allowed = window_mask
    if key_valid is not None:
        kv = key_valid[:, None, None, :]
        allowed = kv if window_mask is None else window_mask & kv
        allowed = _ensure_some_key(allowed.expand(b, 1, length, length), window_mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout)


def chunked_window_attention(q: Tensor, k: Tensor, v: Tensor, key_valid: Tensor | None, window: int,
                             block: int, dropout: float = 0.0) -> Tensor:
    """Sliding-window attention in query blocks; linear in L. Same result as the dense masked path.

    q, k, v (B, H, L, d); key_valid (B, L) bool or None. Requires window < L.
    """
    b, h, length, d = q.shape
    if window >= length:
        return dense_attention(q, k, v, key_valid, None, dropout)
    block = max(1, min(block, length))
    n_blocks = -(-length // block)
    span = min(window + block - 1, length)
    dev = q.device
    lo = window_starts(length, window, dev)
    # key span of block n starts at the window start of its first query, kept inside [0, L - span]
    block_first = torch.arange(n_blocks, device=dev) * block
    span_start = lo[block_first].clamp(max=length - span)  # (nb,)
    key_idx = span_start[:, None] + torch.arange(span, device=dev)[None, :]  # (nb, S)
    q_idx = (block_first[:, None] + torch.arange(block, device=dev)[None, :]).clamp(max=length - 1)  # (nb, Bq)
    q_lo = lo[q_idx]  # (nb, Bq)
    in_window = (key_idx[:, None, :] >= q_lo[..., None]) & (key_idx[:, None, :] < q_lo[..., None] + window)
    allowed = in_window[None, None]  # (1, 1, nb, Bq, S)
    if key_valid is not None:
        allowed = allowed & key_valid[:, key_idx][:, None, :, None, :]  # (B, 1, nb, Bq, S)
        allowed = _ensure_some_key(allowed, in_window[None, None])
    pad = n_blocks * block - length
    qb = F.pad(q, (0, 0, 0, pad)).unflatten(2, (n_blocks, block))  # (B, H, nb, Bq, d)
    kb = k[:, :, key_idx]  # (B, H, nb, S, d)
    vb = v[:, :, key_idx]
    out = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=allowed, dropout_p=dropout)
    return out.flatten(2, 3)[:, :, :length]
