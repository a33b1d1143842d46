"""Fit a training run to a wall-clock budget: time the first steps, then fix the total step count.

The trainer runs a probe of steps (the first one, which pays for start-up, is not timed), times
one validation and one checkpoint and sets the total to what fits in the time left, so the cosine
LR schedule (which reads train.steps) ends inside the budget. At each later validation the total
is refined from the mean cost per step since the plan, periodic validations and checkpoints
included, which absorbs a data loader that only reaches its steady pace after the probe.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

PROBE_STEPS = 100
PROBE_FRACTION = 0.1  # the probe ends early once it has used this share of the budget
MARGIN = 0.05  # share of the remaining time kept free for stragglers (slow batches, a busy disk)


@dataclass
class StepCosts:
    """Seconds of one training step, one validation and one checkpoint write."""

    step_s: float
    val_s: float
    save_s: float


class StepBudget:
    """The total step count that fits in ``budget_s`` seconds from now, from the run's own timings."""

    def __init__(self, budget_s: float, cap: int, val_every: int, ckpt_every: int, probe_steps: int = PROBE_STEPS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if budget_s <= 0:
            raise ValueError(f"time budget must be positive, got {budget_s}")
        self.budget_s, self.cap, self.probe_steps = float(budget_s), int(cap), max(2, int(probe_steps))
        self.val_every, self.ckpt_every = max(1, val_every), max(1, ckpt_every)
        self.clock = clock
        self.start = clock()
        self.costs: StepCosts | None = None
        self.total = int(cap)
        self._probe: tuple[int, float] | None = None  # (step, time) after the first step
        self._since: tuple[int, float] | None = None  # (step, time) at the plan

    @property
    def planned(self) -> bool:
        return self.costs is not None

    def probe_ended(self, step: int) -> float | None:
        """Call after every step until planned: the measured seconds per step once the probe has seen
        ``probe_steps`` steps (or two, once it has used PROBE_FRACTION of the budget), else None."""
        now = self.clock()
        if self._probe is None:
            self._probe = (step, now)
            return None
        steps, seconds = step - self._probe[0], now - self._probe[1]
        if steps >= self.probe_steps or (steps >= 2 and seconds >= PROBE_FRACTION * self.budget_s):
            return seconds / steps
        return None

    def plan(self, step: int, costs: StepCosts) -> int:
        """The total from the probe's step time and one timed validation and checkpoint."""
        self.costs = costs
        self._since = (step, self.clock())
        per_step = costs.step_s + costs.val_s / self.val_every + costs.save_s / self.ckpt_every
        return self._fit(step, per_step)

    def refine(self, step: int) -> int:
        """The total again, from the mean cost per step since the plan (call at validations)."""
        if self._since is None or step <= self._since[0]:
            return self.total
        return self._fit(step, (self.clock() - self._since[1]) / (step - self._since[0]))

    def _fit(self, step: int, per_step: float) -> int:
        remaining = self.budget_s - (self.clock() - self.start)
        usable = remaining * (1 - MARGIN) - self.costs.val_s - self.costs.save_s  # the final validation + save
        more = math.floor(usable / per_step) if per_step > 0 else 0
        self.total = min(step + max(0, more), self.cap)
        return self.total
