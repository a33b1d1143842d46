"""The studio's result retention (app.outputs): what a page shows stays, what it no longer shows goes.

A fake clock drives every age, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

from pathlib import Path

from app.outputs import OutputStore, Retention, remove_older_than


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(store: OutputStore, session: str, slot: str = "generate", size: int = 10, deliver: bool = True) -> Path:
    """One finished event with one run folder holding a ``size``-byte file; returns the folder."""
    with store.event(session, slot) as event:
        folder = event.new_folder()
        (folder / "motion.glb").write_bytes(b"x" * size)
        if deliver:
            event.delivered()
    return folder


def test_a_session_keeps_what_its_page_shows_and_drops_what_it_replaced(tmp_path):
    store = OutputStore(tmp_path / "runs", Retention(), Clock())
    first = _run(store, "a")
    second = _run(store, "a")
    assert first.is_dir() and second.is_dir()  # the page may still be fetching the first until the next event
    compare = _run(store, "a", slot="compare")
    assert not first.is_dir() and second.is_dir() and compare.is_dir()  # other slots are not replaced
    failed = _run(store, "a", deliver=False)  # a failed run may have shown its 3D preview: it stays
    _run(store, "a", slot="save")
    assert second.is_dir() and failed.is_dir()
    third = _run(store, "a")
    _run(store, "a", slot="save")
    assert not second.is_dir() and not failed.is_dir() and third.is_dir() and compare.is_dir()


def test_other_sessions_never_remove_what_a_page_shows(tmp_path):
    store = OutputStore(tmp_path / "runs", Retention(max_bytes=1), Clock())  # always over the cap
    mine = _run(store, "mine")
    for i in range(20):
        _run(store, f"other-{i}")
        store.close(f"other-{i}")
    assert mine.is_dir() and (mine / "motion.glb").stat().st_size == 10
    assert store.sessions == 1 and store.evicted >= 20  # the closed pages' files went at once under the cap


def test_a_running_event_is_never_removed(tmp_path):
    clock = Clock()
    store = OutputStore(tmp_path / "runs", Retention(max_bytes=1, closed_grace_s=0, idle_s=5), clock)
    with store.event("a", "generate") as event:
        folder = event.new_folder()
        (folder / "render.mp4").write_bytes(b"y" * 100)
        store.close("a")  # the page closed mid-generation
        clock.now += 3600
        _run(store, "b")
        store.sweep()
        assert folder.is_dir()
    assert not folder.exists()  # once it ended, the closed session went


def test_closed_pages_keep_their_files_for_the_grace_period_then_go(tmp_path):
    clock = Clock()
    store = OutputStore(tmp_path / "runs", Retention(closed_grace_s=60, idle_s=10_000), clock)
    folder = _run(store, "a")
    store.close("a")
    clock.now += 59
    store.sweep()
    assert folder.is_dir()
    _run(store, "a", slot="save")  # the page reconnected: open again
    clock.now += 120
    store.sweep()
    assert folder.is_dir()
    store.close("a")
    clock.now += 60
    store.sweep()
    assert not folder.parent.exists() and store.sessions == 0


def test_idle_sessions_go_and_the_cap_evicts_closed_ones_oldest_first(tmp_path):
    clock = Clock()
    store = OutputStore(tmp_path / "runs", Retention(max_bytes=250, closed_grace_s=10_000, idle_s=500), clock)
    folders = {}
    for name in ("old", "mid", "new"):
        folders[name] = _run(store, name, size=100)
        store.close(name)
        clock.now += 1
    assert not folders["old"].exists() and folders["mid"].is_dir() and folders["new"].is_dir()  # 300 > 250
    open_page = _run(store, "open", size=100)
    assert not folders["mid"].exists() and folders["new"].is_dir() and open_page.is_dir()
    clock.now += 500
    store.sweep()
    assert not open_page.exists() and store.sessions == 0 and store.disk_bytes() == 0


def test_session_folders_are_not_named_by_the_browser(tmp_path):
    store = OutputStore(tmp_path / "runs", Retention(), Clock())
    folder = _run(store, "../../etc")
    assert folder.resolve().is_relative_to((tmp_path / "runs").resolve())
    assert folder.parent.name.startswith("s-") and ".." not in folder.parent.name


def test_remove_older_than(tmp_path):
    import os

    old, new = tmp_path / "p" / "old", tmp_path / "p" / "new"
    old.mkdir(parents=True)
    new.mkdir()
    os.utime(old, (1.0, 1.0))
    assert remove_older_than(tmp_path / "p", 3600) == 1
    assert not old.exists() and new.is_dir()
    assert remove_older_than(tmp_path / "missing", 1) == 0
