"""The wall-clock budget (genmo.train.budget) with a fake clock, the budgeted Trainer.fit, and loader workers'
own augmentation streams."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from torch.utils.data import DataLoader, Dataset

from genmo.model import GenmoConfig
from genmo.paths import repo_root
from genmo.train.budget import MARGIN, StepBudget, StepCosts
from genmo.train.synthetic import SyntheticMotionDataset
from genmo.train.trainer import Trainer, _seed_worker


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_probe_waits_for_its_steps_then_the_plan_fills_the_budget() -> None:
    clock = FakeClock()
    budget = StepBudget(100.0, cap=10_000, val_every=10, ckpt_every=20, probe_steps=5, clock=clock)
    clock.now = 3.0  # start-up: the first step is not timed
    assert budget.probe_ended(1) is None
    for step in range(2, 6):
        clock.now += 0.5
        assert budget.probe_ended(step) is None
    clock.now += 0.5
    step_s = budget.probe_ended(6)
    assert step_s == pytest.approx(0.5)
    clock.now += 3.0  # the timed validation and checkpoint
    total = budget.plan(6, StepCosts(step_s, val_s=2.0, save_s=1.0))
    per_step = 0.5 + 2.0 / 10 + 1.0 / 20
    usable = (100.0 - clock.now) * (1 - MARGIN) - 3.0
    assert total == 6 + math.floor(usable / per_step) and budget.planned


def test_refine_follows_the_measured_pace_and_respects_cap_and_deadline() -> None:
    clock = FakeClock()
    budget = StepBudget(100.0, cap=10_000, val_every=10, ckpt_every=20, probe_steps=2, clock=clock)
    budget.plan(10, StepCosts(0.1, 0.0, 0.0))
    clock.now = 20.0  # 100 steps took 20 s: twice the probe's estimate
    total = budget.refine(110)
    assert total == 110 + math.floor(80.0 * (1 - MARGIN) / 0.2)
    clock.now = 99.9
    assert budget.refine(120) == 120  # no time left: stop here
    capped = StepBudget(1e6, cap=50, val_every=10, ckpt_every=10, clock=FakeClock())
    assert capped.plan(3, StepCosts(0.01, 0.0, 0.0)) == 50
    with pytest.raises(ValueError):
        StepBudget(0.0, cap=5, val_every=1, ckpt_every=1)


def test_probe_ends_early_on_a_slow_machine() -> None:
    clock = FakeClock()
    budget = StepBudget(60.0, cap=1000, val_every=100, ckpt_every=100, probe_steps=100, clock=clock)
    budget.probe_ended(1)
    clock.now = 4.0
    assert budget.probe_ended(2) is None  # one timed step is not enough
    clock.now = 8.0
    assert budget.probe_ended(3) == pytest.approx(4.0)  # two steps, over 10 % of the budget


def test_budgeted_fit_plans_once_and_ends_on_its_planned_total(tmp_path) -> None:
    cfg = GenmoConfig.load(repo_root() / "configs" / "tiny.json")
    cfg.train = replace(cfg.train, batch_size=4, steps=100_000, val_every=40, ckpt_every=40, log_every=5,
                        warmup_steps=10)
    data = SyntheticMotionDataset(24, 16, seed=0)
    val = SyntheticMotionDataset(4, 16, seed=1, normalizer=data.normalizer)
    trainer = Trainer(cfg, data, val, tmp_path, data.normalizer, progress=False)
    summary = trainer.fit(budget_s=4.0)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    plans = [r for r in records if r["split"] == "plan"]
    assert plans and all(r["steps"] < 100_000 for r in plans)
    assert summary["step"] == plans[-1]["steps"] == cfg.train.steps
    assert json.loads((tmp_path / "state.json").read_text())["step"] == summary["step"]


class Draws(Dataset):
    """Each item is a draw from the dataset's own generator, like MotionWindows' augmentation."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> float:
        return float(self.rng.random())


def test_each_loader_worker_draws_its_own_stream() -> None:
    loader = DataLoader(Draws(), batch_size=4, num_workers=2, worker_init_fn=_seed_worker)
    first, second = (batch.tolist() for batch in loader)  # batch 0 from worker 0, batch 1 from worker 1
    assert first != second  # without the reseed both forked workers would repeat the parent's stream


def test_cli_refuses_a_non_positive_budget_in_one_line(tmp_path) -> None:
    res = subprocess.run([sys.executable, "-m", "genmo", "train", "--config", "configs/tiny.json", "--synthetic", "8",
                          "--out", str(tmp_path / "run"), "--time-budget", "0"],
                         cwd=repo_root(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and res.stderr.strip() == "error: --time-budget must be > 0 seconds, got 0"
