"""GenmoPipeline: timeline spec -> condition set + masks -> DDIM sampling -> SMPL motion.

Diffusers-style: the pipeline owns a denoiser, a sampler and the normaliser, and turns a user's
timeline into a `Motion`:

    pipe = GenmoPipeline.from_pretrained("checkpoints/genmo-small")
    result = pipe(spec, steps=5, guidance=2.5, seed=0, progress=callback)
    result.motion.save("motion.npz")
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genmo.body import load_body
from genmo.body.kinematics import forward_kinematics
from genmo.body.model import BodyModel
from genmo.body.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from genmo.body.skeleton import FOOT_JOINTS
from genmo.cleanup.smoothing import smooth_time
from genmo.conditioning import ConditionBuilder, Constraints
from genmo.diffusion import DDIMSampler, NoiseSchedule
from genmo.diffusion.ddim import ProgressCallback
from genmo.errors import UserInputError
from genmo.model.checkpoint import load_denoiser
from genmo.model.config import MAX_SMOOTH_SIGMA, GenmoConfig, ModelConfig
from genmo.model.denoiser import GenmoDenoiser
from genmo.motion import LAYOUT, MOTION_DIM, Motion, Normalizer, decode
from genmo.motion.representation import encode, field_mask
from genmo.paths import CHECKPOINTS_HINT, default_checkpoint
from genmo.spec import MODEL_FPS, TimelineSpec

Progress = Callable[[str, int, int], None]
KEYFRAME_FIELDS = ("root_tilt", "root_height", "body_pose")
ESTIMATE_MAX_DURATION_S = 300.0  # the command line estimates whole videos up to this long (the studio: 60 s)


@dataclass
class GenerationResult:
    """A generated motion with what produced it: per-frame condition masks, timings and notes."""

    motion: Motion
    spec: TimelineSpec
    condition_masks: dict[str, np.ndarray]
    text_windows: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    focal: float | None = None
    observation: Any = None  # the first video / 2D-keypoint clip's VideoObservation at MODEL_FPS, from its start


def default_threads() -> int:
    """Intra-op threads for sampling: one per core, but 1 when other processes already keep every core
    busy (1-minute load average >= cores), where extra threads mostly wait for a time slice (a denoiser
    pass measured 3-10x slower with 2 threads than with 1 on the loaded 2-core CPU, docs/performance.md)."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= cores
    except OSError:
        busy = False
    return 1 if busy else cores


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default: $OMP_NUM_THREADS if set, else `default_threads()`); returns it."""
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else default_threads()
    torch.set_num_threads(int(threads))
    return int(threads)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, else CUDA when available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class GenmoPipeline:
    """Runs the GENMO denoiser on a timeline spec."""

    def __init__(
        self,
        model: GenmoDenoiser,
        config: GenmoConfig,
        normalizer: Normalizer,
        body: BodyModel | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        if config.model.motion_dim != MOTION_DIM:
            raise UserInputError(
                f"checkpoint motion_dim {config.model.motion_dim} does not match this code's {MOTION_DIM}"
            )
        self.device = pick_device(device)
        if self.device.type == "cpu":
            configure_threads()
        self.model = model.to(self.device).eval()
        self.config = config
        self.normalizer = normalizer
        self.body = body or load_body()
        schedule = NoiseSchedule(config.diffusion.num_timesteps)
        self.sampler = DDIMSampler(self.model, schedule, config.diffusion.estimation_input)
        self.smooth_sigma = config.diffusion.smooth_sigma  # frames at the model rate; 0 = raw sampler output
        self._text_encoder = None

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | torch.device | None = None) -> "GenmoPipeline":
        """Load a checkpoint folder (default: checkpoints/genmo-small)."""
        folder = Path(path) if path is not None else default_checkpoint()
        if not (folder / "config.json").is_file():
            raise UserInputError(
                f"no checkpoint found at {folder}: train one with `python -m genmo train`, pass --checkpoint"
                f" or {CHECKPOINTS_HINT}"
            )
        model, config, normalizer = load_denoiser(folder, device=pick_device(device))
        return cls(model, config, normalizer, device=device)

    @classmethod
    def tiny_random(cls, seed: int = 0) -> "GenmoPipeline":
        """An untrained tiny model, for developing the studio and for tests."""
        torch.manual_seed(seed)
        cfg = GenmoConfig(model=ModelConfig(motion_dim=MOTION_DIM, d_model=64, n_layers=2, n_heads=2, window=120))
        return cls(GenmoDenoiser(cfg.model), cfg, Normalizer.identity(), device="cpu")

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from genmo.conditions.text import default_encoder

            self._text_encoder = default_encoder()
        return self._text_encoder

    # -- conditions ---------------------------------------------------------------------------

    def build_conditions(self, spec: TimelineSpec, progress: Progress | None = None) -> tuple[dict, Constraints, dict]:
        """The sampling batch, keyframe constraints and extras (focal, notes) of a timeline at MODEL_FPS."""
        num_frames = max(1, int(round(spec.duration * MODEL_FPS)))
        builder = ConditionBuilder(num_frames)
        extras: dict = {"notes": [], "focal": None, "observation": None}

        def frame(seconds: float) -> int:
            return int(round(seconds * MODEL_FPS))

        texts = spec.tracks_of("text")
        if texts:
            encoded = self.text_encoder.encode([t.text for t in texts])
            for track, tokens, mask in zip(texts, encoded[0], encoded[1], strict=True):
                builder.add_text(tokens, mask, frame(track.start), max(frame(track.end), frame(track.start) + 1))
        for track in spec.tracks_of("music"):
            from genmo.conditions.music import music_features

            feats = music_features(track.path, fps=MODEL_FPS, offset=track.offset, duration=track.end - track.start)
            builder.add_frames("music", feats.features, frame(track.start), feats.frame_mask)
        for track in [*spec.tracks_of("video"), *spec.tracks_of("keypoints2d")]:
            obs = self._observe(track, progress)
            self._add_observation(builder, obs, frame(track.start))
            extras["focal"] = float(obs.focal)
            if extras["observation"] is None:
                extras["observation"] = obs
        for track in spec.tracks_of("keyframe"):
            from genmo.conditions.keyframes import load_keyframe

            key = load_keyframe(track.path, track.time, track.frame)
            values, dims = self.keyframe_constraint(key.pose, key.trans)
            builder.add_keyframe(values, dims, min(frame(track.time), num_frames - 1))
        if spec.is_unconditional:
            extras["notes"].append("the timeline is empty: the motion was generated unconditionally")
        batch, constraints = builder.build()
        return batch, constraints, extras

    def _observe(self, track, progress: Progress | None):
        from genmo.conditions.keypoints2d import load_keypoints2d, resample_observation

        duration = track.end - track.start
        if track.kind == "video":
            from genmo.conditions.video import extract_video

            def report(done: int, total: int) -> None:
                if progress is not None:
                    progress("video", done, total)

            return extract_video(track.path, fps=MODEL_FPS, offset=track.offset, duration=duration, progress=report)
        obs = resample_observation(load_keypoints2d(track.path), MODEL_FPS)
        start = int(round(track.offset * MODEL_FPS))
        end = start + int(round(duration * MODEL_FPS))
        return _slice_observation(obs, start, end)

    @staticmethod
    def _add_observation(builder: ConditionBuilder, obs, start: int) -> None:
        from genmo.conditions.keypoints2d import condition_arrays

        arrays = condition_arrays(obs)
        present = arrays["mask"]
        builder.add_frames("kp2d", arrays["kp2d"], start, present)
        builder.add_frames("bbox", arrays["bbox_feature"], start, present)
        builder.add_frames("cam_angvel", arrays["cam_angvel"], start, np.ones(len(present), bool))

    def keyframe_constraint(self, pose: np.ndarray, trans: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Representation values (D,) and the dims they fix (D,) for one pose (72,) and optional translation."""
        local = axis_angle_to_matrix(torch.as_tensor(pose, dtype=torch.float32).reshape(1, 24, 3))
        rest = self.body.rest_joints()
        root = rest[0] + (torch.as_tensor(trans, dtype=torch.float32) if trans is not None else torch.zeros(3))
        _, joints = forward_kinematics(local, rest, root[None])
        if trans is None:  # library pose: stand it on the ground
            lift = -joints[0, list(FOOT_JOINTS), 1].min()
            root = root + torch.tensor([0.0, float(lift), 0.0])
            joints = joints + torch.tensor([0.0, float(lift), 0.0])
        x = encode(local, root[None], torch.zeros(10), joints)
        return x[0].numpy(), field_mask(KEYFRAME_FIELDS).numpy()

    # -- sampling -----------------------------------------------------------------------------

    def __call__(
        self,
        spec: TimelineSpec,
        steps: int | None = None,
        guidance: float | None = None,
        seed: int | None = None,
        progress: Progress | None = None,
        eta: float = 0.0,
        smooth: float | None = None,
    ) -> GenerationResult:
        """Generate (or estimate) the motion of a timeline; ``smooth`` overrides ``smooth_sigma`` (frames)."""
        steps = int(steps if steps is not None else spec.sampler.steps)
        guidance = float(guidance if guidance is not None else spec.sampler.guidance)
        seed = int(seed if seed is not None else spec.sampler.seed)
        smooth = float(smooth if smooth is not None else self.smooth_sigma)
        if not 1 <= steps <= 50:
            raise UserInputError(f"steps must be between 1 and 50, got {steps}")
        if not 0.0 <= smooth <= MAX_SMOOTH_SIGMA:
            raise UserInputError(f"smoothing must be between 0 and {MAX_SMOOTH_SIGMA:g} frames, got {smooth}")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if progress is not None:
            progress("conditions", 0, 1)
        batch, constraints, extras = self.build_conditions(spec, progress)
        timings["conditions_s"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        x0 = self._sample(batch, constraints, steps, guidance, seed, smooth, progress)
        timings["sampling_s"] = time.perf_counter() - t1

        t2 = time.perf_counter()
        has_camera = bool(batch["cond_mask"]["kp2d"].any())
        motion = self._to_motion(x0, has_camera, spec.fps)
        timings["decode_s"] = time.perf_counter() - t2
        masks = {k: v[0].cpu().numpy() for k, v in batch["cond_mask"].items() if k != "video"}
        present = batch["text_present"][0]
        windows = batch["text_windows"][0][present].cpu().numpy()
        return GenerationResult(motion=motion, spec=spec, condition_masks=masks, text_windows=windows,
                                timings=timings, notes=extras["notes"], focal=extras["focal"],
                                observation=extras["observation"])

    def _sample(self, batch: dict, constraints: Constraints, steps: int, guidance: float, seed: int,
                smooth: float, progress: Progress | None) -> torch.Tensor:
        def report(i: int, total: int, t: int) -> None:
            if progress is not None:
                progress("sampling", i + 1, total)

        values, mask = (constraints.values, constraints.mask) if constraints.any else (None, None)
        return self.sample_batch(batch, steps, guidance, seed, keyframes=values, keyframe_mask=mask,
                                 smooth=smooth, callback=report)

    def sample_batch(self, batch: dict, steps: int, guidance: float = 1.0, seed: int = 0,
                     keyframes: torch.Tensor | None = None, keyframe_mask: torch.Tensor | None = None,
                     smooth: float | None = None, callback: ProgressCallback | None = None) -> torch.Tensor:
        """Sample a condition batch and return unnormalised motion vectors (B, T, D) on the CPU.

        keyframes: unnormalised known values (B, T, D) with keyframe_mask (B, T, D) bool; the
        output is smoothed over time by ``smooth`` frames (default ``self.smooth_sigma``), keyframes kept exact.
        """
        from genmo.model.batch import batch_to

        batch = batch_to(batch, self.device)
        known = None
        if keyframes is not None:
            known = self.normalizer.normalize(keyframes).to(self.device)
            keyframe_mask = keyframe_mask.to(self.device)
        x0 = self.sampler.sample(batch, steps, guidance=guidance, seed=seed, keyframes=known,
                                 keyframe_mask=keyframe_mask, callback=callback)
        x0 = smooth_time(x0, self.smooth_sigma if smooth is None else smooth, batch["valid"])
        if known is not None:
            x0 = torch.where(keyframe_mask, known, x0)
        return self.normalizer.denormalize(x0.float().cpu())

    def _to_motion(self, x: torch.Tensor, has_camera: bool, fps: int) -> Motion:
        betas = x[0, :, LAYOUT["betas"]].mean(0)
        rest = self.body.rest_joints(betas)
        out = decode(x[0], rest)
        poses = matrix_to_axis_angle(out["local_rots"]).reshape(-1, 72).numpy()
        root = out["root_pos"].numpy()
        local_rots = out["local_rots"].numpy()
        if fps != MODEL_FPS:
            from genmo.data.retarget import slerp_resample

            local_rots, root = slerp_resample(local_rots, root, MODEL_FPS, fps)
            poses = matrix_to_axis_angle(torch.as_tensor(local_rots)).reshape(-1, 72).numpy()
        trans = root - rest[0].numpy()
        if fps == MODEL_FPS:  # decode already ran the body's forward kinematics on these rotations
            joints = out["joints_world"]
        else:
            with torch.no_grad():
                joints = self.body(torch.as_tensor(poses), betas, torch.as_tensor(trans), with_vertices=False).joints
        contacts = _resample_linear(out["contacts"].numpy(), MODEL_FPS, fps)
        cam = {}
        if has_camera:
            cam_r = matrix_to_axis_angle(out["cam_R"])
            cam = {
                "cam_R": axis_angle_to_matrix(torch.as_tensor(_resample_linear(cam_r.numpy(), MODEL_FPS, fps))).numpy(),
                "cam_t": _resample_linear(out["cam_t"].numpy(), MODEL_FPS, fps),
            }
        return Motion(poses=poses, trans=trans, betas=betas.numpy(), fps=fps, joints=joints.numpy(),
                      contacts=contacts, **cam)


def _resample_linear(values: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    if src_fps == dst_fps or len(values) < 2:
        return values
    n = int(np.floor((len(values) - 1) * dst_fps / src_fps + 1e-6)) + 1
    t = np.arange(n) * src_fps / dst_fps
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(t, np.arange(len(values)), flat[:, i]) for i in range(flat.shape[1])], axis=1)
    return out.reshape(n, *values.shape[1:]).astype(np.float32)


def _slice_observation(obs, start: int, end: int):
    """The frames [start, end) of an observation (shorter when the file ends first)."""
    if start >= obs.num_frames:
        raise UserInputError(f"2D keypoint clip offset is past the end of the file ({obs.num_frames / obs.fps:.2f} s)")
    sl = slice(start, min(end, obs.num_frames))
    return replace(obs, keypoints=obs.keypoints[sl], bbox=obs.bbox[sl], cam_angvel=obs.cam_angvel[sl],
                   person_found=obs.person_found[sl], interpolated=obs.interpolated[sl])


def spec_for_observation(kind: str, path: str | Path) -> TimelineSpec:
    """A timeline holding one video or 2D-keypoint clip over its whole duration."""
    from genmo.spec import parse_spec

    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{kind} file not found: {path}")
    if kind == "video":
        duration = _video_duration(path)
    else:
        from genmo.conditions.keypoints2d import load_keypoints2d

        obs = load_keypoints2d(path)
        duration = obs.num_frames / obs.fps
    if duration > ESTIMATE_MAX_DURATION_S:
        raise UserInputError(f"{path.name}: {duration:.1f} s is longer than the {ESTIMATE_MAX_DURATION_S:g} s limit")
    duration = round(duration, 3)
    return parse_spec({"version": 1, "fps": MODEL_FPS, "duration": duration,
                       "tracks": [{"kind": kind, "start": 0.0, "end": duration, "path": str(path)}]},
                      max_duration=ESTIMATE_MAX_DURATION_S)


def _video_duration(path: Path) -> float:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
    finally:
        cap.release()
    if fps <= 0 or count <= 0:
        raise UserInputError(f"{path.name}: cannot read the video's frame rate and length")
    return count / fps


def render_result(result: GenerationResult, path: str | Path, width: int = 640, height: int = 480,
                  on_frame: Callable[[int, int], None] | None = None) -> Path:
    """Render the result's body animation to an mp4 with the timeline's music mixed in at its clip times.

    ``on_frame(index, total)`` runs before each frame (progress, cancellation: see render_motion)."""
    import tempfile

    from genmo.render import render_motion
    from genmo.render.timeline_audio import write_timeline_audio

    music = [(t.path, t.start, t.end, t.offset) for t in result.spec.tracks_of("music")]
    with tempfile.TemporaryDirectory(prefix="genmo-audio-") as tmp:
        audio = write_timeline_audio(music, result.motion.duration, Path(tmp) / "mix.wav") if music else None
        render_motion(result.motion, None, path, width=width, height=height, audio_path=audio, on_frame=on_frame)
    return Path(path)
