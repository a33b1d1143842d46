"""The motion file (npz, AMASS-like) that every export starts from."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genmo.errors import UserInputError

REQUIRED_KEYS = ("poses", "trans", "betas", "fps")


@dataclass
class Motion:
    """SMPL motion in the world frame (metres, Y up).

    poses (N, 72) axis-angle, root first; trans (N, 3) SMPL translation; betas (10,); fps;
    joints (N, 24, 3) world joint positions from the body model; contacts (N, 6) in [0, 1]
    (heels, toes of both feet, then both hands); cam_R (N, 3, 3), cam_t (N, 3) world-to-camera
    extrinsics (x_cam = R x_world + t, OpenCV axes) where a camera exists.
    """

    poses: np.ndarray
    trans: np.ndarray
    betas: np.ndarray
    fps: float
    joints: np.ndarray | None = None
    contacts: np.ndarray | None = None
    cam_R: np.ndarray | None = None
    cam_t: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, dtype=np.float32)
        self.trans = np.asarray(self.trans, dtype=np.float32)
        self.betas = np.asarray(self.betas, dtype=np.float32).reshape(-1)
        self.fps = float(self.fps)
        self.validate()

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def validate(self) -> None:
        """Raise ValueError naming the first key with a wrong shape or non-finite values."""
        n = self.poses.shape[0] if self.poses.ndim == 2 else -1
        expected = {
            "poses": (n, 72),
            "trans": (n, 3),
            "betas": (10,),
            "joints": (n, 24, 3),
            "contacts": (n, 6),
            "cam_R": (n, 3, 3),
            "cam_t": (n, 3),
        }
        if self.poses.ndim != 2 or self.poses.shape[1] != 72:
            raise ValueError(f"motion key 'poses': expected shape (N, 72), got {self.poses.shape}")
        if n == 0:
            raise ValueError("motion has zero frames")
        for key, shape in expected.items():
            value = getattr(self, key)
            if value is None:
                continue
            value = np.asarray(value, dtype=np.float32)
            setattr(self, key, value)
            if value.shape != shape:
                raise ValueError(f"motion key {key!r}: expected shape {shape}, got {value.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"motion key {key!r} contains NaN or infinite values")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"motion key 'fps' must be positive, got {self.fps}")
        if (self.cam_R is None) != (self.cam_t is None):
            raise ValueError("motion keys 'cam_R' and 'cam_t' must be given together")

    def to_dict(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {
            "poses": self.poses,
            "trans": self.trans,
            "betas": self.betas,
            "fps": np.asarray(self.fps, dtype=np.float32),
            "mocap_framerate": np.asarray(self.fps, dtype=np.float32),
            "gender": np.asarray("neutral"),
        }
        for key in ("joints", "contacts", "cam_R", "cam_t"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out.update(self.extras)
        return out

    def save(self, path: str | Path) -> Path:
        """Write the npz (AMASS-compatible keys plus the project's own)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **self.to_dict())
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> "Motion":
        """Read a motion npz written by the project (or an AMASS npz); UserInputError names the file and key."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise UserInputError(f"cannot read motion file {path}: {err}") from None
        for key in ("poses", "trans"):
            if key not in arrays:
                raise UserInputError(f"motion file {path} lacks key {key!r}")
        fps = arrays.get("fps", arrays.get("mocap_framerate"))
        if fps is None:
            raise UserInputError(f"motion file {path} lacks key 'fps'")
        poses = arrays["poses"]
        if poses.ndim == 2 and poses.shape[1] > 72:  # SMPL-H / SMPL-X: 22 body joints, then face/fingers
            poses = np.concatenate([poses[:, :66], np.zeros((len(poses), 6), poses.dtype)], axis=1)
        betas = arrays.get("betas", np.zeros(10, np.float32)).reshape(-1)[:10]
        betas = np.pad(betas, (0, 10 - betas.shape[0]))
        optional = {k: arrays[k] for k in ("joints", "contacts", "cam_R", "cam_t") if k in arrays}
        try:
            return cls(poses=poses, trans=arrays["trans"], betas=betas, fps=float(np.asarray(fps).reshape(-1)[0]),
                       **optional)
        except ValueError as err:
            raise UserInputError(f"{path}: {err}") from None
