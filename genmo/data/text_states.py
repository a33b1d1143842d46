"""Text-encoder token states computed once and looked up later, so training needs no text model.

File layout (``text_states.npz``, compressed): ``texts`` (N,) the prompts as the encoder sees them
(stripped), ``offsets`` (N + 1,) row ranges into ``states`` (sum n_i, 384) of each prompt's n_i real
tokens (padding trimmed), ``max_length`` the encoder's token limit, ``bits`` 16 (float16 states)
or 8 (uint8 states, per-dimension ``low`` + ``scale``: value = low + scale * q), ``model_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from genmo.conditions.text import DEFAULT_MAX_TOKENS, MODEL_ID, TEXT_DIM, check_prompt
from genmo.errors import ConditionError, UserInputError

TEXT_STATES_FILE = "text_states.npz"
ENCODE_BATCH = 256


def _quantize(states: np.ndarray, bits: int) -> dict[str, np.ndarray]:
    if bits == 16:
        return {"states": states.astype(np.float16)}
    if bits == 8:
        low, high = states.min(axis=0), states.max(axis=0)
        scale = np.maximum(high - low, 1e-12) / 255.0
        q = np.clip(np.round((states - low) / scale), 0, 255).astype(np.uint8)
        return {"states": q, "low": low.astype(np.float32), "scale": scale.astype(np.float32)}
    raise ValueError(f"text state bits must be 16 or 8, got {bits}")


def write_text_states(path: str | Path, prompts: Iterable[str], encoder, bits: int = 16,
                      log: Callable[[str], None] | None = None) -> dict:
    """Encode every distinct prompt with ``encoder`` (a genmo.conditions.text.TextEncoder) and write
    the states to ``path``. Returns {"sentences", "tokens", "bytes", "bits"}."""
    texts = sorted({check_prompt(p) for p in prompts})
    if not texts:
        raise UserInputError("no sentences to encode")
    rows = []
    for start in range(0, len(texts), ENCODE_BATCH):
        rows += [enc.tokens for enc in encoder.encode_many(texts[start:start + ENCODE_BATCH])]
        if log:
            log(f"  text states: {min(start + ENCODE_BATCH, len(texts))}/{len(texts)} sentences")
    lengths = np.array([len(r) for r in rows], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, texts=np.array(texts), offsets=offsets, max_length=np.int64(encoder.max_length),
                        bits=np.int64(bits), model_id=np.array(MODEL_ID), **_quantize(np.concatenate(rows), bits))
    return {"sentences": len(texts), "tokens": int(offsets[-1]), "bytes": path.stat().st_size, "bits": bits}


class TextStateCache:
    """A text encoder that looks prompts up in a states file instead of running the model.

    ``encode`` has the signature and output of ``TextEncoder.encode`` (tokens padded to the
    encoder's ``max_length``, float32, and their mask); a prompt that is not in the file raises
    ConditionError naming it.
    """

    def __init__(self, texts: list[str], offsets: np.ndarray, states: np.ndarray, max_length: int = DEFAULT_MAX_TOKENS,
                 low: np.ndarray | None = None, scale: np.ndarray | None = None, source: str = "text states") -> None:
        self.max_length = int(max_length)
        self._row = {t: i for i, t in enumerate(texts)}
        self._offsets = offsets
        self._states, self._low, self._scale = states, low, scale
        self._source = source

    @classmethod
    def load(cls, path: str | Path) -> TextStateCache:
        """Read a file written by write_text_states."""
        path = Path(path)
        if not path.is_file():
            raise UserInputError(f"text state cache not found: {path}")
        with np.load(path, allow_pickle=False) as data:
            if str(data["model_id"]) != MODEL_ID or data["states"].shape[1:] != (TEXT_DIM,):
                raise UserInputError(f"{path}: states of another text encoder ({data['model_id']})")
            quantized = int(data["bits"]) == 8
            return cls(data["texts"].tolist(), data["offsets"], data["states"], int(data["max_length"]),
                       data["low"] if quantized else None, data["scale"] if quantized else None, str(path))

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, prompt: str) -> bool:
        return prompt.strip() in self._row

    def tokens(self, prompt: str) -> np.ndarray:
        """The (n, 384) float32 token states of one prompt."""
        key = check_prompt(prompt)
        row = self._row.get(key)
        if row is None:
            raise ConditionError(f"sentence not in {self._source}: {key[:80]!r} (rebuild it with `python -m genmo data pack`)")
        block = self._states[self._offsets[row]:self._offsets[row + 1]]
        if self._low is None:
            return block.astype(np.float32)
        return self._low + self._scale * block.astype(np.float32)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Prompts -> (tokens (B, max_length, 384) float32, mask (B, max_length) bool), zero-padded."""
        if isinstance(texts, str):
            raise ConditionError("encode expects a list of prompts, got a single string")
        tokens = np.zeros((len(texts), self.max_length, TEXT_DIM), np.float32)
        mask = np.zeros((len(texts), self.max_length), bool)
        for i, text in enumerate(texts):
            states = self.tokens(text)
            tokens[i, :len(states)] = states
            mask[i, :len(states)] = True
        return tokens, mask
