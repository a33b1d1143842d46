"""Text prompts -> MiniLM per-token features, pooled embeddings and caches."""

from __future__ import annotations

import numpy as np
import pytest

from genmo.conditions import ConditionError
from genmo.conditions.text import MAX_PROMPT_CHARS, TEXT_DIM, TextEncoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> TextEncoder:
    return TextEncoder(max_length=32, cache_dir=tmp_path_factory.mktemp("cache"))


def test_shapes_mask_and_padding(encoder):
    tokens, mask = encoder.encode(["a person walks forward", "someone jumps"])
    assert tokens.shape == (2, 32, TEXT_DIM) and tokens.dtype == np.float32
    assert mask.shape == (2, 32) and mask.dtype == bool
    assert 3 <= mask[0].sum() < 32 and mask[1].sum() < mask[0].sum()
    assert np.all(tokens[~mask] == 0)
    assert np.all(np.abs(tokens[mask]).sum(-1) > 0)


def test_similar_prompts_closer_than_unrelated(encoder):
    e = encoder.embed(["a person walks forward", "someone is walking ahead", "a man plays the violin"])
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_long_prompt_truncated_to_max_length(encoder):
    text = " ".join(["walk"] * 200)
    tokens, mask = encoder.encode([text])
    assert mask.sum() == 32


def test_too_long_and_empty_prompts_rejected(encoder):
    with pytest.raises(ConditionError, match="MAX_PROMPT_CHARS"):
        encoder.encode(["x" * 5000])
    assert MAX_PROMPT_CHARS < 5000
    with pytest.raises(ConditionError, match="empty"):
        encoder.encode(["   "])
    with pytest.raises(ConditionError, match="list"):
        encoder.encode("a single string")


def test_disk_cache_reused_by_fresh_encoder(tmp_path):
    first = TextEncoder(cache_dir=tmp_path)
    a, _ = first.encode(["a person waves"])
    files = list((tmp_path / "text").rglob("*.npz"))
    assert len(files) == 1
    second = TextEncoder(cache_dir=tmp_path)
    second._run_model = None  # a cache miss would now fail
    b, _ = second.encode(["a person waves"])
    np.testing.assert_array_equal(a, b)


def test_batched_equals_single(encoder):
    both, _ = TextEncoder(cache_dir=None, disk_cache=False).encode(["a person runs", "a person sits down slowly"])
    one, _ = TextEncoder(disk_cache=False).encode(["a person runs"])
    np.testing.assert_allclose(both[0], one[0], atol=1e-4)
