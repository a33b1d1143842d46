"""Self-attention over frames: rotary position embedding and sliding-window attention.

Sliding window (docs/model.md §3): with window W < L, query i sees exactly the W consecutive keys
[lo_i, lo_i + W) with lo_i = clamp(i - W // 2, 0, L - W), i.e. centred and pushed inward at the
sequence edges. `chunked_window_attention` computes this in blocks of B queries, each attending to
a key span of at most W + B - 1 frames, so time and memory grow linearly with L.
`dense_attention` is the plain L x L path (used when W >= L, and as the reference).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor


def rope_tables(length: int, head_dim: int, device: torch.device, base: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos, sin tables (length, head_dim) for interleaved-pair RoPE at positions 0..length-1."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]
    angles = angles.repeat_interleave(2, dim=-1)
    return angles.cos(), angles.sin()


@functools.lru_cache(maxsize=16)
def rope_rotation(length: int, head_dim: int, device: torch.device) -> Tensor:
    """The RoPE table as unit complex numbers (length, head_dim / 2): cos + i sin of every pair's angle.

    Cached per (length, head_dim, device); built outside inference mode so training may reuse it.
    """
    with torch.inference_mode(False):
        cos, sin = rope_tables(length, head_dim, device)
        return torch.complex(cos[:, ::2].contiguous(), sin[:, ::2].contiguous())


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate adjacent pairs (x_2k, x_2k+1) of the last dim: x * cos + (-x_2k+1, x_2k) * sin.

    x (..., L, d); cos, sin (L, d).
    """
    pairs = x.unflatten(-1, (-1, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    return (x * cos + rotated * sin).to(x.dtype)


def apply_rope_complex(x: Tensor, rotation: Tensor) -> Tensor:
    """`apply_rope` as one complex product: (x_2k + i x_2k+1) * (cos + i sin). x (..., L, d) float32;
    rotation (L, d / 2) complex64 from `rope_rotation`. Several times faster on the CPU."""
    pairs = x.float().unflatten(-1, (-1, 2))
    if pairs.stride(-1) != 1 or any(st % 2 for st in pairs.stride()[:-1]):
        pairs = pairs.contiguous()
    return torch.view_as_real(torch.view_as_complex(pairs) * rotation).flatten(-2).to(x.dtype)


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


def additive_mask(allowed: Tensor, dtype: torch.dtype) -> Tensor:
    """A bool mask as an additive float one: 0 where allowed, -inf elsewhere.

    The fused CPU attention kernel takes float masks directly; bool masks are converted on every call.
    """
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(~allowed, float("-inf"))


@functools.lru_cache(maxsize=16)
def _window_bias(length: int, window: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Additive (1, 1, L, L) sliding-window mask, cached (built outside inference mode)."""
    with torch.inference_mode(False):
        return additive_mask(sliding_window_mask(length, window, device)[None, None], dtype)


def dense_attention(q: Tensor, k: Tensor, v: Tensor, key_valid: Tensor | None, window: int | None,
                    dropout: float = 0.0) -> Tensor:
    """Full attention, optionally restricted by a dense sliding-window mask.

    q, k, v (B, H, L, d); key_valid (B, L) bool or None; window None = no window.
    """
    b, _, length, _ = q.shape
    windowed = window is not None and window < length
    if key_valid is None:
        bias = _window_bias(length, window, q.device, q.dtype) if windowed else None
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
    window_mask = sliding_window_mask(length, window, q.device)[None, None] if windowed else None
    kv = key_valid[:, None, None, :]
    allowed = kv if window_mask is None else window_mask & kv
    allowed = _ensure_some_key(allowed.expand(b, 1, length, length), window_mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=additive_mask(allowed, q.dtype), dropout_p=dropout)


@functools.lru_cache(maxsize=16)
def _chunk_layout(length: int, window: int, block: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Key indices (nb, S) of every query block's key span and its window mask (nb, Bq, S) bool."""
    with torch.inference_mode(False):
        n_blocks = -(-length // block)
        span = min(window + block - 1, length)
        lo = window_starts(length, window, device)
        # key span of block n starts at the window start of its first query, kept inside [0, L - span]
        block_first = torch.arange(n_blocks, device=device) * block
        span_start = lo[block_first].clamp(max=length - span)  # (nb,)
        key_idx = span_start[:, None] + torch.arange(span, device=device)[None, :]  # (nb, S)
        q_idx = (block_first[:, None] + torch.arange(block, device=device)[None, :]).clamp(max=length - 1)
        q_lo = lo[q_idx]  # (nb, Bq)
        in_window = (key_idx[:, None, :] >= q_lo[..., None]) & (key_idx[:, None, :] < q_lo[..., None] + window)
        return key_idx, in_window


@functools.lru_cache(maxsize=16)
def _chunk_bias(length: int, window: int, block: int, heads: int, device: torch.device,
                dtype: torch.dtype) -> Tensor:
    """Additive window mask of the chunked layout for every head: (1, H * nb, Bq, S), cached."""
    with torch.inference_mode(False):
        _, in_window = _chunk_layout(length, window, block, device)
        return additive_mask(in_window.expand(heads, *in_window.shape).flatten(0, 1)[None], dtype)


def chunked_window_attention(q: Tensor, k: Tensor, v: Tensor, key_valid: Tensor | None, window: int,
                             block: int, dropout: float = 0.0) -> Tensor:
    """Sliding-window attention in query blocks; linear in L. Same result as the dense masked path.

    q, k, v (B, H, L, d); key_valid (B, L) bool or None. Requires window < L.
    Blocks are folded into the head dimension so one fused 4-D attention call does all of them.
    """
    b, h, length, d = q.shape
    if window >= length:
        return dense_attention(q, k, v, key_valid, None, dropout)
    block = max(1, min(block, length))
    key_idx, in_window = _chunk_layout(length, window, block, q.device)
    n_blocks, span = key_idx.shape
    if key_valid is None:
        bias = _chunk_bias(length, window, block, h, q.device, q.dtype)
    else:
        allowed = in_window[None, None] & key_valid[:, key_idx][:, None, :, None, :]  # (B, 1, nb, Bq, S)
        allowed = _ensure_some_key(allowed, in_window[None, None])
        bias = additive_mask(allowed.expand(b, h, *allowed.shape[2:]).flatten(1, 2), q.dtype)
    pad = n_blocks * block - length
    qb = F.pad(q, (0, 0, 0, pad)).reshape(b, h * n_blocks, block, d)
    flat_idx = key_idx.flatten()  # index_select copies whole rows: about 2x faster than advanced indexing
    kb = k.index_select(2, flat_idx).reshape(b, h * n_blocks, span, d)
    vb = v.index_select(2, flat_idx).reshape(b, h * n_blocks, span, d)
    out = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=bias, dropout_p=dropout)
    return out.reshape(b, h, n_blocks * block, d)[:, :, :length]
