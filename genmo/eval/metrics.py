"""Evaluation metrics as pure numpy functions (definitions: docs/evaluation.md).

Conventions: positions in metres, Y up, 30 fps unless ``fps`` says otherwise; joints (T, J, 3)
with the pelvis at index 0. Per-frame metrics return one value per frame so that callers can
concatenate frames over sequences before averaging (as the GVHMR/GENMO evaluation does).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

FPS = 30.0
FOOT_JOINTS = (7, 8, 10, 11)  # SMPL-24 left/right ankle, left/right foot (toes)
CONTACT_THRESHOLD_M = 0.01  # a GT contact: per-frame displacement below 1 cm
BAS_SIGMA_FRAMES = 3.0
BEAT_SMOOTH_SIGMA = 5.0


def _check(name: str, x: np.ndarray, ndim: int | None = None, last: int | None = 3) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {x.shape}")
    if last is not None and x.shape[-1] != last:
        raise ValueError(f"{name}: expected last dimension {last}, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _same_shape(a: np.ndarray, b: np.ndarray, names: str = "pred and gt") -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {a.shape} and {b.shape}")


# -- similarity / rigid alignment -------------------------------------------------------------

def similarity_fit(src: np.ndarray, dst: np.ndarray, scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares (Umeyama) s, R, t with dst ≈ s R src + t for point sets (..., P, 3).

    Batched over leading dims; a reflection is never returned (det R = +1). With scale=False, s = 1.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    _same_shape(src, dst, "src and dst")
    mu_s, mu_d = src.mean(-2, keepdims=True), dst.mean(-2, keepdims=True)
    xs, xd = src - mu_s, dst - mu_d
    cov = np.swapaxes(xd, -1, -2) @ xs / src.shape[-2]
    u, sig, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    d = np.where(d == 0, 1.0, d)
    fix = np.ones_like(sig)
    fix[..., -1] = d
    rot = u @ (fix[..., :, None] * vt)
    if scale:
        var = (xs ** 2).sum((-1, -2)) / src.shape[-2]
        s = (sig * fix).sum(-1) / np.maximum(var, 1e-12)
    else:
        s = np.ones(src.shape[:-2])
    t = mu_d[..., 0, :] - s[..., None] * (rot @ mu_s[..., 0, :, None])[..., 0]
    return s, rot, t


def apply_similarity(points: np.ndarray, s: np.ndarray, rot: np.ndarray, t: np.ndarray) -> np.ndarray:
    """s R p + t for points (..., P, 3) with s (...), R (..., 3, 3), t (..., 3)."""
    return np.asarray(s)[..., None, None] * (points @ np.swapaxes(rot, -1, -2)) + np.asarray(t)[..., None, :]


# -- camera-space metrics (GVHMR protocol) ----------------------------------------------------

def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """Per-frame MPJPE (T,) in mm after subtracting joint ``root`` from both."""
    pred, gt = _check("pred", pred, 3), _check("gt", gt, 3)
    _same_shape(pred, gt)
    err = (pred - pred[:, root:root + 1]) - (gt - gt[:, root:root + 1])
    return np.linalg.norm(err, axis=-1).mean(-1) * 1000.0


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame MPJPE (T,) in mm after a per-frame similarity Procrustes fit of pred to gt."""
    pred, gt = _check("pred", pred, 3), _check("gt", gt, 3)
    _same_shape(pred, gt)
    aligned = apply_similarity(pred, *similarity_fit(pred, gt))
    return np.linalg.norm(aligned - gt, axis=-1).mean(-1) * 1000.0


def pve(pred_verts: np.ndarray, gt_verts: np.ndarray, pred_pelvis: np.ndarray, gt_pelvis: np.ndarray) -> np.ndarray:
    """Per-frame vertex error (T,) in mm with each body's pelvis joint (T, 3) subtracted."""
    pv, gv = _check("pred_verts", pred_verts, 3), _check("gt_verts", gt_verts, 3)
    _same_shape(pv, gv, "pred_verts and gt_verts")
    err = (pv - np.asarray(pred_pelvis)[:, None]) - (gv - np.asarray(gt_pelvis)[:, None])
    return np.linalg.norm(err, axis=-1).mean(-1) * 1000.0


def accel_error(pred: np.ndarray, gt: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Per-frame acceleration error (T-2,) in m/s²: ‖Δ²pred − Δ²gt‖ averaged over joints, × fps²."""
    pred, gt = _check("pred", pred, 3), _check("gt", gt, 3)
    _same_shape(pred, gt)
    if len(pred) < 3:
        return np.zeros(0)
    acc = lambda p: p[:-2] - 2 * p[1:-1] + p[2:]  # noqa: E731
    return np.linalg.norm(acc(pred) - acc(gt), axis=-1).mean(-1) * fps ** 2


# -- world metrics ----------------------------------------------------------------------------

def chunked_world_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = 100, fit: str = "first2") -> np.ndarray:
    """Per-frame world MPJPE (T,) in mm over chunks of ``chunk`` frames (the last may be shorter).

    Each chunk of pred is moved by one similarity transform fitted on the joints of its first two
    frames (fit="first2": W-MPJPE100) or of all its frames (fit="all": WA-MPJPE100); no pelvis
    alignment afterwards.
    """
    pred, gt = _check("pred", pred, 3), _check("gt", gt, 3)
    _same_shape(pred, gt)
    if fit not in ("first2", "all"):
        raise ValueError(f"fit must be 'first2' or 'all', got {fit!r}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    out = []
    for start in range(0, len(pred), chunk):
        p, g = pred[start:start + chunk], gt[start:start + chunk]
        n = min(2, len(p)) if fit == "first2" else len(p)
        s, rot, t = similarity_fit(p[:n].reshape(-1, 3), g[:n].reshape(-1, 3))
        aligned = apply_similarity(p.reshape(-1, 3), s, rot, t).reshape(p.shape)
        out.append(np.linalg.norm(aligned - g, axis=-1).mean(-1) * 1000.0)
    return np.concatenate(out) if out else np.zeros(0)


def w_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = 100) -> np.ndarray:
    """W-MPJPE100 per frame (mm): chunks aligned on their first two frames."""
    return chunked_world_mpjpe(pred, gt, chunk, "first2")


def wa_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = 100) -> np.ndarray:
    """WA-MPJPE100 per frame (mm): chunks aligned on all their frames."""
    return chunked_world_mpjpe(pred, gt, chunk, "all")


def rte(pred_root: np.ndarray, gt_root: np.ndarray) -> np.ndarray:
    """Root translation error per frame (T,) in % of the GT path length, after one rigid fit (no scale)."""
    pred, gt = _check("pred_root", pred_root, 2), _check("gt_root", gt_root, 2)
    _same_shape(pred, gt, "pred_root and gt_root")
    s, rot, t = similarity_fit(pred, gt, scale=False)
    aligned = apply_similarity(pred, s, rot, t)
    length = np.linalg.norm(np.diff(gt, axis=0), axis=-1).sum()
    if length < 1e-6:
        raise ValueError("rte: the ground-truth root does not move (zero path length)")
    return np.linalg.norm(aligned - gt, axis=-1) / length * 100.0


def jitter(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Per-frame jitter (T-3,) in 10 m/s³: ‖p[t+3] − 3p[t+2] + 3p[t+1] − p[t]‖ × fps³, joint mean, ÷ 10."""
    p = _check("joints", joints, 3)
    if len(p) < 4:
        return np.zeros(0)
    jerk = p[3:] - 3 * p[2:-1] + 3 * p[1:-2] - p[:-3]
    return np.linalg.norm(jerk, axis=-1).mean(-1) * fps ** 3 / 10.0


def jerk(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Per-frame jerk magnitude (T-3,) in m/s³ (third difference × fps³, mean over joints)."""
    return jitter(joints, fps) * 10.0


def foot_sliding(pred_points: np.ndarray, gt_points: np.ndarray, threshold: float = CONTACT_THRESHOLD_M) -> np.ndarray:
    """Predicted displacement (mm per frame) of foot points (T, P, 3) on GT contact frames.

    GT contacts are the (frame, point) pairs whose GT displacement to the next frame is below
    ``threshold`` metres. Returns one value per contact (empty when there is none).
    """
    pred, gt = _check("pred_points", pred_points, 3), _check("gt_points", gt_points, 3)
    _same_shape(pred, gt, "pred_points and gt_points")
    contact = np.linalg.norm(np.diff(gt, axis=0), axis=-1) < threshold
    return np.linalg.norm(np.diff(pred, axis=0), axis=-1)[contact] * 1000.0


def self_foot_sliding(joints: np.ndarray, height: float = 0.05, foot: tuple[int, ...] = FOOT_JOINTS,
                      fps: float = FPS, up: int = 1) -> float:
    """Foot sliding without ground truth (mm/frame): horizontal displacement of foot joints while
    they are within ``height`` m of the motion's lowest foot point, weighted as in generation papers
    by (2 − 2^(h / height)). For generated motion, where no GT contacts exist."""
    p = _check("joints", joints, 3)
    if len(p) < 2:
        return 0.0
    feet = p[:, list(foot)]
    h = feet[..., up] - feet[..., up].min()
    horiz = np.delete(np.diff(feet, axis=0), up, axis=-1)
    speed = np.linalg.norm(horiz, axis=-1)
    hh = np.minimum(h[:-1], h[1:])
    on = hh < height
    if not on.any():
        return 0.0
    weight = 2.0 - np.power(2.0, hh[on] / height)
    return float((speed[on] * weight).mean() * 1000.0)


# -- music ------------------------------------------------------------------------------------

def motion_beats(joints: np.ndarray, sigma: float = BEAT_SMOOTH_SIGMA) -> np.ndarray:
    """Frames of kinematic beats: strict local minima of the Gaussian-smoothed mean joint speed."""
    p = _check("joints", joints, 3)
    if len(p) < 3:
        return np.zeros(0, dtype=int)
    speed = np.linalg.norm(np.diff(p, axis=0), axis=-1).mean(-1)
    smooth = gaussian_filter1d(speed, sigma)
    return argrelextrema(smooth, np.less)[0]


def beat_align_score(music_beats: np.ndarray, dance_beats: np.ndarray, sigma: float = BAS_SIGMA_FRAMES) -> float:
    """BAS (Bailando): mean over music beats b of exp(−min_m (m − b)² / (2σ²)); frames, σ = 3."""
    music_beats = np.asarray(music_beats, dtype=np.float64).reshape(-1)
    dance_beats = np.asarray(dance_beats, dtype=np.float64).reshape(-1)
    if len(music_beats) == 0:
        raise ValueError("beat_align_score: the music has no beats")
    if len(dance_beats) == 0:
        return 0.0
    gap = np.abs(music_beats[:, None] - dance_beats[None, :]).min(1)
    return float(np.exp(-gap ** 2 / (2 * sigma ** 2)).mean())


def bas(joints: np.ndarray, beat_onehot: np.ndarray) -> float:
    """BAS of a dance (joints (T, J, 3)) against the music's per-frame beat one-hot (T,)."""
    beats = np.flatnonzero(np.asarray(beat_onehot).reshape(-1) > 0.5)
    return beat_align_score(beats, motion_beats(joints))


def pfc(joints: np.ndarray, fps: float = FPS, up: int = 1) -> float:
    """Physical foot contact score (EDGE), ×10⁴; joints (T, 24, 3) SMPL order."""
    p = _check("joints", joints, 3)
    if len(p) < 3:
        raise ValueError(f"pfc needs at least 3 frames, got {len(p)}")
    dt = 1.0 / fps
    root = p[:, 0]
    acc = (root[2:] - 2 * root[1:-1] + root[:-2]) / dt ** 2
    acc[:, up] = np.maximum(acc[:, up], 0.0)
    acc_norm = np.linalg.norm(acc, axis=-1)
    acc_norm = acc_norm / max(acc_norm.max(), 1e-12)
    horiz = np.delete(np.diff(p, axis=0), up, axis=-1)
    speed = np.linalg.norm(horiz, axis=-1)[1:]  # displacement t -> t+1 for t = 1..T-2
    left = np.minimum(speed[:, 7], speed[:, 10])
    right = np.minimum(speed[:, 8], speed[:, 11])
    return float((left * right * acc_norm).mean() * 1e4)


def kinetic_features(joints: np.ndarray, fps: float = FPS, window: int = 2, up: int = 1) -> np.ndarray:
    """72-d kinetic features (AIST++ style) of joints (T, 24, 3): per joint mean horizontal and
    vertical kinetic energy (squared speed, speed averaged over ±window frames) and mean energy
    expenditure (acceleration magnitude), after removing frame 0's root position."""
    p = _check("joints", joints, 3)
    if len(p) < 2 * window + 3:
        raise ValueError(f"kinetic_features needs at least {2 * window + 3} frames, got {len(p)}")
    p = p - p[0:1, 0:1]
    vel = np.diff(p, axis=0) * fps
    kernel = np.ones(2 * window + 1) / (2 * window + 1)
    smooth = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), 0, vel)
    acc = np.diff(smooth, axis=0) * fps
    horiz = np.delete(smooth, up, axis=-1)
    ke_h = (horiz ** 2).sum(-1).mean(0)
    ke_v = (smooth[..., up] ** 2).mean(0)
    energy = np.linalg.norm(acc, axis=-1).mean(0)
    return np.stack([ke_h, ke_v, energy], axis=-1).reshape(-1).astype(np.float64)


# -- distribution metrics ---------------------------------------------------------------------

def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two feature sets (N, D), (M, D): ‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½)."""
    from scipy.linalg import sqrtm

    a, b = _check("features a", a, 2, None), _check("features b", b, 2, None)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in width: {a.shape[1]} and {b.shape[1]}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance needs at least 2 samples per set")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        eps = np.eye(len(cov_a)) * 1e-5
        covmean = sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = np.real(covmean)
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean), 0.0))


def diversity(features: np.ndarray, pairs: int | None = None, seed: int = 0) -> float:
    """Mean Euclidean distance between feature pairs (N, D): all pairs, or ``pairs`` random ones."""
    f = _check("features", features, 2, None)
    n = len(f)
    if n < 2:
        raise ValueError("diversity needs at least 2 samples")
    if pairs is None:
        d = np.linalg.norm(f[:, None] - f[None], axis=-1)
        return float(d[np.triu_indices(n, 1)].mean())
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, pairs)
    j = (i + rng.integers(1, n, pairs)) % n  # never a sample with itself
    return float(np.linalg.norm(f[i] - f[j], axis=-1).mean())


def standardize(features: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Features scaled by the reference set's mean and std (+1e-10), as the Bailando protocol does."""
    ref = np.asarray(reference, dtype=np.float64)
    return (np.asarray(features, dtype=np.float64) - ref.mean(0)) / (ref.std(0) + 1e-10)


def r_precision(text_emb: np.ndarray, motion_emb: np.ndarray, top_k: int = 3, batch: int = 32) -> tuple[np.ndarray, float]:
    """T2M R-precision: (top-1..top_k fractions (top_k,), matching score).

    Pairs (text i, motion i) are split into consecutive batches of ``batch`` (a last incomplete
    batch is dropped); inside a batch, motion i's rank among the Euclidean distances from text i
    counts for top-k. The matching score (MM-Dist) is the mean text-to-own-motion distance.
    """
    t, m = _check("text_emb", text_emb, 2, None), _check("motion_emb", motion_emb, 2, None)
    _same_shape(t, m, "text_emb and motion_emb")
    n_batches = len(t) // batch
    if n_batches == 0:
        raise ValueError(f"r_precision needs at least {batch} pairs, got {len(t)}")
    hits = np.zeros(top_k)
    dists = []
    for k in range(n_batches):
        tb, mb = t[k * batch:(k + 1) * batch], m[k * batch:(k + 1) * batch]
        d = np.linalg.norm(tb[:, None] - mb[None], axis=-1)
        own = np.diag(d)
        rank = (d < own[:, None]).sum(1)  # how many motions are strictly closer than the true one
        hits += np.array([(rank < j + 1).sum() for j in range(top_k)])
        dists.append(own)
    count = n_batches * batch
    return hits / count, float(np.concatenate(dists).mean())


def multimodality(groups: np.ndarray, pairs: int = 10, seed: int = 0) -> float:
    """Mean distance between random pairs of generations of the same text: groups (N, G, D)."""
    g = _check("groups", groups, 3, None)
    if g.shape[1] < 2:
        raise ValueError("multimodality needs at least 2 generations per text")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, g.shape[1], (len(g), pairs))
    j = (i + rng.integers(1, g.shape[1], (len(g), pairs))) % g.shape[1]
    rows = np.arange(len(g))[:, None]
    return float(np.linalg.norm(g[rows, i] - g[rows, j], axis=-1).mean())


# -- smoothness -------------------------------------------------------------------------------

def acceleration(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Per-frame acceleration magnitude (T,) in m/s², mean over joints (edges repeat their neighbour)."""
    p = _check("joints", joints, 3)
    if len(p) < 3:
        return np.zeros(len(p))
    a = np.linalg.norm(p[:-2] - 2 * p[1:-1] + p[2:], axis=-1).mean(-1) * fps ** 2
    return np.concatenate([a[:1], a, a[-1:]])


def boundary_peaks(joints: np.ndarray, boundaries: list[int] | np.ndarray, radius: int = 5, fps: float = FPS) -> np.ndarray:
    """Max per-frame acceleration within ±radius frames of each boundary frame: (len(boundaries),)."""
    a = acceleration(joints, fps)
    out = []
    for b in boundaries:
        b = int(b)
        if not 0 <= b < len(a):
            raise ValueError(f"boundary frame {b} is outside the motion of {len(a)} frames")
        out.append(a[max(0, b - radius):b + radius + 1].max())
    return np.asarray(out, dtype=np.float64)
