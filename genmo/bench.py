"""The bench behind `python -m genmo bench`: measure the whole path on this machine.

Every figure is the median of several repeats after a warm-up, taken in one process:
machine matmul throughput, the denoiser's achieved throughput, text-to-motion generation,
long-sequence estimation and its scaling, sliding-window versus dense attention, rendering,
the video front end, and the studio's request-to-GLB and request-to-mp4 paths.
See docs/performance.md for what each key means and the figures measured here.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genmo.constants import MODEL_FPS
from genmo.spec import DEFAULT_GUIDANCE

if TYPE_CHECKING:
    from genmo.model.batch import ConditionBatch

PROMPT = "a person walks forward and waves"
@dataclass(frozen=True)
class BenchSize:
    """How big each measurement is: the full bench, or the --quick smoke run."""

    matmul: int = 2048
    gen_frames: int = 300
    est_frames: int = 1800
    long_frames: int = 3600
    render_frames: int = 60
    render_size: tuple[int, int] = (640, 480)
    video_seconds: float | None = 4.0
    repeats: int = 5
    heavy_repeats: int = 3
    ratio_repeats: int = 7


QUICK = BenchSize(matmul=256, gen_frames=30, est_frames=60, long_frames=120, render_frames=4,
                  render_size=(160, 120), video_seconds=None, repeats=2, heavy_repeats=1, ratio_repeats=2)


def required_keys(size: BenchSize) -> tuple[str, ...]:
    """The keys every report has; sizes in their names are the measured ones (so --quick reports its own)."""
    w, h = size.render_size
    return ("matmul_gflops", "denoiser_gflops", f"gen_{size.gen_frames}f_5steps_ms", f"est_{size.est_frames}f_1step_ms",
            f"scale_{size.long_frames}_over_{size.est_frames}", f"dense_over_window_{size.long_frames}",
            f"render_fps_{w}x{h}", "pose_ms_per_frame", "studio_generate_to_3d_ms", "studio_generate_to_video_ms",
            "peak_rss_mb")


REQUIRED_KEYS = required_keys(BenchSize())  # the full bench's keys (docs/performance.md)


# -- helpers ----------------------------------------------------------------------------------

def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_ratio(numerator: Callable[[], object], denominator: Callable[[], object], repeats: int,
                 warmup: int = 1) -> tuple[float, float, float]:
    """Median of time(numerator) / time(denominator) over back-to-back pairs, and each one's median time.

    Pairing keeps a ratio steady when other processes change the machine's load mid-measurement.
    """
    for _ in range(warmup):
        numerator()
        denominator()
    tops, bottoms, ratios = [], [], []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        numerator()
        middle = time.perf_counter()
        denominator()
        end = time.perf_counter()
        tops.append(middle - start)
        bottoms.append(end - middle)
        ratios.append(tops[-1] / bottoms[-1])
    return statistics.median(ratios), statistics.median(tops), statistics.median(bottoms)


def machine_info() -> dict[str, Any]:
    """CPU model, core count, torch build and threads, load average."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "python": platform.python_version(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def text_spec(seconds: float, steps: int = 5, guidance: float = DEFAULT_GUIDANCE) -> dict[str, Any]:
    """A one-prompt timeline of ``seconds`` (the studio's request body)."""
    return {"version": 1, "fps": MODEL_FPS, "duration": seconds,
            "sampler": {"steps": steps, "guidance": guidance, "seed": 0},
            "tracks": [{"kind": "text", "start": 0.0, "end": seconds, "text": PROMPT}]}


def synthetic_keypoints(path: Path, frames: int, fps: float = MODEL_FPS) -> Path:
    """A 2D-keypoint npz (COCO-17, 640x480) of a stick figure walking across the image."""
    base = np.array([[0, -75], [-4, -79], [4, -79], [-9, -77], [9, -77], [-18, -55], [18, -55], [-24, -30],
                     [24, -30], [-26, -6], [26, -6], [-11, 0], [11, 0], [-12, 35], [12, 35], [-12, 70],
                     [12, 70]], np.float32)
    t = np.arange(frames, dtype=np.float32) / fps
    swing = np.sin(2 * np.pi * t)[:, None]
    kp = np.repeat(base[None], frames, axis=0)
    kp[:, 13:, 0] += 10 * swing * np.array([1, -1, 1, -1], np.float32)
    kp[:, 7:11, 0] -= 8 * swing * np.array([1, -1, 1, -1], np.float32)
    kp[..., 0] += 320 + 120 * np.sin(2 * np.pi * t / 20)[:, None]
    kp[..., 1] += 260
    conf = np.full((frames, 17, 1), 0.9, np.float32)
    np.savez(path, keypoints=np.concatenate([kp, conf], axis=-1), image_size=np.array([640, 480]),
             fps=np.float32(fps))
    return path


def looped_video(source: Path, path: Path, frames: int, fps: float = MODEL_FPS,
                 size: tuple[int, int] | None = None) -> Path:
    """An mp4 (mpeg4) of ``frames`` frames at ``fps``: ``source``'s frames in a loop, resized to ``size``."""
    import cv2

    from genmo.videofile import VideoReader

    clip = list(VideoReader(source, fallback=True).frames())[:frames]
    w, h = size or (clip[0].shape[1], clip[0].shape[0])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    try:
        for i in range(frames):
            frame = clip[i % len(clip)]
            writer.write(cv2.resize(frame, (w, h)) if (w, h) != frame.shape[1::-1] else frame)
    finally:
        writer.release()
    return path


def load_pipeline(quick: bool, checkpoint: Path | None) -> tuple[Any, str]:
    """The shipped pipeline, else the CPU config with random weights (or the tiny model for --quick)."""
    from genmo.pipeline import GenmoPipeline

    if quick:
        return GenmoPipeline.tiny_random(), "tiny random (quick)"
    from genmo.paths import default_checkpoint

    folder = Path(checkpoint) if checkpoint is not None else default_checkpoint()
    if (folder / "config.json").is_file():
        return GenmoPipeline.from_pretrained(folder, device="cpu"), str(folder)
    import torch

    from genmo.model.config import GenmoConfig
    from genmo.model.denoiser import GenmoDenoiser
    from genmo.motion import Normalizer
    from genmo.paths import repo_root

    config = GenmoConfig.load(repo_root() / "configs" / "cpu-wide.json")
    torch.manual_seed(0)
    model = GenmoDenoiser(config.model)
    with torch.no_grad():  # non-zero gates so every branch costs what a trained model's does
        for name, p in model.named_parameters():
            if name.endswith("gate"):
                p.normal_(0.0, 0.1)
    return GenmoPipeline(model, config, Normalizer.identity(), device="cpu"), "random weights (configs/cpu-wide.json)"


# -- measurements -------------------------------------------------------------------------------

def bench_matmul(size: int, repeats: int) -> float:
    """Dense fp32 matmul throughput (GFLOP/s) at size x size."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    seconds = median_seconds(lambda: a @ b, repeats, warmup=2)
    return 2 * size**3 / seconds / 1e9


def denoiser_batch(pipe: Any, frames: int, guided: bool) -> tuple[ConditionBatch, Any, Any]:
    """The model batch of a one-prompt timeline (2B when guided, as the CFG sampler runs it)."""
    import torch

    from genmo.diffusion.ddim import null_guided
    from genmo.model.batch import cat_batches
    from genmo.spec import load_spec

    batch = pipe.encode_conditions(load_spec(text_spec(frames / MODEL_FPS))).batch
    if guided:
        batch = cat_batches(batch, null_guided(batch))
    b = batch["valid"].shape[0]
    x = torch.randn(b, frames, pipe.model.cfg.motion_dim)
    t = torch.full((b,), 500, dtype=torch.long)
    return batch, x, t


def _attention_flops(query: tuple, key: tuple, value: tuple, *args: Any, **kwargs: Any) -> int:
    """FLOPs of the fused CPU attention kernel (FlopCounterMode has no formula for it): QK^T and AV."""
    *batch, q_len, dim = query
    n = int(np.prod(batch))
    return 2 * n * q_len * key[-2] * dim + 2 * n * q_len * key[-2] * value[-1]


def bench_denoiser(pipe: Any, frames: int, repeats: int, matmul_size: int = 2048) -> dict[str, Any]:
    """FLOPs of one guided denoiser pass (FlopCounterMode, attention kernel included) and achieved
    GFLOP/s with the current threads; also the pass time with 1 thread and with one per core."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    batch, x, t = denoiser_batch(pipe, frames, guided=True)
    attention_op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default
    with torch.inference_mode():
        counter = FlopCounterMode(display=False, custom_mapping={attention_op: _attention_flops})
        with counter:
            pipe.model(x, t, batch)
        flops = counter.get_total_flops()
        seconds = median_seconds(lambda: pipe.model(x, t, batch), repeats)
        chosen = torch.get_num_threads()
        by_threads = {}
        for n in sorted({1, os.cpu_count() or 1}):
            torch.set_num_threads(n)
            by_threads[str(n)] = round(median_seconds(lambda: pipe.model(x, t, batch), repeats) * 1e3, 1)
        torch.set_num_threads(chosen)
        a, b = torch.randn(matmul_size, matmul_size), torch.randn(matmul_size, matmul_size)
        ratio, _, _ = paired_ratio(lambda: pipe.model(x, t, batch), lambda: a @ b, repeats)
    efficiency = flops / (2 * matmul_size**3) / ratio  # denoiser GFLOP/s over matmul GFLOP/s, back to back
    return {"denoiser_gflop_per_pass": round(flops / 1e9, 3), "denoiser_pass_ms": round(seconds * 1e3, 1),
            "denoiser_pass_ms_by_threads": by_threads, "denoiser_gflops": flops / seconds / 1e9,
            "denoiser_over_matmul": efficiency}


def bench_generation(pipe: Any, frames: int, repeats: int) -> tuple[float, dict[str, float]]:
    """Spec -> Motion (joints decoded) for a text timeline, 5 steps, the default guidance; text encoding cached."""
    from genmo.spec import load_spec

    spec = load_spec(text_spec(frames / MODEL_FPS))
    results = []
    seconds = median_seconds(lambda: results.append(pipe(spec, steps=5, guidance=DEFAULT_GUIDANCE, seed=0)), repeats)
    parts = {f"gen_{k.removesuffix('_s')}_ms": round(v * 1e3, 1) for k, v in results[-1].timings.items()}
    return seconds * 1e3, parts


def bench_estimation(pipe: Any, frames: int, repeats: int, folder: Path) -> float:
    """A 2D-keypoint timeline of ``frames`` frames (file -> Motion), 1 DDIM step."""
    from genmo.spec import spec_for_observation

    path = synthetic_keypoints(folder / f"kp{frames}.npz", frames)
    spec = spec_for_observation("keypoints2d", path)
    return median_seconds(lambda: pipe(spec, steps=1, guidance=1.0, seed=0), repeats) * 1e3


def estimation_batch(pipe: Any, frames: int, folder: Path) -> ConditionBatch:
    """The model batch of a 2D-keypoint observation of ``frames`` frames (no spec length limit)."""
    from genmo.conditions.builder import ConditionBuilder
    from genmo.conditions.keypoints2d import add_observation, load_keypoints2d

    obs = load_keypoints2d(synthetic_keypoints(folder / f"kp{frames}.npz", frames), fps=MODEL_FPS)
    builder = ConditionBuilder(frames)
    add_observation(builder, obs, 0)
    return builder.build().batch


def bench_attention(pipe: Any, frames: int, repeats: int) -> dict[str, float]:
    """One self-attention layer at ``frames`` frames (the model's heads and head size, batch 1):
    the dense L x L window-masked kernel and full attention versus the chunked sliding window."""
    import torch

    from genmo.model.attention import chunked_window_attention, dense_attention

    cfg = pipe.model.cfg
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, cfg.n_heads, frames, cfg.d_model // cfg.n_heads, generator=gen) for _ in range(3))
    with torch.inference_mode():
        def window() -> object:
            return chunked_window_attention(q, k, v, None, cfg.window, cfg.attn_block)

        dense_ratio, dense, window_s = paired_ratio(lambda: dense_attention(q, k, v, None, cfg.window), window, repeats)
        full_ratio, full, _ = paired_ratio(lambda: dense_attention(q, k, v, None, None), window, repeats)
    return {"attention_window_ms": round(window_s * 1e3, 2), "attention_dense_ms": round(dense * 1e3, 2),
            "attention_full_ms": round(full * 1e3, 2), "dense_over_window": dense_ratio,
            "full_over_window": full_ratio}


def bench_scaling(pipe: Any, short: int, long: int, repeats: int, folder: Path) -> dict[str, float]:
    """1-step estimation passes at ``short`` and ``long`` frames; whole passes with chunked vs dense
    attention at ``long``."""
    import torch

    sampler = pipe.sampler
    with torch.inference_mode():
        batches = {frames: estimation_batch(pipe, frames, folder) for frames in (short, long)}
        scale, long_s, short_s = paired_ratio(lambda: sampler.estimate(batches[long], attention="chunked"),
                                              lambda: sampler.estimate(batches[short], attention="chunked"), repeats)
        dense, dense_s, _ = paired_ratio(lambda: sampler.estimate(batches[long], attention="dense_over_window"),
                                         lambda: sampler.estimate(batches[long], attention="chunked"), repeats)
        full, _, _ = paired_ratio(lambda: sampler.estimate(batches[long], attention="full"),
                                  lambda: sampler.estimate(batches[long], attention="chunked"), max(1, repeats // 2))
    return {
        f"est_pass_{short}f_ms": round(short_s * 1e3, 1),
        f"est_pass_{long}f_ms": round(long_s * 1e3, 1),
        f"dense_pass_{long}f_ms": round(dense_s * 1e3, 1),
        "scale_long_over_short": scale,
        "pass_dense_over_window": dense,
        "pass_full_over_window": full,
    }


def bench_render(frames: int, size: tuple[int, int], repeats: int) -> float:
    """Frames per second of skinning + pyrender (follow camera, ground, shadow) for one body."""
    from genmo.body import load_body
    from genmo.motion.synthetic import walking_motion_file
    from genmo.render import BodyRenderer, FollowView, follow_camera_poses
    from genmo.render.motion_video import motion_vertices

    body = load_body()
    motion = walking_motion_file(frames)
    view = FollowView()
    cams = follow_camera_poses(motion["trans"], MODEL_FPS, view)
    with BodyRenderer(body.faces, int(body.weights.shape[0]), *size, shadows=True) as renderer:
        def once() -> None:
            for verts, cam in zip(motion_vertices(motion, body), cams, strict=True):
                renderer.render(verts, cam, view.yfov_deg)

        seconds = median_seconds(once, repeats)
    return frames / seconds


def bench_pose(seconds: float | None) -> tuple[float | None, dict[str, Any]]:
    """Per-frame cost (ms) of the video front end's detector + 2D pose on vtest.avi."""
    from genmo.paths import data_root

    root = data_root()
    video = root / "media" / "vtest.avi" if root is not None else None
    if seconds is None:
        return None, {"pose_note": "skipped in --quick"}
    if video is None or not video.is_file():
        return None, {"pose_note": "shared data (media/vtest.avi) not found"}
    from genmo.conditions.video import extract_video

    extract_video(video, duration=0.5)  # warm-up: loads the pose model
    timings: dict[str, float] = {}
    extract_video(video, duration=seconds, timings=timings)
    extra = {f"video_{k}_ms_per_frame": round(v, 2) for k, v in timings.items()}
    return timings["detect"] + timings["pose"], extra


def bench_video_end_to_end(pipe: Any, folder: Path, seconds: float = 60.0, options: Any = None) -> dict[str, Any]:
    """A ``seconds`` long 30 fps, 640x480 clip of one person (examples/media/mannequin.mp4 in a loop)
    estimated end to end as `genmo estimate --fast --video` does (decode, front end, model, default steps);
    ``options``: the front-end levers (default FAST)."""
    from genmo.conditions.frontend import FAST
    from genmo.conditions.video import extract_video
    from genmo.paths import repo_root
    from genmo.spec import spec_for_observation

    options = options or FAST
    clip = looped_video(repo_root() / "examples" / "media" / "mannequin.mp4", folder / "loop.mp4",
                        int(seconds * MODEL_FPS), MODEL_FPS, (640, 480))
    extract_video(clip, duration=0.5)  # warm-up: loads BlazePose
    spec = spec_for_observation("video", clip)
    pipe.video_options = options
    try:
        start = time.perf_counter()
        result = pipe(spec)
        total = time.perf_counter() - start
    finally:
        pipe.video_options = None
    timings: dict[str, float] = {}
    extract_video(clip, duration=10.0, timings=timings, options=options)
    return {f"video_{int(seconds)}s_end_to_end_s": total,
            f"video_{int(seconds)}s_parts_s": {k: round(v, 2) for k, v in result.timings.items()},
            "video_fast_ms_per_frame": {k: round(v, 2) for k, v in timings.items()}}


def bench_live(pipe: Any, seconds: float = 10.0, stream_fps: float = 30.0) -> dict[str, Any]:
    """A LiveSession fed 640x480 frames of a moving person at ``stream_fps``: the sustained rate of
    rendered results, their mean and 90th percentile latency (frame in -> body rendered), drops."""
    import cv2

    from genmo.live import LiveSession
    from genmo.paths import repo_root
    from genmo.videofile import VideoReader

    frames = [cv2.resize(f, (640, 480)) for f in
              VideoReader(repo_root() / "examples" / "media" / "mannequin.mp4", fallback=True).frames()]
    session = LiveSession(pipe)
    try:
        for frame in frames[:15]:  # warm-up: BlazePose and the renderer start
            session.push(frame)
            time.sleep(1 / stream_fps)
        time.sleep(1.0)
        done0, dropped0 = session.completed, session.dropped
        session.latencies.clear()
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < seconds:
            session.push(frames[i % len(frames)])
            i += 1
            time.sleep(max(0.0, start + i / stream_fps - time.perf_counter()))
        elapsed = time.perf_counter() - start
        lat = np.array(session.latencies)
        return {"live_fps": (session.completed - done0) / elapsed, "live_latency_ms": float(lat.mean()),
                "live_latency_p90_ms": float(np.percentile(lat, 90)), "live_frames_sent": i,
                "live_frames_dropped": session.dropped - dropped0}
    finally:
        session.close()


def bench_studio(pipe: Any, frames: int, repeats: int, folder: Path, size: tuple[int, int]) -> dict[str, float]:
    """Request (spec dict) -> motion.npz + animated GLB, and request -> finished mp4 (what the studio runs)."""
    from genmo.export.glb import motion_to_glb
    from genmo.render.result import render_result
    from genmo.spec import load_spec

    request = text_spec(frames / MODEL_FPS)

    def to_3d() -> None:
        result = pipe(load_spec(request), steps=5, guidance=DEFAULT_GUIDANCE, seed=0)
        result.motion.save(folder / "motion.npz")
        motion_to_glb(result.motion, folder / "motion.glb")

    def to_video() -> None:
        result = pipe(load_spec(request), steps=5, guidance=DEFAULT_GUIDANCE, seed=0)
        render_result(result, folder / "render.mp4", width=size[0], height=size[1])

    result = pipe(load_spec(request), steps=5, guidance=DEFAULT_GUIDANCE, seed=0)
    return {"studio_generate_to_3d_ms": median_seconds(to_3d, repeats) * 1e3,
            "studio_generate_to_video_ms": median_seconds(to_video, repeats) * 1e3,
            "studio_render_parts_ms": bench_render_parts(result.motion, size, repeats, folder)}


def bench_render_parts(motion: Any, size: tuple[int, int], repeats: int, folder: Path) -> dict[str, float]:
    """Where ``render_motion``'s time goes for one motion (follow camera, ground, shadow), median ms per part.

    setup: camera path, renderer creation and release; skin: posed vertices (``motion_vertices``);
    raster: ``BodyRenderer.render`` (GL body, ground, shadow, composite); encode: what writing the mp4
    adds beyond making the frames (ffmpeg encodes in its own process while frames are made).
    """
    import torch

    from genmo.body import load_body
    from genmo.render import BodyRenderer, FollowView, follow_camera_poses, write_mp4
    from genmo.render.motion_video import motion_vertices

    body = load_body()
    view = FollowView()
    parts: dict[str, list[float]] = {"setup": [], "skin": [], "raster": [], "encode": []}

    def once(record: bool) -> None:
        spent = {"skin": 0.0, "raster": 0.0}
        start = time.perf_counter()
        with torch.no_grad():
            joints = body(torch.as_tensor(motion.poses, dtype=torch.float32), torch.as_tensor(motion.betas),
                          torch.as_tensor(motion.trans, dtype=torch.float32), with_vertices=False).joints.numpy()
        cams = follow_camera_poses(joints[:, 0], motion.fps, view)
        renderer = BodyRenderer(body.faces, int(body.weights.shape[0]), *size, shadows=True)
        setup = time.perf_counter() - start

        def frames() -> Iterator[np.ndarray]:
            vertices = motion_vertices(motion, body)
            for cam in cams:
                a = time.perf_counter()
                verts = next(vertices)
                b = time.perf_counter()
                frame = renderer.render(verts, cam, view.yfov_deg)
                spent["skin"] += b - a
                spent["raster"] += time.perf_counter() - b
                yield frame

        try:
            a = time.perf_counter()
            write_mp4(frames(), motion.fps, folder / "parts.mp4")
            written = time.perf_counter() - a
        finally:
            a = time.perf_counter()
            renderer.close()
            setup += time.perf_counter() - a
        if record:
            for key, seconds in (("setup", setup), ("skin", spent["skin"]), ("raster", spent["raster"]),
                                 ("encode", written - spent["skin"] - spent["raster"])):
                parts[key].append(seconds * 1e3)

    once(record=False)
    for _ in range(max(1, repeats)):
        once(record=True)
    return {key: round(statistics.median(values), 1) for key, values in parts.items()}


def run_bench(quick: bool = False, threads: int | None = None, checkpoint: Path | None = None,
              log: Callable[[str], None] = lambda msg: None) -> dict[str, Any]:
    """Measure everything; returns the report dict (required_keys(size) plus machine and breakdown keys)."""
    import torch

    from genmo.device import configure_threads

    size = QUICK if quick else BenchSize()
    long = size.long_frames
    chosen = configure_threads(threads)
    report: dict[str, Any] = {"machine": machine_info(), "load_average_start": load_average(), "quick": quick}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="genmo-bench-") as tmp:
        folder = Path(tmp)
        log("matmul")
        report["matmul_gflops"] = bench_matmul(size.matmul, size.repeats)
        by_threads = {}
        for n in sorted({1, os.cpu_count() or 1}):
            torch.set_num_threads(n)
            by_threads[str(n)] = round(bench_matmul(size.matmul, size.repeats), 1)
        torch.set_num_threads(chosen)
        report["matmul_gflops_by_threads"] = by_threads
        pipe, report["model"] = load_pipeline(quick, checkpoint)
        torch.set_num_threads(chosen)  # the pipeline picks threads itself; measure with this choice
        log("denoiser")
        dn = bench_denoiser(pipe, size.gen_frames, size.ratio_repeats, size.matmul)
        report["denoiser_gflops"] = dn.pop("denoiser_gflops")
        report.update(dn)
        log("generation")
        report[f"gen_{size.gen_frames}f_5steps_ms"], parts = bench_generation(pipe, size.gen_frames, size.repeats)
        report.update(parts)
        log("estimation")
        report[f"est_{size.est_frames}f_1step_ms"] = bench_estimation(pipe, size.est_frames, size.repeats, folder)
        log("scaling")
        scale = bench_scaling(pipe, size.est_frames, size.long_frames, size.ratio_repeats, folder)
        report[f"scale_{long}_over_{size.est_frames}"] = scale.pop("scale_long_over_short")
        attention = bench_attention(pipe, size.long_frames, size.ratio_repeats)
        report[f"dense_over_window_{long}"] = attention.pop("dense_over_window")
        report[f"full_over_window_{long}"] = attention.pop("full_over_window")
        report.update({f"{k}_{long}": v for k, v in attention.items()})
        report[f"pass_dense_over_window_{long}"] = scale.pop("pass_dense_over_window")
        report[f"pass_full_over_window_{long}"] = scale.pop("pass_full_over_window")
        report.update(scale)
        log("render")
        report["render_fps_{}x{}".format(*size.render_size)] = bench_render(size.render_frames, size.render_size, size.heavy_repeats)
        log("video front end")
        report["pose_ms_per_frame"], extra = bench_pose(size.video_seconds)
        report.update(extra)
        if not quick:
            log("video end to end")
            report.update(bench_video_end_to_end(pipe, folder))
            log("live")
            report.update(bench_live(pipe))
        log("studio")
        report.update(bench_studio(pipe, size.gen_frames, size.heavy_repeats, folder, size.render_size))
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["bench_wall_s"] = round(time.perf_counter() - started, 1)
    report["load_average_end"] = load_average()
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in report.items()}
