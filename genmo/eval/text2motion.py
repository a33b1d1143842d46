"""Text-to-motion on the test split with the TMR-like evaluator (genmo.eval.evaluator).

For each test clip with text, its first sentence drives one generation of the clip's length
(capped at ``max_frames``); the real row uses the same clips' ground truth. R-precision is
computed in batches of 32 (T2M protocol; pairs in a fixed shuffled order, so a batch mixes
actions) with Euclidean distances between unit embeddings.
FID compares generated with real test embeddings; the real row's FID compares two halves of
the real test set (a floor for the metric at this sample size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genmo.data.corpus import Corpus
from genmo.eval import metrics as M
from genmo.eval.common import decode_sample, ground_truth, padded_conditions, sample, split_clips
from genmo.eval.evaluator import Evaluator, action_label
from genmo.spec import DEFAULT_GUIDANCE

R_BATCH = 32
GEN_BATCH = 16
SHUFFLE_SEED = 0


@dataclass
class TextSettings:
    clips: int = 320
    max_frames: int = 196
    steps: int = 50
    guidance: float = DEFAULT_GUIDANCE
    mm_texts: int = 10
    mm_generations: int = 5
    diversity_pairs: int = 300
    split: str = "test"  # "val" only to choose settings (e.g. smoothing), never to report


def text_batch(pipe, texts: list[list[tuple[str, int, int]]], lengths: list[int]) -> dict:
    """A padded condition batch; texts[i] = [(sentence, start, end), ...] prompts of sample i."""
    sentences = sorted({s for prompts in texts for s, _, _ in prompts})
    tokens, token_mask = pipe.text_encoder.encode(sentences)
    row = {s: i for i, s in enumerate(sentences)}
    k = max(len(p) for p in texts)
    batch = padded_conditions(lengths, texts=k, tokens=tokens.shape[1])
    for i, prompts in enumerate(texts):
        for j, (s, start, end) in enumerate(prompts):
            batch["text_tokens"][i, j] = torch.from_numpy(tokens[row[s]])
            batch["text_token_mask"][i, j] = torch.from_numpy(token_mask[row[s]])
            batch["text_windows"][i, j, start:min(end, lengths[i])] = True
            batch["text_present"][i, j] = True
    return batch


def generate_from_texts(pipe, prompts: list[list[tuple[str, int, int]]], lengths: list[int], steps: int,
                        guidance: float, seed: int = 0) -> list[np.ndarray]:
    """World joints (T_i, 24, 3) generated for each sample's prompts, in batches of similar length."""
    order = np.argsort(lengths, kind="stable")
    out: list[np.ndarray | None] = [None] * len(lengths)
    for start in range(0, len(order), GEN_BATCH):
        idx = [int(i) for i in order[start:start + GEN_BATCH]]
        batch = text_batch(pipe, [prompts[i] for i in idx], [lengths[i] for i in idx])
        x = sample(pipe, batch, steps, guidance=guidance, seed=seed + start)
        for row, i in enumerate(idx):
            out[i] = decode_sample(pipe, x[row], lengths[i])["joints_world"]
    return out  # type: ignore[return-value]


def _row(evaluator: Evaluator, text_emb: np.ndarray, joints: list[np.ndarray], labels: list[str | None],
         pairs: int) -> tuple[dict, np.ndarray]:
    emb, probs = evaluator.embed_motions(joints)
    n = (len(emb) // R_BATCH) * R_BATCH
    row: dict = {}
    if n:
        order = np.random.default_rng(SHUFFLE_SEED).permutation(len(emb))[:n]  # batches mix actions
        top, score = M.r_precision(text_emb[order], emb[order], top_k=3, batch=R_BATCH)
        row.update({"r_precision_top1": round(float(top[0]), 4), "r_precision_top2": round(float(top[1]), 4),
                    "r_precision_top3": round(float(top[2]), 4), "matching_score": round(score, 4)})
    row["diversity"] = round(M.diversity(emb, pairs=pairs), 4)
    row["foot_sliding"] = round(float(np.mean([M.self_foot_sliding(j) for j in joints])), 4)
    names = evaluator.cfg.labels
    per_label: dict[str, list[bool]] = {}
    for p, label in zip(probs, labels):
        if label in names:
            per_label.setdefault(label, []).append(names[int(np.argmax(p))] == label)
    if per_label:
        row["action_accuracy"] = round(float(np.mean([x for v in per_label.values() for x in v])), 4)
        row["action_accuracy_per_label"] = {k: round(float(np.mean(v)), 4) for k, v in sorted(per_label.items())}
    return row, emb


def evaluate_text2motion(pipe, corpus: Corpus, evaluator: Evaluator, settings: TextSettings, seed: int = 0) -> dict:
    """{"clips", "generated": {...}, "real": {...}} on the test split."""
    clips = split_clips(corpus, settings.split, min_frames=30, need_text=True, limit=settings.clips)
    if len(clips) < R_BATCH:
        raise ValueError(f"text-to-motion needs at least {R_BATCH} test clips with text, the corpus has {len(clips)}")
    rest = pipe.body.rest_joints().float()
    gts = [ground_truth(corpus, c, rest, frames=settings.max_frames) for c in clips]
    texts = [c["texts"][0] for c in clips]
    lengths = [g.num_frames for g in gts]
    labels = [action_label(c) for c in clips]
    generated = generate_from_texts(pipe, [[(t, 0, n)] for t, n in zip(texts, lengths)], lengths,
                                    settings.steps, settings.guidance, seed)
    text_emb = evaluator.embed_texts(texts)
    gen_row, gen_emb = _row(evaluator, text_emb, generated, labels, settings.diversity_pairs)
    real_row, real_emb = _row(evaluator, text_emb, [g.joints for g in gts], labels, settings.diversity_pairs)
    gen_row["fid"] = round(M.frechet_distance(gen_emb, real_emb), 4)
    half = len(real_emb) // 2
    real_row["fid"] = round(M.frechet_distance(real_emb[:half:1], real_emb[half:]), 4) if half >= 2 else None
    if settings.mm_texts and settings.mm_generations >= 2:
        mm_n = min(settings.mm_texts, len(clips))
        groups = []
        for g in range(settings.mm_generations):
            joints = generate_from_texts(pipe, [[(t, 0, n)] for t, n in zip(texts[:mm_n], lengths[:mm_n])],
                                         lengths[:mm_n], settings.steps, settings.guidance, seed + 1000 * (g + 1))
            groups.append(evaluator.embed_motions(joints)[0])
        gen_row["multimodality"] = round(M.multimodality(np.stack(groups, axis=1)), 4)
    return {"clips": len(clips), "frames": int(sum(lengths)), "steps": settings.steps, "guidance": settings.guidance,
            "generated": gen_row, "real": real_row}
