"""A small TMR-like text/motion evaluator trained contrastively on the TRAIN split.

- Motion features (per frame, from world joints): heading-canonical joint positions, joint
  velocities in the heading frame, root height / planar velocity / yaw rate, foot contacts
  (`motion_features`, 152-d).
- Motion encoder: 1-D convolutions + masked mean/max pooling -> 128-d unit embedding; an action
  head on the pooled features classifies the clip's action label.
- Text encoder: an MLP on the frozen MiniLM sentence embedding (384-d) -> 128-d unit embedding.
- Loss: symmetric InfoNCE (temperature 0.1; negatives whose sentences are near-duplicates,
  cosine > 0.9, are masked) + cross-entropy of the action head on labelled clips.

Saved as checkpoints/evaluator/{evaluator.safetensors, evaluator.json}.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from genmo.body.skeleton import mirror_permutation
from genmo.data.corpus import Corpus
from genmo.data.dataset import mirror_text
from genmo.eval.common import ground_truth, split_clips

FEATURE_DIM = 152
WEIGHTS_FILE = "evaluator.safetensors"
CONFIG_FILE = "evaluator.json"
MIN_LABEL_CLIPS = 20  # action labels with fewer training clips are not classified
NEAR_DUPLICATE_COS = 0.9


def _heading(joints: np.ndarray) -> np.ndarray:
    """Per-frame facing angle (about +Y, 0 = +Z) from the hip and shoulder lines."""
    across = (joints[:, 1] - joints[:, 2]) + (joints[:, 16] - joints[:, 17])
    return np.arctan2(-across[:, 2], across[:, 0])  # forward = across x up, left at +X when facing +Z


def _rot_y(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(*np.shape(angle), 3, 3)


def motion_features(joints: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """Per-frame evaluator features (T, 152) of world joints (T, 24, 3), Y up; needs T >= 2."""
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (24, 3) or len(p) < 2:
        raise ValueError(f"motion_features: expected joints (T >= 2, 24, 3), got {p.shape}")
    heading = _heading(p)
    inv = np.swapaxes(_rot_y(heading), -1, -2)  # world -> heading frame
    root = p[:, 0].copy()
    rel = p - root[:, None] * np.array([1.0, 0.0, 1.0])
    local = np.einsum("tab,tjb->tja", inv, rel)
    vel = np.diff(p, axis=0, append=p[-1:] + (p[-1:] - p[-2:-1])) * fps
    local_vel = np.einsum("tab,tjb->tja", inv, vel)
    yaw = np.diff(np.unwrap(heading), append=2 * heading[-1] - heading[-2]) * fps
    feet = p[:, [7, 8, 10, 11]]
    speed = np.linalg.norm(np.diff(feet, axis=0, append=feet[-1:]), axis=-1) * fps
    contact = (speed < 0.5).astype(np.float64)
    out = np.concatenate([local.reshape(len(p), -1), local_vel.reshape(len(p), -1), root[:, 1:2],
                          local_vel[:, 0, [0, 2]], yaw[:, None], contact], axis=-1)
    return out.astype(np.float32)


@dataclass
class EvaluatorConfig:
    """Evaluator sizes, the action label set and the feature normalisation."""

    hidden: int = 160
    embed: int = 128
    text_hidden: int = 256
    labels: list[str] = field(default_factory=list)
    feature_mean: list[float] = field(default_factory=list)
    feature_std: list[float] = field(default_factory=list)
    trained_on: dict = field(default_factory=dict)


class MotionEncoder(nn.Module):
    """Features (B, T, 152) + valid mask (B, T) -> (unit embedding (B, E), action logits (B, C))."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        h = cfg.hidden
        self.convs = nn.ModuleList([nn.Conv1d(FEATURE_DIM, h, 5, padding=2), nn.Conv1d(h, h, 5, padding=2),
                                    nn.Conv1d(h, h, 5, padding=4, dilation=2)])
        self.proj = nn.Sequential(nn.Linear(2 * h, h), nn.GELU(), nn.Linear(h, cfg.embed))
        self.action = nn.Linear(2 * h, max(1, len(cfg.labels)))
        self.register_buffer("mean", torch.tensor(cfg.feature_mean or [0.0] * FEATURE_DIM))
        self.register_buffer("std", torch.tensor(cfg.feature_std or [1.0] * FEATURE_DIM))

    def pooled(self, feats: Tensor, valid: Tensor) -> Tensor:
        x = ((feats - self.mean) / self.std).transpose(1, 2)
        m = valid[:, None, :].float()
        for i, conv in enumerate(self.convs):
            y = nn.functional.gelu(conv(x * m))
            x = y if i == 0 else x + y
        mean = (x * m).sum(-1) / m.sum(-1).clamp_min(1)
        peak = x.masked_fill(m == 0, -1e4).max(-1).values
        return torch.cat([mean, peak], -1)

    def forward(self, feats: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        pooled = self.pooled(feats, valid)
        return nn.functional.normalize(self.proj(pooled), dim=-1), self.action(pooled)


class TextHead(nn.Module):
    """MiniLM sentence embeddings (B, 384) -> unit embeddings (B, E)."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(384, cfg.text_hidden), nn.GELU(), nn.Linear(cfg.text_hidden, cfg.embed))

    def forward(self, sentence: Tensor) -> Tensor:
        return nn.functional.normalize(self.mlp(sentence), dim=-1)


class Evaluator(nn.Module):
    """Motion and text encoders in one joint space, plus the action classifier."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.motion = MotionEncoder(cfg)
        self.text = TextHead(cfg)

    @torch.no_grad()
    def embed_motions(self, joints: list[np.ndarray], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Unit embeddings (N, E) and action-label probabilities (N, C) of joint sequences (T_i, 24, 3)."""
        self.eval()
        embs, probs = [], []
        for start in range(0, len(joints), batch):
            feats, valid = _pad([motion_features(j) for j in joints[start:start + batch]])
            emb, logits = self.motion(feats, valid)
            embs.append(emb.numpy())
            probs.append(torch.softmax(logits, -1).numpy())
        width = max(1, len(self.cfg.labels))
        return (np.concatenate(embs) if embs else np.zeros((0, self.cfg.embed), np.float32),
                np.concatenate(probs) if probs else np.zeros((0, width), np.float32))

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit embeddings (N, E) of sentences (through the frozen MiniLM encoder)."""
        from genmo.conditions.text import default_encoder

        self.eval()
        return self.text(torch.from_numpy(default_encoder().embed(texts))).numpy()


def _pad(feats: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    t_max = max(len(f) for f in feats)
    out = np.zeros((len(feats), t_max, FEATURE_DIM), np.float32)
    valid = np.zeros((len(feats), t_max), bool)
    for i, f in enumerate(feats):
        out[i, :len(f)] = f
        valid[i, :len(f)] = True
    return torch.from_numpy(out), torch.from_numpy(valid)


def save_evaluator(model: Evaluator, folder: str | Path) -> Path:
    """Write evaluator.safetensors + evaluator.json into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(asdict(model.cfg), indent=1))
    return folder


def load_evaluator(folder: str | Path) -> Evaluator:
    """Read an evaluator folder written by save_evaluator; errors name the missing file."""
    folder = Path(folder)
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        if not (folder / name).is_file():
            raise ValueError(f"{folder}: no {name}; train one with `python -m genmo eval --train-evaluator --data CORPUS`")
    cfg = EvaluatorConfig(**json.loads((folder / CONFIG_FILE).read_text()))
    model = Evaluator(cfg)
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return model.eval()


def default_evaluator_dir() -> Path:
    from genmo.paths import checkpoints_dir

    return checkpoints_dir() / "evaluator"


# -- training (train split only) --------------------------------------------------------------

def action_label(clip: dict) -> str | None:
    """The action label the classifier uses (Bandai content / DeepMimic action), or None."""
    labels = clip.get("labels") or {}
    if labels.get("source") in ("bandai", "deepmimic"):
        return labels.get("action")
    return None


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """World joints (T, 24, 3) reflected across the X = 0 plane, left and right joints swapped."""
    return np.ascontiguousarray(joints[:, mirror_permutation()] * np.array([-1.0, 1.0, 1.0], dtype=joints.dtype))


def mirror_label(label: str | None) -> str | None:
    """The action label of a mirrored clip: its side words swapped as in a mirrored sentence
    (genmo.data.dataset.mirror_text), in each "_"-separated part ("punch_left" -> "punch_right")."""
    if label is None:
        return None
    return "_".join(mirror_text(part) for part in label.split("_"))


def _training_clips(corpus: Corpus, max_frames: int, mirror: bool) -> list[dict]:
    """Features, texts and label of every train clip with text; with ``mirror``, each clip's mirror image too."""
    from genmo.data.clip import default_rest_joints
    from genmo.data.dataset import mirror_text

    rest = torch.as_tensor(default_rest_joints(), dtype=torch.float32)
    out = []
    for clip in split_clips(corpus, "train", min_frames=16, need_text=True):
        joints, label = ground_truth(corpus, clip, rest).joints, action_label(clip)
        out.append({"features": motion_features(joints), "texts": clip["texts"], "label": label, "mirrored": False})
        if mirror:
            out.append({"features": motion_features(mirror_joints(joints)), "texts": [mirror_text(t) for t in clip["texts"]],
                        "label": mirror_label(label), "mirrored": True})
    return out


def train_evaluator(corpus: Corpus, out: str | Path, steps: int = 2500, batch: int = 64, max_frames: int = 196,
                    seed: int = 0, min_label_clips: int = MIN_LABEL_CLIPS, mirror: bool = True, log=print) -> dict:
    """Train the evaluator on the corpus's TRAIN split and save it; returns a summary.

    Action labels with fewer than ``min_label_clips`` training clips are left out of the classifier.
    With ``mirror`` every clip is also seen reflected left to right (its texts and label swapped
    too), as the denoiser is trained: every clip of the corpus holds its shoulders 1-3 cm to the left
    of the pelvis, and an evaluator that learns that reads any mirrored motion as turning right.
    """
    t0 = time.time()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = _training_clips(corpus, max_frames, mirror)
    if len(data) < batch:
        raise ValueError(f"the corpus has {len(data)} training clips with text; need at least {batch}")
    counts: dict[str, int] = {}
    for d in data:  # the label set is the corpus's own: mirror images do not count towards a label's clips
        if d["label"] and not d["mirrored"]:
            counts[d["label"]] = counts.get(d["label"], 0) + 1
    labels = sorted(k for k, v in counts.items() if v >= min_label_clips)
    originals = sum(not d["mirrored"] for d in data)
    stacked = np.concatenate([d["features"] for d in data])
    cfg = EvaluatorConfig(labels=labels, feature_mean=stacked.mean(0).tolist(),
                          feature_std=np.maximum(stacked.std(0), 1e-2).tolist(),
                          trained_on={"split": "train", "clips": originals, "mirrored": mirror,
                                      "corpus": str(corpus.root)})
    model = Evaluator(cfg)
    texts = sorted({t for d in data for t in d["texts"]})
    log(f"evaluator: {originals} train clips ({len(data)} with mirror images), {len(texts)} sentences, {len(labels)} action labels")
    from genmo.conditions.text import default_encoder

    sentence = {t: e for t, e in zip(texts, default_encoder().embed(texts))}
    label_index = {name: i for i, name in enumerate(labels)}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    log_every = max(1, steps // 10)
    for step in range(steps):
        picks = rng.choice(len(data), batch, replace=False)
        feats, sents, targets = [], [], []
        for i in picks:
            f = data[i]["features"]
            n = len(f)
            crop = min(n, max_frames, max(16, int(n * rng.uniform(0.7, 1.0))))
            s = int(rng.integers(0, n - crop + 1))
            feats.append(f[s:s + crop])
            sents.append(sentence[data[i]["texts"][int(rng.integers(len(data[i]["texts"])))]])
            targets.append(label_index.get(data[i]["label"], -100))
        x, valid = _pad(feats)
        s_emb = torch.from_numpy(np.stack(sents))
        model.train()
        m_emb, logits = model.motion(x, valid)
        t_emb = model.text(s_emb)
        sim = m_emb @ t_emb.T / 0.1
        dup = (s_emb @ s_emb.T > NEAR_DUPLICATE_COS) & ~torch.eye(batch, dtype=torch.bool)
        sim = sim.masked_fill(dup, -1e4)
        target = torch.arange(batch)
        loss = 0.5 * (nn.functional.cross_entropy(sim, target) + nn.functional.cross_entropy(sim.T, target))
        tgt = torch.tensor(targets)
        if (tgt >= 0).any():
            loss = loss + nn.functional.cross_entropy(logits, tgt, ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % log_every == 0:
            log(f"  step {step + 1}/{steps} loss {loss.item():.3f}")
    model.eval()
    save_evaluator(model, out)
    size = (Path(out) / WEIGHTS_FILE).stat().st_size
    summary = {"clips": originals, "mirrored": mirror, "sentences": len(texts), "labels": labels, "steps": steps,
               "seconds": round(time.time() - t0, 1), "weights_bytes": size}
    log(f"evaluator saved to {out} ({size / 1e6:.2f} MB, {summary['seconds']} s)")
    return summary
