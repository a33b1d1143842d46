"""Property-based fuzzing of the spec loader: whatever the input, only SpecError escapes, and nothing hangs.

Three generators: arbitrary JSON values, near-valid specs with one field swapped for junk, and raw
file bytes/text (invalid UTF-8, deep nesting, huge numbers). Together they run FUZZ_CASES (>= 1,000)
cases; each case has a deadline, a generous bound against a hang (not a speed target: a busy
machine must not fail it; the loader's speed belongs in the bench).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from genmo.spec import TRACK_KINDS, SpecError, load_spec, parse_spec  # noqa: E402

FUZZ_CASES = {"json": 500, "near_valid": 700, "raw_file": 300}
DEADLINE_MS = 60_000
FUZZ_DIR = Path(tempfile.mkdtemp(prefix="genmo-fuzz-"))
COUNTS: dict[str, int] = {}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["", "library:t_pose", "library:nope", "../../etc/passwd.wav", "/etc/passwd", "a\x00.wav",
                     "x" * 5000 + ".wav", "song.WAV", "clip.mp4", "kp.npz", "<script>alert(1)</script>", *TRACK_KINDS]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)), max_leaves=25)
field_names = st.sampled_from(["version", "fps", "duration", "sampler", "tracks", "kind", "start", "end", "text",
                               "path", "offset", "time", "frame", "steps", "guidance", "seed", "extra"])


def _valid_track(kind: str) -> dict:
    if kind == "text":
        return {"kind": "text", "start": 0.0, "end": 1.0, "text": "a person walks"}
    if kind == "keyframe":
        return {"kind": "keyframe", "time": 0.5, "path": "library:t_pose", "frame": 0}
    suffix = {"music": "wav", "video": "mp4", "keypoints2d": "npz"}[kind]
    return {"kind": kind, "start": 0.0, "end": 1.0, "path": f"missing.{suffix}", "offset": 0.0}


@st.composite
def near_valid_specs(draw) -> dict:
    """A valid spec with some fields replaced, removed or added with junk."""
    kinds = draw(st.lists(st.sampled_from(TRACK_KINDS), max_size=6))
    spec = {"version": 1, "fps": 30, "duration": 4.0, "sampler": {"steps": 5, "guidance": 2.5, "seed": 0},
            "tracks": [_valid_track(k) for k in kinds]}
    for _ in range(draw(st.integers(1, 4))):
        targets = [spec, spec["sampler"] if isinstance(spec.get("sampler"), dict) else spec,
                   *[t for t in spec.get("tracks", []) if isinstance(t, dict)]] if isinstance(spec.get("tracks"), list) else [spec]
        target = draw(st.sampled_from(targets))
        action = draw(st.sampled_from(["set", "delete", "add"]))
        name = draw(field_names)
        if action == "delete":
            target.pop(name, None)
        else:
            target[name] = draw(json_values)
    return spec


def _check(source, base_dir=None, check_files=True) -> None:
    """load_spec for files and dicts, parse_spec (which takes any decoded JSON) for other values."""
    loader = load_spec if isinstance(source, (Path, dict)) else parse_spec
    try:
        loader(source, base_dir=base_dir, check_files=check_files)
    except SpecError as err:
        text = str(err)
        assert text and "\n" not in text.strip(), f"message is not one line: {text!r}"




def fuzz_settings(cases: int) -> settings:
    """Deterministic, no example database, a per-case deadline."""
    return settings(max_examples=cases, deadline=DEADLINE_MS, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@fuzz_settings(FUZZ_CASES["json"])
@given(value=json_values)
def test_arbitrary_json_values_raise_only_spec_error(value):
    COUNTS["json"] = COUNTS.get("json", 0) + 1
    _check(value, base_dir=FUZZ_DIR)


@fuzz_settings(FUZZ_CASES["near_valid"])
@given(spec=near_valid_specs(), check_files=st.booleans())
def test_near_valid_specs_raise_only_spec_error(spec, check_files):
    COUNTS["near_valid"] = COUNTS.get("near_valid", 0) + 1
    _check(spec, base_dir=FUZZ_DIR, check_files=check_files)


raw_files = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    near_valid_specs().map(lambda s: json.dumps(s, allow_nan=True).encode()),
    st.integers(1, 60_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(4000, 20_000).map(lambda n: b'{"version": 1, "duration": ' + b"9" * n + b', "tracks": []}'),
    st.sampled_from([b"", b"\xef\xbb\xbf{}", b"{\"version\": 1e999}", b"NaN", b"\x00" * 64]),
)


@fuzz_settings(FUZZ_CASES["raw_file"])
@given(data=raw_files)
def test_raw_spec_files_raise_only_spec_error(data):
    COUNTS["raw_file"] = COUNTS.get("raw_file", 0) + 1
    path = FUZZ_DIR / "spec.json"
    path.write_bytes(data)
    _check(path)


def test_fuzzing_ran_at_least_a_thousand_cases():
    """Runs after the three fuzz tests in file order (skipped when run alone)."""
    if len(COUNTS) < 3:
        pytest.skip("run the whole file to count the fuzz cases")
    total = sum(COUNTS.values())
    print(f"fuzz cases tried: {total} {COUNTS}")
    assert total >= 1000


def test_known_crashers_are_spec_errors(tmp_path):
    """Inputs that escaped as OverflowError, TypeError, OSError, RecursionError and ValueError before."""
    base = {"version": 1, "duration": 2.0, "tracks": []}
    crashers = [
        dict(base, duration=10**400),
        dict(base, tracks=[{"kind": ["text"]}]),
        dict(base, tracks=[{"kind": {}}]),
        dict(base, tracks=[{"kind": "music", "start": 0, "end": 1, "path": "a" * 5000 + ".wav"}]),
        dict(base, tracks=[{"kind": "text", "start": -(10**400), "end": 1, "text": "x"}]),
        dict(base, sampler={"guidance": 10**400}),
    ]
    for spec in crashers:
        with pytest.raises(SpecError):
            load_spec(spec, base_dir=tmp_path)
    for name, text in {"deep": "[" * 200_000 + "]" * 200_000,
                       "digits": '{"version": 1, "duration": ' + "9" * 5000 + ', "tracks": []}'}.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        with pytest.raises(SpecError, match=name):
            load_spec(path)
    assert math.isfinite(load_spec(dict(base, duration=2)).duration)
