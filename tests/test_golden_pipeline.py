"""GenmoPipeline's fixed-seed outputs are bit-identical to the reference the pre-refactor code wrote.

See tests/golden.py for the timelines, the models and how tests/data/golden_pipeline.json was
produced. A model whose weights differ from the reference's (a new shipped checkpoint, a changed
denoiser) is skipped with the reason; in another environment (torch build, CPU kernels) the
arrays are compared by their sums to a relative 1e-4 instead of bit for bit.
"""

from __future__ import annotations

import pytest

from tests import golden

REFERENCE = golden.read_reference()
SAME_ENVIRONMENT = REFERENCE["environment"] == golden.environment()


@pytest.fixture(scope="module", params=golden.model_names())
def model(request, tmp_path_factory):
    name = request.param
    if name == "shipped" and not (golden.ROOT / "checkpoints" / "genmo-small" / "config.json").is_file():
        pytest.skip("no shipped checkpoint")
    pipe = golden.load_model(name)
    have, want = golden.weights_hash(pipe), REFERENCE["models"][name]
    if have != want:
        pytest.skip(f"{name} model weights (sha256 {have[:12]}) differ from the reference's ({want[:12]}): "
                    "regenerate tests/data/golden_pipeline.json with `python -m tests.golden --write` "
                    "if the model changed on purpose")
    return name, pipe


@pytest.fixture(autouse=True)
def fresh_caches(tmp_path, monkeypatch):
    """Text and music features are computed, not read from a cache another test may have written."""
    monkeypatch.setenv("GENMO_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("case", golden.case_names())
def test_output_matches_the_reference(model, case):
    name, pipe = model
    want = REFERENCE["cases"][f"{name}/{case}"]
    have = golden.summary(golden.run_case(pipe, case))
    assert sorted(have["arrays"]) == sorted(want["arrays"]), "the result holds other arrays than the reference"
    for key, ref in want["arrays"].items():
        got = have["arrays"][key]
        assert (got["shape"], got["dtype"]) == (ref["shape"], ref["dtype"]), key
        if SAME_ENVIRONMENT:
            assert got["sha256"] == ref["sha256"], (
                f"{name}/{case}: {key} differs from the reference (sum {got['sum']!r} vs {ref['sum']!r})")
        else:
            for stat in ("sum", "abs_sum"):
                assert got[stat] == pytest.approx(ref[stat], rel=1e-4, abs=1e-4), f"{name}/{case}: {key} {stat}"
    if SAME_ENVIRONMENT:
        assert have["sha256"] == want["sha256"]
