"""Running a timeline from the studio: validate, sample, save, render, export; timings and plots.

The studio calls ``Generator.run(spec_dict, settings, progress, cancel)``; everything here deals in
paths, dicts and numpy arrays (the pipeline owns the tensors).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genmo.constants import MODEL_FPS, frame_at
from genmo.errors import one_line
from genmo.paths import default_checkpoint
from genmo.spec import TimelineSpec, load_spec

log = logging.getLogger("genmo.studio")
ProgressFn = Callable[[float, str], None]
SMOOTH_FOR_COMPARISON = 2.0  # frames: the smoothed side of "raw / smoothed" for a checkpoint without smoothing
MASK_COLORS = {"text": (99, 102, 241), "music": (219, 39, 119), "kp2d": (5, 150, 105), "bbox": (16, 185, 129),
               "cam_angvel": (217, 119, 6), "keyframe": (2, 132, 199)}


class GenerationCancelled(Exception):
    """The user pressed Cancel."""


@dataclass
class RunSettings:
    """One sampling setting of a comparison (steps, guidance, seed), whether conditions are dropped,
    and the output smoothing in frames (None: the checkpoint's default; 0: the raw sampler output)."""

    steps: int
    guidance: float
    seed: int
    drop_conditions: bool = False
    smooth: float | None = None

    @property
    def label(self) -> str:
        text = f"{self.steps} step{'s' if self.steps != 1 else ''} · guidance {self.guidance:g} · seed {self.seed}"
        if self.smooth is not None:
            text += " · raw sampler output" if self.smooth == 0 else f" · smoothing {self.smooth:g} frames"
        return text + (" · no conditions" if self.drop_conditions else "")


@dataclass
class RunOutput:
    """What one generation wrote, with its settings and timings (seconds)."""

    settings: RunSettings
    video: Path | None
    motion: Path
    glb: Path | None = None
    orbit: tuple[float, float, float] | None = None  # the 3D viewer's camera (alpha, beta degrees, radius m)
    overlay: Path | None = None
    bvh: Path | None = None
    masks_png: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def caption(self) -> str:
        parts = [f"{k.removesuffix('_s')} {v:.1f}s" for k, v in self.timings.items()]
        return f"{self.settings.label} — " + ", ".join(parts)


class Generator:
    """Owns the pipeline (loaded once, lazily) and writes each run into the folder it is given.

    Deciding when run folders go is the caller's job (the studio's ``app.outputs.OutputStore``).
    """

    def __init__(self, checkpoint: Path | None = None, pipeline: Any = None) -> None:
        self.checkpoint = Path(checkpoint) if checkpoint is not None else default_checkpoint()
        self._pipe = pipeline
        self._lock = threading.Lock()
        self.model_note = ""
        self.fallback = False  # True when the tiny untrained model stands in for a missing or broken checkpoint

    def pipeline(self) -> Any:
        """The checkpoint's pipeline, or the tiny untrained one when the checkpoint is missing or cannot be loaded."""
        with self._lock:
            if self._pipe is None:
                from genmo.pipeline import GenmoPipeline

                if not (self.checkpoint / "config.json").is_file():
                    self._use_tiny(f"no checkpoint at {self.checkpoint}")
                else:
                    try:
                        self._pipe = GenmoPipeline.from_pretrained(self.checkpoint)
                        self.model_note = f"model: {self.checkpoint.name}"
                    except Exception as err:  # corrupt weights or config: say so once, keep the studio usable
                        reason = one_line(err)
                        self._use_tiny(f"the checkpoint {self.checkpoint} could not be loaded ({reason[:200]})")
            return self._pipe

    def default_smoothing(self) -> float:
        """The checkpoint's output smoothing in frames, or SMOOTH_FOR_COMPARISON when it has none."""
        return float(self.pipeline().smooth_sigma) or SMOOTH_FOR_COMPARISON

    def _use_tiny(self, reason: str) -> None:
        from genmo.pipeline import GenmoPipeline

        self._pipe = GenmoPipeline.tiny_random()
        self.fallback = True
        self.model_note = f"{reason}: using the tiny untrained model (motion is noise)"
        log.warning("%s", self.model_note)

    def run(self, spec_dict: dict[str, Any], settings: RunSettings, folder: Path, progress: ProgressFn | None = None,
            cancel: threading.Event | None = None, render: bool = True, export_glb: bool = True) -> RunOutput:
        """Validate ``spec_dict``, sample it with ``settings`` and write npz, glb, mp4, overlay and mask
        plot into ``folder`` (an existing, empty folder)."""
        sampled = self.sample(spec_dict, settings, folder, progress, cancel, export_glb=export_glb)
        if render:
            self.render(sampled, progress, cancel)
        return self.finish(sampled, progress)

    def sample(self, spec_dict: dict[str, Any], settings: RunSettings, folder: Path,
               progress: ProgressFn | None = None, cancel: threading.Event | None = None,
               export_glb: bool = True) -> SampledRun:
        """First half of a run: validate, sample, write motion.npz and (for the 3D viewer) motion.glb into ``folder``."""
        spec = validated_spec(spec_dict, settings)
        pipe = self.pipeline()
        folder = Path(folder)
        report = progress or _no_progress

        def on_stage(stage: str, done: int, total: int) -> None:
            _check(cancel)
            base, span = {"conditions": (0.0, 0.1), "video": (0.0, 0.3), "sampling": (0.3, 0.5)}.get(stage, (0.0, 0.8))
            report(base + span * done / max(total, 1), f"{stage} {done}/{total}")

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        result = pipe(spec, steps=settings.steps, guidance=settings.guidance, seed=settings.seed,
                      smooth=settings.smooth, progress=on_stage)
        timings.update(result.timings)
        timings["generate_s"] = time.perf_counter() - t0
        motion_path = result.motion.save(folder / "motion.npz")
        out = RunOutput(settings, None, motion_path, timings=timings, notes=list(result.notes))
        if export_glb:
            _check(cancel)
            report(0.8, "exporting GLB")
            out.glb = _export_glb(result.motion, folder / "motion.glb")
            if out.glb is not None:
                from genmo.export.framing import viewer_orbit

                out.orbit = viewer_orbit(result.motion)
        return SampledRun(spec, result, folder, out)

    def render(self, sampled: SampledRun, progress: ProgressFn | None = None,
               cancel: threading.Event | None = None) -> RunOutput:
        """Second half: the mp4 (and the overlay on the input video); a failed render leaves a note, not an error."""
        out, result, report = sampled.output, sampled.result, progress or _no_progress
        _check(cancel)
        report(0.82, "rendering")
        t1 = time.perf_counter()
        try:
            from genmo.render.result import render_result

            def frame_done(index: int, total: int) -> None:
                _check(cancel)
                if index % 10 == 0:
                    report(0.82 + 0.08 * index / max(total, 1), f"rendering frame {index + 1}/{total}")

            out.video = render_result(result, sampled.folder / "render.mp4", on_frame=frame_done)
            out.timings["render_s"] = time.perf_counter() - t1
            videos = sampled.spec.tracks_of("video")
            if videos and result.motion.cam_R is not None and result.focal is not None:
                _check(cancel)
                report(0.9, "rendering the overlay")
                out.overlay = render_overlay(result.motion, videos[0], result.focal, sampled.folder / "overlay.mp4",
                                             result.observation, on_frame=lambda i, n: _check(cancel))
        except GenerationCancelled:
            raise
        except Exception as err:  # no OSMesa / GL context, ffmpeg missing: the 3D viewer still works
            log.warning("rendering failed: %s: %s", type(err).__name__, err)
            out.video = None
            reason = one_line(err)
            out.notes.append(f"no video: offscreen rendering is unavailable on this server "
                             f"({type(err).__name__}: {reason[:160]}); the 3D viewer and downloads still work")
        return out

    def finish(self, sampled: SampledRun, progress: ProgressFn | None = None) -> RunOutput:
        """Last step: the condition-mask plot and a BVH of the motion; returns the run's output."""
        out = sampled.output
        out.bvh = _export_bvh(sampled.result.motion, sampled.folder / "motion.bvh")
        out.masks_png = plot_condition_masks(sampled.result.condition_masks, sampled.result.text_windows,
                                             sampled.spec, sampled.folder / "masks.png")
        (progress or _no_progress)(1.0, "done")
        return out


@dataclass
class SampledRun:
    """A run between sampling and rendering: its spec, the pipeline's result, its folder and output so far."""

    spec: TimelineSpec
    result: Any
    folder: Path
    output: RunOutput


def _no_progress(fraction: float, text: str) -> None:
    """Progress sink when the caller passes none."""


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise GenerationCancelled("generation cancelled")


def validated_spec(spec_dict: dict[str, Any], settings: RunSettings) -> TimelineSpec:
    """The editor's spec with the panel's sampler settings, validated (media files must exist)."""
    data = copy.deepcopy(spec_dict)
    data["sampler"] = {"steps": int(settings.steps), "guidance": float(settings.guidance), "seed": int(settings.seed)}
    if settings.drop_conditions:
        data["tracks"] = [t for t in data.get("tracks", []) if isinstance(t, dict) and t.get("kind") == "keyframe"]
    return load_spec(data, check_files=True)


def _export_glb(motion: Any, path: Path) -> Path | None:
    try:
        from genmo.export.glb import motion_to_glb
    except ImportError:
        return None
    return motion_to_glb(motion, path)


def _export_bvh(motion: Any, path: Path) -> Path | None:
    """The motion as BVH for animation tools; None (logged) when it cannot be written."""
    try:
        from genmo.export.bvh import motion_to_bvh

        return motion_to_bvh(motion, path)
    except (ImportError, ValueError, OSError) as err:
        log.warning("no BVH: %s", err)
        return None


def render_overlay(motion: Any, track: Any, focal: float, path: Path, observation: Any = None,
                   on_frame: Callable[[int, int], None] | None = None) -> Path:
    """The estimated body drawn over the video clip's own frames (the clip's window of the motion).

    With the clip's ``observation`` (its detected 2D keypoints), the camera translation is fitted
    to them so that the body stands where the person was detected (see genmo.motion.camera_fit).
    """
    import cv2

    from genmo.motion.motion import Motion
    from genmo.render import render_motion
    from genmo.videofile import VideoReader

    fps = motion.fps
    start, end = int(round(track.start * fps)), min(int(round(track.end * fps)), motion.num_frames)
    reader = VideoReader(track.path)
    width, height = reader.info.width, reader.info.height
    scale = min(1.0, 640 / max(width, height, 1))
    out_w, out_h = (int(round(width * scale)) // 2) * 2, (int(round(height * scale)) // 2) * 2

    def frames():
        with reader:
            for frame in reader.at(track.offset + i / fps for i in range(end - start)):
                yield cv2.resize(frame, (out_w, out_h))[..., ::-1].copy()

    sl = slice(start, end)
    cam_t = overlay_camera(motion, observation, focal * scale, sl, (out_w / width, out_h / height), (out_w, out_h))
    clip = Motion(poses=motion.poses[sl], trans=motion.trans[sl], betas=motion.betas, fps=fps,
                  cam_R=motion.cam_R[sl], cam_t=cam_t)
    render_motion(clip, None, path, width=out_w, height=out_h, camera="motion", focal=focal * scale,
                  background=frames(), on_frame=on_frame)
    return path


def overlay_camera(motion: Any, observation: Any, focal: float, frames: slice, scale: tuple[float, float],
                   size: tuple[int, int]) -> np.ndarray:
    """The camera translations (N, 3) the overlay draws ``frames`` of the motion with: the model's, fitted
    to the clip's detected keypoints (``observation``, scaled by ``scale`` to the overlay's ``size``)."""
    from genmo.motion.camera_fit import fit_camera_translation

    cam_t = np.asarray(motion.cam_t[frames])
    n = len(cam_t)
    if observation is None or motion.joints is None or n == 0:
        return cam_t
    index = np.minimum(np.round(np.arange(n) * observation.fps / motion.fps).astype(int), observation.num_frames - 1)
    keypoints = observation.keypoints[index] * np.array([scale[0], scale[1], 1.0], np.float32)
    return fit_camera_translation(motion.joints[frames], motion.cam_R[frames], cam_t, keypoints, focal,
                                  (size[0] / 2.0, size[1] / 2.0))


def plot_condition_masks(masks: dict[str, np.ndarray], text_windows: np.ndarray, spec: TimelineSpec,
                         path: Path, width: int = 900) -> Path:
    """A small chart: one row per text window and per frame-aligned condition, filled where present."""
    from PIL import Image, ImageDraw

    rows: list[tuple[str, np.ndarray, tuple[int, int, int]]] = []
    texts = spec.tracks_of("text")
    windows = np.asarray(text_windows, bool)
    for k, window in enumerate(windows[None] if windows.ndim == 1 else windows):
        label = texts[k].text if k < len(texts) else f"text {k + 1}"
        rows.append((f"text: {label[:28]}", window, MASK_COLORS["text"]))
    for key, mask in masks.items():
        mask = np.asarray(mask).reshape(len(mask), -1).any(axis=1) if np.ndim(mask) > 1 else np.asarray(mask, bool)
        rows.append((key, mask, MASK_COLORS.get(key, (100, 116, 139))))
    frames = max((len(m) for _, m, _ in rows), default=max(1, spec.num_frames))
    keys = [frame_at(t.time) for t in spec.tracks_of("keyframe")]
    label_w, row_h, pad = 190, 18, 8
    height = pad * 2 + (len(rows) + 1) * row_h + 16
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    plot_w = width - label_w - pad
    for r, (label, mask, color) in enumerate(rows):
        y = pad + r * row_h
        draw.text((pad, y + 3), label, fill=(55, 65, 81))
        draw.rectangle([label_w, y + 3, label_w + plot_w, y + row_h - 3], fill=(241, 245, 249))
        on = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        for a, b in zip(on[::2], on[1::2]):
            draw.rectangle([label_w + a * plot_w / frames, y + 3, label_w + b * plot_w / frames, y + row_h - 3], fill=color)
    y = pad + len(rows) * row_h
    draw.text((pad, y + 3), "keyframes", fill=(55, 65, 81))
    for f in keys:
        x = label_w + f * plot_w / frames
        draw.polygon([(x, y + 3), (x + 5, y + 9), (x, y + 15), (x - 5, y + 9)], fill=MASK_COLORS["keyframe"])
    y += row_h
    for s in range(int(spec.duration) + 1):
        x = label_w + s * MODEL_FPS * plot_w / frames
        draw.line([(x, y), (x, y + 4)], fill=(148, 163, 184))
        draw.text((x + 2, y + 3), f"{s}s", fill=(100, 116, 139))
    img.save(path)
    return path
