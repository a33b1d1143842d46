"""The training loop: AdamW, warm-up + cosine LR, EMA, gradient clipping, periodic validation,
resumable checkpoints, a JSONL log, DistributedDataParallel under torchrun and, in one process, a
wall-clock budget that sets the step count (genmo.train.budget).

Run folder layout:
    config.json, normalizer.safetensors        what the model needs at inference
    model.safetensors, ema.safetensors         raw and EMA weights
    optimizer.pt                               AdamW + LR scheduler state (torch.save, our own file)
    state.json                                 {"step": ..., "epoch": ...}
    log.jsonl                                  one line per logged train step / validation
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, WeightedRandomSampler, get_worker_info
from tqdm import tqdm

from genmo.diffusion.schedule import NoiseSchedule
from genmo.model.batch import batch_to
from genmo.model.checkpoint import CONFIG_FILE, EMA_FILE, MODEL_FILE, NORMALIZER_FILE, best_weights, load_weights
from genmo.model.config import GenmoConfig
from genmo.model.denoiser import GenmoDenoiser
from genmo.motion.normalizer import Normalizer
from genmo.train import ddp
from genmo.train.budget import StepBudget, StepCosts
from genmo.train.losses import DualModeLoss

OPTIMIZER_FILE = "optimizer.pt"
STATE_FILE = "state.json"
LOG_FILE = "log.jsonl"


def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up to 1, then cosine decay to min_ratio at `total` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for parameters and float buffers."""
    for e, m in zip(ema.state_dict().values(), model.state_dict().values()):
        if e.dtype.is_floating_point:
            e.lerp_(m, 1 - decay)
        else:
            e.copy_(m)


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay on matrices only; gates, norms, biases and embeddings are exempt
    (decaying a zero-initialised gate pulls a residual branch back towards off)."""
    decay, exempt = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 and "invisible" not in name else exempt).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": exempt, "weight_decay": 0.0}]


def _seed_worker(worker_id: int) -> None:
    """Give each loader worker its own augmentation stream (forked workers would share one)."""
    info = get_worker_info()
    if info is not None and hasattr(info.dataset, "reseed"):
        info.dataset.reseed(info.seed)


def _batches(loader: DataLoader, start_epoch: int) -> Iterator[tuple[int, dict]]:
    epoch = start_epoch
    while True:
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)
        for batch in loader:
            yield epoch, batch
        epoch += 1


class Trainer:
    """Trains a GenmoDenoiser on any Dataset whose (collated) items follow genmo.model.batch."""

    def __init__(self, cfg: GenmoConfig, train_set: Dataset, val_set: Dataset | None, out_dir: str | Path,
                 normalizer: Normalizer, collate_fn: Callable | None = None, progress: bool = True):
        cfg.validate()
        self.cfg = cfg
        self.out = Path(out_dir)
        self.info = ddp.setup()
        self.progress = progress and self.info.is_main
        torch.manual_seed(cfg.train.seed + self.info.rank)
        self.normalizer = normalizer
        self.model = GenmoDenoiser(cfg.model, cfg.diffusion.num_timesteps).to(self.info.device)
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        schedule = NoiseSchedule(cfg.diffusion.num_timesteps)
        self.loss = DualModeLoss(self.model, cfg, schedule, normalizer).to(self.info.device)
        self.ema_loss = DualModeLoss(self.ema, cfg, schedule, normalizer).to(self.info.device)
        self.wrapped: nn.Module = self.loss
        if self.info.distributed:
            ids = [self.info.device.index] if self.info.device.type == "cuda" else None
            self.wrapped = DistributedDataParallel(self.loss, device_ids=ids)
        self.optimizer = torch.optim.AdamW(parameter_groups(self.model, cfg.train.weight_decay), lr=cfg.train.lr)
        tc = cfg.train
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, tc.warmup_steps, tc.steps, tc.min_lr_ratio))
        sampler = self._sampler(train_set)
        per_rank = max(1, tc.batch_size // self.info.world_size)
        if len(train_set) < per_rank * (self.info.world_size if self.info.distributed else 1):
            raise ValueError(f"training set has {len(train_set)} samples, fewer than one batch of {tc.batch_size}")
        pin = self.info.device.type == "cuda"
        self.train_loader = DataLoader(train_set, batch_size=per_rank, sampler=sampler, drop_last=True,
                                       num_workers=tc.num_workers, collate_fn=collate_fn, pin_memory=pin,
                                       persistent_workers=tc.num_workers > 0, worker_init_fn=_seed_worker)
        self.val_loader = None
        if val_set is not None and len(val_set) > 0:
            self.val_loader = DataLoader(val_set, batch_size=per_rank, shuffle=False, num_workers=tc.num_workers,
                                         collate_fn=collate_fn, pin_memory=pin)
        self.step = 0
        self.epoch = 0

    def _sampler(self, train_set: Dataset):
        """Uniform windows, or label-balanced ones (train.balanced_sampling, single process)."""
        tc = self.cfg.train
        if self.info.distributed:
            return DistributedSampler(train_set, shuffle=True, seed=tc.seed, drop_last=True)
        if tc.balanced_sampling and hasattr(train_set, "sample_weights"):
            weights = train_set.sample_weights(power=tc.balance_power, min_windows=tc.balance_min_windows,
                                                music_share=tc.music_share, label_boost=tc.label_boost)
            weights = torch.as_tensor(weights, dtype=torch.float64)
            return WeightedRandomSampler(weights, num_samples=len(train_set), replacement=True)
        return RandomSampler(train_set)

    # --- checkpoints ---------------------------------------------------------------------
    def save(self) -> None:
        """Write the run folder (main process only), atomically: every file goes to a temporary name
        first and all are renamed into place together, state.json last, so a run killed mid-write
        resumes from the last complete checkpoint."""
        from genmo.model.checkpoint import weights_writer, write_files

        if not self.info.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        optimizer = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}
        state = json.dumps({"step": self.step, "epoch": self.epoch}) + "\n"
        write_files(self.out, [(CONFIG_FILE, self.cfg.save), (NORMALIZER_FILE, self.normalizer.save),
                               (MODEL_FILE, weights_writer(self.model)), (EMA_FILE, weights_writer(self.ema)),
                               (OPTIMIZER_FILE, lambda path: torch.save(optimizer, path)),
                               (STATE_FILE, lambda path: path.write_text(state))])

    def resume(self) -> None:
        """Continue from the run folder's last checkpoint."""
        if not (self.out / STATE_FILE).is_file():
            raise ValueError(f"--resume: no checkpoint in {self.out}")
        load_weights(self.model, self.out / MODEL_FILE)
        load_weights(self.ema, self.out / EMA_FILE)
        opt = torch.load(self.out / OPTIMIZER_FILE, map_location=self.info.device, weights_only=True)
        self.optimizer.load_state_dict(opt["optimizer"])
        self.scheduler.load_state_dict(opt["scheduler"])
        state = json.loads((self.out / STATE_FILE).read_text())
        self.step, self.epoch = int(state["step"]), int(state["epoch"])

    def warm_start(self, checkpoint: str | Path) -> None:
        """Start from another run's or a shipped checkpoint's weights (its EMA weights where it has
        them) with a fresh optimiser and LR schedule. The architecture must match this config's."""
        folder = Path(checkpoint)
        weights = best_weights(folder)
        if not weights.is_file():
            raise ValueError(f"--init: no weights in {folder}")
        load_weights(self.model, weights, optional=("skip_spectra",))  # a checkpoint with the shared skip
        self.ema.load_state_dict(self.model.state_dict())

    def set_skip_spectra(self, spectra: torch.Tensor) -> None:
        """Put measured per-feature spectra (motion_dim, bins) into the model and its EMA copy."""
        for model in (self.model, self.ema):
            model.skip_spectra.copy_(spectra.to(model.skip_spectra))

    def _log(self, record: dict) -> None:
        if self.info.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            with open(self.out / LOG_FILE, "a") as fh:
                fh.write(json.dumps(record) + "\n")

    # --- validation ----------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> float | None:
        """Mean EMA-model loss over up to val_batches validation batches (fixed noise seed)."""
        if self.val_loader is None:
            return None
        rng = torch.get_rng_state()
        torch.manual_seed(12345)
        totals: dict[str, float] = {}
        n = 0
        for i, batch in enumerate(self.val_loader):
            if i >= self.cfg.train.val_batches:
                break
            loss, logs = self.ema_loss(batch_to(batch, self.info.device))
            for k, v in {"loss": float(loss), **logs}.items():
                totals[k] = totals.get(k, 0.0) + v
            n += 1
        torch.set_rng_state(rng)
        if n == 0:
            return None
        record = {k: v / n for k, v in totals.items()}
        self._log({"step": self.step, "split": "val", **record})
        return record["loss"]

    # --- loop ---------------------------------------------------------------------------
    def _plan(self, budget: StepBudget, step_s: float) -> tuple[int, float | None]:
        """Time one validation and one checkpoint, then set train.steps (which the LR schedule reads)
        to the total that fits in the budget; returns it and the validation loss."""
        t0 = time.monotonic()
        val_loss = self.validate()
        t1 = time.monotonic()
        self.save()
        total = budget.plan(self.step, StepCosts(step_s, t1 - t0, time.monotonic() - t1))
        tc = self.cfg.train
        tc.warmup_steps = min(tc.warmup_steps, max(1, total // 5))
        self.wrapped.train()
        return self._set_total(total, budget), val_loss

    def _set_total(self, total: int, budget: StepBudget) -> int:
        self.cfg.train.steps = total
        self._log({"step": self.step, "split": "plan", "steps": total, "step_s": round(budget.costs.step_s, 4),
                   "val_s": round(budget.costs.val_s, 3), "save_s": round(budget.costs.save_s, 3)})
        return total

    def fit(self, steps: int | None = None, budget_s: float | None = None) -> dict:
        """Train until `steps` (default train.steps) total steps; returns the last train/val losses.

        With ``budget_s`` the run times its first steps and then sets the total (at most `steps`) so
        that training, validations and checkpoints end within ``budget_s`` seconds of this call
        (genmo.train.budget); single process only."""
        tc = self.cfg.train
        total = steps if steps is not None else tc.steps
        budget = None
        if budget_s is not None:
            if self.info.distributed:
                raise ValueError("a time budget needs a single process (not torchrun)")
            budget = StepBudget(budget_s, total, tc.val_every, tc.ckpt_every)
        self.wrapped.train()
        bar = tqdm(total=total, initial=self.step, desc="train", disable=not self.progress, dynamic_ncols=True)
        last_loss, val_loss = float("nan"), None
        start = time.time()
        data = _batches(self.train_loader, self.epoch)
        while self.step < total:
            self.epoch, batch = next(data)
            loss, logs = self.wrapped(batch_to(batch, self.info.device))
            if not torch.isfinite(loss):
                raise RuntimeError(f"non-finite training loss at step {self.step}: {logs}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), tc.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            ema_update(self.ema, self.model, tc.ema_decay)
            self.step += 1
            last_loss = ddp.mean_across(float(loss.detach()), self.info)
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{self.scheduler.get_last_lr()[0]:.2e}")
            if budget is not None and not budget.planned:
                step_s = budget.probe_ended(self.step)
                if step_s is not None:
                    total, val_loss = self._plan(budget, step_s)
                    bar.total = total
            if self.step % tc.log_every == 0 or self.step == total:
                self._log({"step": self.step, "split": "train", "epoch": self.epoch, "loss": last_loss,
                           "grad_norm": float(grad_norm), "lr": self.scheduler.get_last_lr()[0],
                           "elapsed_s": round(time.time() - start, 2), **logs})
            if self.step % tc.val_every == 0 or self.step == total:
                if self.info.is_main:
                    val_loss = self.validate()
                ddp.barrier(self.info)
                if budget is not None and budget.planned and self.step < total:
                    refined = budget.refine(self.step)
                    if refined != total:
                        total = self._set_total(refined, budget)
                        bar.total = total
            if self.step % tc.ckpt_every == 0 or self.step == total:
                self.save()
                ddp.barrier(self.info)
        bar.close()
        return {"step": self.step, "train_loss": last_loss, "val_loss": val_loss}

    def close(self) -> None:
        ddp.cleanup(self.info)
