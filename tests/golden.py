"""Fixed-seed reference outputs of GenmoPipeline, to check that a refactor changes nothing.

The reference (tests/data/golden_pipeline.json) was first written by the code at commit cd7a0d2
(before issue 17's restructuring), and is rewritten after a deliberate model or sampler change, with

    PYTHONPATH=. HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python -m tests.golden --write

with OMP_NUM_THREADS unset, as the test suite runs: the music features' numpy / BLAS threads change
their last bits (OMP_NUM_THREADS=1 on the 2-core machine gave other music hashes than the suite).

It holds, per model and timeline, a sha256 over every array of the result (poses, trans, betas,
joints, contacts, camera, condition masks, text windows) and per array its own sha256, shape and sums. Each model entry is
keyed by a hash of the weights it ran with: `tiny` is `GenmoPipeline.tiny_random(seed=0)` (it
survives checkpoint changes, not denoiser changes) and `shipped` is checkpoints/genmo-small. When
the weights differ from the reference's (a new checkpoint, a changed denoiser), the test skips
and says so; rewrite the reference with the command above only for a deliberate model change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT / "examples" / "media"
REFERENCE = Path(__file__).resolve().parent / "data" / "golden_pipeline.json"
THREADS = 1  # torch threads while sampling: fixed so a reduction order cannot depend on the machine's load


def _spec(tracks: list[dict], duration: float = 2.0, fps: int = 30, steps: int = 3, guidance: float = 2.5,
          seed: int = 0) -> dict:
    return {"version": 1, "fps": fps, "duration": duration,
            "sampler": {"steps": steps, "guidance": guidance, "seed": seed}, "tracks": tracks}


def _cases() -> dict[str, tuple[Callable[[], Any], dict[str, Any]]]:
    """name -> (a function returning the TimelineSpec, keyword arguments of the pipeline call)."""
    from genmo.spec import load_spec

    music = str(MEDIA / "chorale.ogg")
    keypoints = str(MEDIA / "wave_keypoints.npz")
    squat = str(MEDIA / "squat_pose.npz")

    def spec_of(data: dict) -> Callable[[], Any]:
        return lambda: load_spec(data)

    def observation(kind: str, path: Path) -> Callable[[], Any]:
        def make() -> Any:
            try:
                from genmo.spec import spec_for_observation
            except ImportError:  # before issue 17 it lived in the pipeline module
                from genmo.pipeline import spec_for_observation
            return spec_for_observation(kind, path)
        return make

    return {
        "unconditional": (spec_of(_spec([], duration=1.0, seed=3)), {}),
        "text": (spec_of(_spec([
            {"kind": "text", "start": 0.0, "end": 1.2, "text": "a person walks forward"},
            {"kind": "text", "start": 0.8, "end": 2.0, "text": "a person waves with the right hand"}])), {}),
        "music": (spec_of(_spec([{"kind": "music", "start": 0.5, "end": 2.0, "path": music, "offset": 1.0}],
                                fps=24, seed=5)), {}),
        "keypoints2d": (spec_of(_spec([{"kind": "keypoints2d", "start": 0.2, "end": 1.8, "path": keypoints,
                                        "offset": 0.5}], steps=1, guidance=1.0)), {}),
        "video": (observation("video", MEDIA / "mannequin.mp4"), {"steps": 1}),
        "keypoints2d_file": (observation("keypoints2d", MEDIA / "wave_keypoints.npz"), {"steps": 2, "smooth": 0.0}),
        "keyframe": (spec_of(_spec([
            {"kind": "keyframe", "time": 0.0, "path": "library:arms_up"},
            {"kind": "keyframe", "time": 1.0, "path": squat, "frame": 0},
            {"kind": "keyframe", "time": 2.0, "path": "library:t_pose"}], steps=4, seed=2)), {}),
        "mixed": (spec_of(_spec([
            {"kind": "keypoints2d", "start": 0.0, "end": 1.0, "path": keypoints},
            {"kind": "text", "start": 0.0, "end": 2.5, "text": "a person dances happily"},
            {"kind": "music", "start": 1.0, "end": 2.5, "path": music},
            {"kind": "keyframe", "time": 2.2, "path": "library:squat"}], duration=2.5, fps=20, steps=3, seed=9)),
            {"guidance": 3.0, "smooth": 1.5}),
    }


def _models() -> dict[str, Callable[[], Any]]:
    from genmo.paths import default_checkpoint
    from genmo.pipeline import GenmoPipeline

    return {"tiny": lambda: GenmoPipeline.tiny_random(seed=0),
            "shipped": lambda: GenmoPipeline.from_pretrained(default_checkpoint(), device="cpu")}


def weights_hash(pipe: Any) -> str:
    """sha256 over the denoiser's state dict (names, dtypes, values) and the normaliser's statistics."""
    digest = hashlib.sha256()
    for name, tensor in sorted(pipe.model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for name in ("mean", "std"):
        value = getattr(pipe.normalizer, name, None)
        if value is not None:
            digest.update(np.asarray(value.detach().cpu() if hasattr(value, "detach") else value).tobytes())
    return digest.hexdigest()


def result_arrays(result: Any) -> dict[str, np.ndarray]:
    """Every array of a GenerationResult, by name (camera keys only when present)."""
    m = result.motion
    out = {"poses": m.poses, "trans": m.trans, "betas": m.betas, "joints": m.joints, "contacts": m.contacts,
           "fps": np.asarray(m.fps, np.float64), "text_windows": result.text_windows,
           "focal": np.asarray(np.nan if result.focal is None else result.focal, np.float64)}
    if m.cam_R is not None:
        out["cam_R"], out["cam_t"] = m.cam_R, m.cam_t
    for key, mask in sorted(result.condition_masks.items()):
        out[f"mask_{key}"] = mask
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def arrays_hash(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = arrays[key]
        digest.update(f"{key}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def run_case(pipe: Any, name: str) -> dict[str, np.ndarray]:
    """The result arrays of one case, sampled with THREADS torch threads and a fresh text encoder.

    A fresh encoder (no memory or disk cache) encodes the case's prompts in one batch, as the
    reference run did: the process-wide encoder may hold a prompt encoded earlier in a batch with
    other, longer prompts, whose padding changes its last bits.
    """
    import torch

    from genmo.conditions.text import TextEncoder

    make_spec, kwargs = _cases()[name]
    spec = make_spec()
    pipe._text_encoder = TextEncoder(disk_cache=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        return result_arrays(pipe(spec, **kwargs))
    finally:
        torch.set_num_threads(threads)


def environment() -> dict[str, str]:
    """What a bit-identical comparison depends on besides the code."""
    import torch

    return {"torch": torch.__version__, "cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
            "cpu": cpu_model(), "numpy": np.__version__}


def cpu_model() -> str:
    """The processor as far as rounding can depend on it: vendor, family, model, stepping, microcode
    and a hash of the feature flags (two "AMD EPYC" machines with AVX512 rounded differently)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        import platform

        return platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    for line in cpuinfo.read_text().splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if not key and fields:
            break  # the first processor's block is enough
        fields.setdefault(key, value.strip())
    flags = hashlib.sha256(fields.get("flags", "").encode()).hexdigest()[:12]
    return " / ".join([*(fields.get(k, "?") for k in ("vendor_id", "cpu family", "model", "stepping", "microcode")),
                       f"flags {flags}"])


def case_names() -> list[str]:
    return list(_cases())


def model_names() -> list[str]:
    return list(_models())


def load_model(name: str) -> Any:
    return _models()[name]()


def summary(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The case's hash and, per array, its hash, shape and two sums (to say how far a mismatch is)."""
    return {"sha256": arrays_hash(arrays),
            "arrays": {k: {"sha256": hashlib.sha256(v.tobytes()).hexdigest(), "shape": list(v.shape),
                           "dtype": str(v.dtype), "sum": float(np.nansum(v.astype(np.float64))),
                           "abs_sum": float(np.nansum(np.abs(v.astype(np.float64))))}
                       for k, v in sorted(arrays.items())}}


def write_reference(path: Path = REFERENCE) -> None:
    """Run every model on every case and store the summaries and the weights hashes as JSON."""
    reference: dict[str, Any] = {"environment": environment(), "models": {}, "cases": {}}
    for model in model_names():
        pipe = load_model(model)
        reference["models"][model] = weights_hash(pipe)
        for case in case_names():
            reference["cases"][f"{model}/{case}"] = summary(run_case(pipe, case))
            print(f"{model}/{case}: {reference['cases'][f'{model}/{case}']['sha256'][:16]}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")


def read_reference(path: Path = REFERENCE) -> dict[str, Any]:
    return json.loads(path.read_text())


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.golden --write")
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        # as the test does: features and librosa's compiled code made afresh, not read from the user's cache
        # (a reference written from ~/.cache/genmo differed from a fresh computation in the last bits)
        os.environ["GENMO_CACHE"] = cache
        write_reference()
