"""A terminal progress bar for pipeline stages."""

from __future__ import annotations

import sys
from typing import Callable

from tqdm import tqdm


def stage_progress() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A progress(stage, done, total) callback drawing one bar per stage, and a function closing it."""
    state: dict[str, object] = {"stage": None, "bar": None}

    def update(stage: str, done: int, total: int) -> None:
        if state["stage"] != stage:
            close()
            state["stage"] = stage
            state["bar"] = tqdm(total=total, desc=stage, file=sys.stderr, leave=False, dynamic_ncols=True)
        bar = state["bar"]
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()
        state["bar"] = None

    return update, close
