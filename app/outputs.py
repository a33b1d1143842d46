"""Where the studio's results live and when they go: one folder per browser session.

    store = OutputStore(work / "runs", Retention())
    with store.event(session_hash, "generate") as event:
        folder = event.new_folder()      # write the run's files here
        ...
        event.delivered()                # the page now shows this event's files in place of the last ones

A page can only fetch the files it shows, and in each slot ("generate", "compare", "save") it shows
those of its newest delivered event (plus, after a failed event, whatever that event showed early).
So the rules are:

- an event's folders are never deleted while the event runs;
- when a session starts an event, the folders of its earlier events that a later delivered event of
  the same slot has replaced are deleted (the page no longer shows them);
- when the page closes (gradio's ``unload``) the session is marked closed and removed once it has
  been closed for ``closed_grace_s`` (a page that reconnects with the same session keeps its files);
- a session with no activity for ``idle_s`` (gradio deletes uploads at the same age) is removed;
- over ``max_bytes`` in all, closed sessions go first (oldest closed first), then replaced events of
  open sessions; what an open page shows is never removed (the cap is then exceeded, with a warning).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

log = logging.getLogger("genmo.studio")


@dataclass(frozen=True)
class Retention:
    """How long results stay: total cap (bytes), grace after a page closes and idle age (seconds)."""

    max_bytes: int = 2 * 1024**3
    closed_grace_s: float = 300.0
    idle_s: float = 12 * 3600.0


@dataclass
class _Event:
    slot: str
    folders: list[Path] = field(default_factory=list)
    running: bool = True
    delivered: bool = False


@dataclass
class _Session:
    folder: Path
    last_active: float
    events: list[_Event] = field(default_factory=list)
    closed_at: float | None = None

    @property
    def running(self) -> bool:
        return any(e.running for e in self.events)

    def replaced(self) -> list[_Event]:
        """Finished events that a later delivered event of the same slot has replaced in the page."""
        newest: dict[str, int] = {}
        for i, e in enumerate(self.events):
            if e.delivered:
                newest[e.slot] = i
        return [e for i, e in enumerate(self.events) if not e.running and i < newest.get(e.slot, -1)]


class OutputStore:
    """The studio's result folders, ``root/<session>/<run>/``, kept while a page may fetch them."""

    def __init__(self, root: Path, retention: Retention = Retention(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.root = Path(root)
        self.retention = retention
        self.clock = clock
        self.evicted = 0  # folders removed so far (sessions and events), for logs and tests
        self._sessions: dict[str, _Session] = {}
        self._warned = False
        self._lock = threading.RLock()
        self.root.mkdir(parents=True, exist_ok=True)

    def event(self, session: str | None, slot: str) -> OutputEvent:
        """Start an event of ``session`` (gradio's session hash) in ``slot``; use it as a context manager."""
        with self._lock:
            now = self.clock()
            state = self._session(session or "default", now)
            state.closed_at = None  # a page that reconnects is open again
            state.last_active = now
            for old in state.replaced():
                self._remove_event(state, old)
            event = _Event(slot)
            state.events.append(event)
            self._sweep(now)
        return OutputEvent(self, state, event)

    def close(self, session: str | None) -> None:
        """The page of ``session`` closed: its files go after the grace period (or sooner under the cap)."""
        with self._lock:
            state = self._sessions.get(_key(session or "default"))
            if state is not None and state.closed_at is None:
                state.closed_at = self.clock()
            self._sweep(self.clock())

    def sweep(self) -> None:
        """Remove expired sessions and enforce the cap now (events and closes do this too)."""
        with self._lock:
            self._sweep(self.clock())

    def sweep_every(self, period_s: float, stop: threading.Event | None = None) -> None:
        """Sweep every ``period_s`` seconds until ``stop`` is set (run it in a daemon thread), so a
        closed page's files go after the grace period even when nothing else happens."""
        stop = stop or threading.Event()
        while not stop.wait(period_s):
            self.sweep()

    def disk_bytes(self) -> int:
        """Bytes of every file under the root."""
        return folder_bytes(self.root)

    @property
    def sessions(self) -> int:
        """Sessions that still have a folder."""
        return len(self._sessions)

    # -- internals (call with the lock held) -----------------------------------------------
    def _session(self, session: str, now: float) -> _Session:
        key = _key(session)
        if key not in self._sessions:
            self._sessions[key] = _Session(self.root / key, now)
        return self._sessions[key]

    def _new_folder(self, state: _Session, event: _Event) -> Path:
        with self._lock:
            folder = state.folder / f"run-{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:6]}"
            folder.mkdir(parents=True)
            event.folders.append(folder)
            state.last_active = self.clock()
            return folder

    def _finish(self, state: _Session, event: _Event) -> None:
        with self._lock:
            event.running = False
            state.last_active = self.clock()
            self._sweep(state.last_active)

    def _sweep(self, now: float) -> None:
        r = self.retention
        for key, state in list(self._sessions.items()):
            if state.running:
                continue
            closed_long = state.closed_at is not None and now - state.closed_at >= r.closed_grace_s
            if closed_long or now - state.last_active >= r.idle_s:
                self._remove_session(key)
        total = self.disk_bytes()
        for folders, remove in self._evictable() if total > r.max_bytes else []:
            total -= sum(folder_bytes(f) for f in folders)
            remove()
            if total <= r.max_bytes:
                break
        over = total > r.max_bytes
        if over and not self._warned:  # once per stretch over the cap
            log.warning("studio results use %.1f MiB, over the %.1f MiB cap: %d open page(s) still show them",
                        total / 2**20, r.max_bytes / 2**20, len(self._sessions))
        self._warned = over

    def _evictable(self) -> list[tuple[list[Path], Callable[[], None]]]:
        """What the cap may remove, in order: closed sessions (oldest closed first), then replaced events."""
        closed = sorted(((s.closed_at, k) for k, s in self._sessions.items()
                         if s.closed_at is not None and not s.running))
        out: list[tuple[list[Path], Callable[[], None]]] = [
            ([self._sessions[k].folder], functools.partial(self._remove_session, k)) for _, k in closed]
        for state in sorted((s for s in self._sessions.values() if s.closed_at is None), key=lambda s: s.last_active):
            out += [(e.folders, functools.partial(self._remove_event, state, e)) for e in state.replaced()]
        return out

    def _remove_event(self, state: _Session, event: _Event) -> None:
        for folder in event.folders:
            shutil.rmtree(folder, ignore_errors=True)
            self.evicted += 1
        state.events.remove(event)

    def _remove_session(self, key: str) -> None:
        state = self._sessions.pop(key)
        shutil.rmtree(state.folder, ignore_errors=True)
        self.evicted += 1


class OutputEvent:
    """One event's claim on its session's folder: new run folders, delivery, and its end."""

    def __init__(self, store: OutputStore, state: _Session, event: _Event) -> None:
        self._store, self._state, self._event = store, state, event

    def new_folder(self) -> Path:
        """A fresh, empty run folder of this event."""
        return self._store._new_folder(self._state, self._event)

    def delivered(self) -> None:
        """This event's files now replace the slot's earlier ones in the page."""
        self._event.delivered = True

    def end(self) -> None:
        """The event is over (its folders may go once replaced); idempotent."""
        if self._event.running:
            self._store._finish(self._state, self._event)

    def __enter__(self) -> OutputEvent:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.end()


def _key(session: str) -> str:
    """A folder name for a session hash (which the browser chooses, so it is never used as a path)."""
    return "s-" + hashlib.sha256(session.encode("utf-8", "replace")).hexdigest()[:16]


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (files that vanish while counting count as 0)."""
    total = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(parent, name)).st_size
            except OSError:
                pass
    return total


def remove_older_than(parent: Path, age_s: float) -> int:
    """Delete sub-folders of ``parent`` not modified for ``age_s`` seconds; return how many went."""
    if not parent.is_dir():
        return 0
    cutoff = time.time() - age_s
    old = [p for p in parent.iterdir() if p.is_dir() and p.stat().st_mtime < cutoff]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return len(old)
