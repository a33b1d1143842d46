"""Readers for the non-BVH motion formats, each returning a retargeted SMPL-24 Clip:
DeepMimic JSON clips, Dance-with-Melody joint positions, AMASS-style npz, AIST++ SMPL pkl."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from genmo.body.skeleton import NUM_JOINTS
from genmo.data import retarget as rt
from genmo.data.clip import Clip, default_rest_joints, finish_clip, joints_of
from genmo.motion.resample import slerp_resample

# ---------------------------------------------------------------- DeepMimic
# DeepMimic humanoid3d skeleton (metres; character faces +X, Y up, right side at +Z).
# name: (parent, offset, kind) with kind 'ball' (quaternion wxyz), 'hinge' (angle about Z) or 'fixed'.
_DM_JOINTS = {
    "root": (None, (0.0, 0.0, 0.0), "root"),
    "chest": ("root", (0.0, 0.236151, 0.0), "ball"),
    "neck": ("chest", (0.0, 0.223894, 0.0), "ball"),
    "right_hip": ("root", (0.0, 0.0, 0.084887), "ball"),
    "right_knee": ("right_hip", (0.0, -0.421546, 0.0), "hinge"),
    "right_ankle": ("right_knee", (0.0, -0.40987, 0.0), "ball"),
    "right_shoulder": ("chest", (-0.02405, 0.24350, 0.18311), "ball"),
    "right_elbow": ("right_shoulder", (0.0, -0.274788, 0.0), "hinge"),
    "left_hip": ("root", (0.0, 0.0, -0.084887), "ball"),
    "left_knee": ("left_hip", (0.0, -0.421546, 0.0), "hinge"),
    "left_ankle": ("left_knee", (0.0, -0.40987, 0.0), "ball"),
    "left_shoulder": ("chest", (-0.02405, 0.24350, -0.18311), "ball"),
    "left_elbow": ("left_shoulder", (0.0, -0.274788, 0.0), "hinge"),
}
# Order of the rotation blocks in a frame after [dt, root pos, root quat].
_DM_ORDER = ("chest", "neck", "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow",
             "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow")
# End points fixed to a joint: (joint, offset) for wrists, toes (ball of the foot) and the head.
_DM_POINTS = {
    rt.L_WRIST: ("left_elbow", (0.0, -0.258947, 0.0)), rt.R_WRIST: ("right_elbow", (0.0, -0.258947, 0.0)),
    rt.L_FOOT: ("left_ankle", (0.11, -0.05, 0.0)), rt.R_FOOT: ("right_ankle", (0.11, -0.05, 0.0)),
    rt.HEAD: ("neck", (0.0, 0.16, 0.0)),
}
_DM_TO_SMPL = {
    "root": rt.PELVIS, "chest": rt.SPINE3, "neck": rt.NECK, "left_hip": rt.L_HIP, "right_hip": rt.R_HIP,
    "left_knee": rt.L_KNEE, "right_knee": rt.R_KNEE, "left_ankle": rt.L_ANKLE, "right_ankle": rt.R_ANKLE,
    "left_shoulder": rt.L_SHOULDER, "right_shoulder": rt.R_SHOULDER, "left_elbow": rt.L_ELBOW, "right_elbow": rt.R_ELBOW,
}
_DM_WIDTH = 1 + 3 + 4 + sum(1 if _DM_JOINTS[n][2] == "hinge" else 4 for n in _DM_ORDER)


def _quat_wxyz(q: np.ndarray) -> np.ndarray:
    return Rotation.from_quat(np.concatenate([q[..., 1:], q[..., :1]], axis=-1)).as_matrix()


def read_deepmimic(path: str | Path, text: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a DeepMimic clip. Returns world positions (F, 24, 3) and world rotations
    (F, 24, 3, 3) in SMPL order (unmapped joints zero/identity) and frame times (F,) seconds
    (frames may last unequally long)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text() if text is None else text)
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a DeepMimic clip ({type(err).__name__}: {err})") from None
    if frames.ndim != 2 or frames.shape[1] != _DM_WIDTH or len(frames) < 2:
        raise ValueError(f"{path}: expected frames of {_DM_WIDTH} values, got shape {frames.shape}")
    if not (frames[:-1, 0] > 0).all():
        raise ValueError(f"{path}: non-positive frame duration")
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    n = len(frames)
    glob_r: dict[str, np.ndarray] = {"root": _quat_wxyz(frames[:, 4:8])}
    glob_p: dict[str, np.ndarray] = {"root": frames[:, 1:4]}
    col = 8
    local: dict[str, np.ndarray] = {}
    for name in _DM_ORDER:
        if _DM_JOINTS[name][2] == "hinge":
            local[name] = Rotation.from_rotvec(np.outer(frames[:, col], [0, 0, 1])).as_matrix()
            col += 1
        else:
            local[name] = _quat_wxyz(frames[:, col:col + 4])
            col += 4
    for name, (parent, offset, _) in _DM_JOINTS.items():
        if parent is None:
            continue
        glob_r[name] = glob_r[parent] @ local[name]
        glob_p[name] = glob_p[parent] + glob_r[parent] @ np.asarray(offset)
    pos = np.zeros((n, NUM_JOINTS, 3))
    rots = np.broadcast_to(np.eye(3), (n, NUM_JOINTS, 3, 3)).copy()
    for name, smpl in _DM_TO_SMPL.items():
        pos[:, smpl] = glob_p[name]
        rots[:, smpl] = glob_r[name]
    for smpl, (joint, offset) in _DM_POINTS.items():
        pos[:, smpl] = glob_p[joint] + glob_r[joint] @ np.asarray(offset)
    return pos, rots, times


def _dm_rest_pose() -> np.ndarray:
    """SMPL-order positions of the DeepMimic humanoid with all rotations zero (arms down)."""
    world: dict[str, np.ndarray] = {}
    for name, (parent, offset, _) in _DM_JOINTS.items():
        world[name] = np.asarray(offset) + (world[parent] if parent else 0.0)
    pos = np.zeros((NUM_JOINTS, 3))
    for name, smpl in _DM_TO_SMPL.items():
        pos[smpl] = world[name]
    for smpl, (joint, offset) in _DM_POINTS.items():
        pos[smpl] = world[joint] + np.asarray(offset)
    return pos


def deepmimic_to_clip(path: str | Path, rest_joints: np.ndarray | None = None, text: str | None = None) -> tuple[Clip, np.ndarray]:
    """Retarget a DeepMimic clip to SMPL-24 at 30 fps."""
    rest = default_rest_joints() if rest_joints is None else rest_joints
    pos, rots, times = read_deepmimic(path, text)
    fps = (len(times) - 1) / times[-1]
    avail = np.zeros(NUM_JOINTS, dtype=bool)
    avail[list(_DM_TO_SMPL.values()) + list(_DM_POINTS)] = True
    has_rot = np.zeros(NUM_JOINTS, dtype=bool)
    has_rot[list(_DM_TO_SMPL.values())] = True
    result = rt.retarget(pos, avail, rest, source_rots=rots, rot_map=has_rot, source_rest=_dm_rest_pose())
    return finish_clip(result, pos, fps, rest, {"src_fps": round(fps, 3)}, src_times=times)


# ---------------------------------------------------------------- Dance with Melody
DWM_FPS = 25.0
# The 23 points, inferred from bone lengths and topology (README of the data): 7/16 hips,
# 8/17 knees, 9/18 ankles, 10/19 heels, 11/20 toes, 2 spine, 12 neck, 0/1 head, 13/3
# shoulders, 4 elbow, 5 forearm, 6 wrist, 22 hand; the left arm (13, 14, 15, 21) is nearly
# rigid and folded in the captures, so its directions are used as they are.
_DWM_TO_SMPL = {
    rt.L_HIP: 16, rt.R_HIP: 7, rt.SPINE1: 2, rt.L_KNEE: 17, rt.R_KNEE: 8, rt.L_ANKLE: 18, rt.R_ANKLE: 9,
    rt.L_FOOT: 20, rt.R_FOOT: 11, rt.NECK: 12, rt.L_SHOULDER: 13, rt.R_SHOULDER: 3,
    rt.L_ELBOW: 14, rt.R_ELBOW: 4, rt.L_WRIST: 15, rt.R_WRIST: 6, rt.R_HAND: 22,
}


def dwm_positions(skeletons: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """23-point positions (T, 23, 3) cm + centre (T, 3) -> SMPL-order positions (T, 24, 3) metres, avail."""
    sk = np.asarray(skeletons, dtype=np.float64)
    if sk.ndim != 3 or sk.shape[1:] != (23, 3):
        raise ValueError(f"Dance-with-Melody skeletons: expected shape (T, 23, 3), got {sk.shape}")
    world = (sk + np.asarray(center, dtype=np.float64).reshape(-1, 1, 3)) * 0.01
    pos = np.zeros((len(sk), NUM_JOINTS, 3))
    avail = np.zeros(NUM_JOINTS, dtype=bool)
    for smpl, k in _DWM_TO_SMPL.items():
        pos[:, smpl] = world[:, k]
        avail[smpl] = True
    pos[:, rt.PELVIS] = 0.5 * (world[:, 7] + world[:, 16])
    pos[:, rt.HEAD] = 0.5 * (world[:, 0] + world[:, 1])
    avail[[rt.PELVIS, rt.HEAD]] = True
    return pos, avail


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x, sigma, axis=0, mode="nearest")


def read_dance_with_melody(folder: str | Path, files: dict[str, bytes] | None = None) -> dict:
    """Read one DANCE_* folder: positions (T, 24, 3), avail, genre letter, music start/end (s)."""
    folder = Path(folder)
    try:
        sk_text = files["skeletons.json"] if files else (folder / "skeletons.json").read_bytes()
        cfg_text = files["config.json"] if files else (folder / "config.json").read_bytes()
        sk = json.loads(sk_text)
        cfg = json.loads(cfg_text)
        skeletons, center = np.asarray(sk["skeletons"]), np.asarray(sk["center"])
        start, end = int(cfg["start_position"]), int(cfg["end_position"])
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{folder}: not a Dance-with-Melody folder ({type(err).__name__}: {err})") from None
    pos, avail = dwm_positions(skeletons, center)
    parts = folder.name.split("_")
    genre = parts[1] if len(parts) >= 3 else "?"
    return {"positions": pos, "avail": avail, "genre": genre, "music_start": start / DWM_FPS,
            "music_end": start / DWM_FPS + len(pos) / DWM_FPS, "config_end": end / DWM_FPS}


def dwm_to_clip(record: dict, rest_joints: np.ndarray | None = None) -> tuple[Clip, np.ndarray]:
    """Inverse kinematics of Dance-with-Melody positions to SMPL-24 at 30 fps."""
    rest = default_rest_joints() if rest_joints is None else rest_joints
    pos = _smooth(record["positions"], 1.0)
    result = rt.retarget(pos, record["avail"], rest)
    return finish_clip(result, pos, DWM_FPS, rest, {"src_fps": DWM_FPS}, canonical_start=True, track_ground=True)


# ---------------------------------------------------------------- AMASS npz / AIST++ pkl
def _smpl_to_clip(poses: np.ndarray, trans: np.ndarray, fps: float, z_up: bool, rest: np.ndarray, name: str) -> tuple[Clip, np.ndarray]:
    poses = np.asarray(poses, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] < 72 or len(poses) != len(trans) or trans.shape[-1:] != (3,):
        raise ValueError(f"{name}: expected poses (N, >=72) and trans (N, 3), got {poses.shape} and {trans.shape}")
    n = len(poses)
    rots = Rotation.from_rotvec(poses[:, :72].reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3)
    if z_up:  # Z-up world -> Y-up: rotate -90 deg about X
        fix = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
        rots[:, 0] = fix @ rots[:, 0]
        pelvis = (trans + rest[0]) @ fix.T
        trans = pelvis - rest[0]
    rots, trans = slerp_resample(rots.astype(np.float32), trans, fps)
    joints = joints_of(rots, trans, rest)
    floor = joints[:, [7, 8, 10, 11], 1].min()
    trans = trans.astype(np.float64).copy()
    trans[:, 1] -= floor
    joints[..., 1] -= floor
    return Clip(rots.astype(np.float32), trans.astype(np.float32), 30.0, {"src_fps": fps}), joints


def read_amass_npz(path: str | Path, rest_joints: np.ndarray | None = None, z_up: bool = True) -> tuple[Clip, np.ndarray]:
    """AMASS-style npz (``poses`` (N, 72+), ``trans``, ``mocap_framerate``; Z up like AMASS)."""
    path = Path(path)
    rest = default_rest_joints() if rest_joints is None else rest_joints
    try:
        with np.load(path, allow_pickle=False) as data:
            poses, trans = data["poses"], data["trans"]
            fps = float(np.asarray(data["mocap_framerate"] if "mocap_framerate" in data.files else data["mocap_frame_rate"]))
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"{path}: not an AMASS npz ({type(err).__name__}: {err})") from None
    return _smpl_to_clip(poses, trans, fps, z_up, rest, str(path))


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays, dtypes and plain containers."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)")


def load_pkl_arrays(path: str | Path) -> dict:
    """Load a pickle holding a dict of numpy arrays, refusing anything else."""
    path = Path(path)
    try:
        obj = _ArraysOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as err:
        raise ValueError(f"{path}: cannot read pickle safely ({err})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict of arrays, got {type(obj).__name__}")
    return obj


def read_aistpp(motion_pkl: str | Path, rest_joints: np.ndarray | None = None) -> tuple[Clip, np.ndarray]:
    """AIST++ motion pkl (``smpl_poses`` (N, 72), ``smpl_trans`` (N, 3) cm-scaled by
    ``smpl_scaling``; 60 fps, Y up). The music file is named by the ``mBR0``-style genre/music
    id inside the sequence name (``gBR_sBM_cAll_d04_mBR0_ch01`` -> ``mBR0.wav``)."""
    rest = default_rest_joints() if rest_joints is None else rest_joints
    data = load_pkl_arrays(motion_pkl)
    try:
        poses = np.asarray(data["smpl_poses"], dtype=np.float64)
        scaling = float(np.asarray(data.get("smpl_scaling", 1.0)).reshape(-1)[0])
        trans = np.asarray(data["smpl_trans"], dtype=np.float64) / scaling
    except KeyError as err:
        raise ValueError(f"{motion_pkl}: AIST++ pkl lacks {err}") from None
    clip, joints = _smpl_to_clip(poses, trans, 60.0, False, rest, str(motion_pkl))
    name = Path(motion_pkl).stem
    music = next((p for p in name.split("_") if p.startswith("m") and len(p) == 4), None)
    clip.meta.update({"genre": name.split("_")[0][1:] if name.startswith("g") else "?", "music_id": music})
    return clip, joints
