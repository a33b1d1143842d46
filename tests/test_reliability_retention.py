"""Results never vanish under a churn of clients: every page downloads every result it was shown
while eviction runs all the time (a 1-byte disk cap, no grace after a page closes).

Four client threads each run three gradio_client sessions one after another (a page opens, makes
two generations, closes), on an in-process studio with the tiny random model. In each round every
page generates, then every page saves a project (each save is an eviction pass over all sessions),
and only then does every page download all the files of its generation over HTTP. Barriers order
the steps, so the check does not depend on how fast anything runs. Before the fix, other users'
runs pruned the run folders and gradio's cache clean-up aged out outputs mid-download
(FileNotFoundError in starlette's file response, a truncated download on the client).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
pytestmark = pytest.mark.slow
gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
httpx = pytest.importorskip("httpx")

THREADS, PAGES_PER_THREAD, ROUNDS_PER_PAGE = 4, 3, 2
HANG_GUARD_S = 600  # a bound against a hang only
SPEC = {"version": 1, "fps": 30, "duration": 1.0, "sampler": {"steps": 1, "guidance": 0.0, "seed": 0},
        "tracks": [{"kind": "keyframe", "time": 0.5, "path": "library:arms_up", "frame": 0}]}


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from app.outputs import Retention
    from app.studio import build_studio, launch_kwargs
    from genmo.pipeline import GenmoPipeline

    work = tmp_path_factory.mktemp("studio")
    demo = build_studio(pipeline=GenmoPipeline.tiny_random(), work_dir=work,
                        retention=Retention(max_bytes=1, closed_grace_s=0, idle_s=24 * 3600))
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                            **launch_kwargs(work))
    yield url, demo.genmo_outputs
    demo.close()


def _files(outputs) -> list[dict]:
    """Every file of a /generate result (FileData dicts with the server path and URL)."""
    found: list[dict] = []

    def walk(value):
        if isinstance(value, dict) and value.get("url") and value.get("path"):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(outputs)
    return found


def _fetch(http: httpx.Client, file: dict) -> tuple[int, int]:
    """(HTTP status, bytes received) of one full download; a connection cut mid-way raises."""
    with http.stream("GET", file["url"]) as response:
        received = sum(len(chunk) for chunk in response.iter_bytes())
        if response.status_code == 200 and "content-length" in response.headers:
            assert received == int(response.headers["content-length"]), file["url"]
        return response.status_code, received


def test_every_result_downloads_while_eviction_runs(studio):
    url, store = studio
    rounds = PAGES_PER_THREAD * ROUNDS_PER_PAGE
    generated, saved, downloaded = threading.Barrier(THREADS, timeout=HANG_GUARD_S), \
        threading.Barrier(THREADS, timeout=HANG_GUARD_S), threading.Barrier(THREADS, timeout=HANG_GUARD_S)
    failures: list[str] = []
    counts = {"files": 0, "bytes": 0, "replaced": 0, "replaced_gone": 0}
    lock = threading.Lock()

    def page_thread(index: int) -> None:
        http = httpx.Client(timeout=HANG_GUARD_S)
        client, previous = None, []
        try:
            for r in range(rounds):
                if r % ROUNDS_PER_PAGE == 0:  # churn: this page closes, a new one opens
                    if client is not None:
                        client.close()
                    client, previous = gradio_client.Client(url, verbose=False, download_files=False), []
                outputs = client.predict(SPEC, 1, 0.0, index * 100 + r, False, 1, False, api_name="/generate")
                files = _files(outputs)
                if "Done in" not in str(outputs[7]) or not files:
                    failures.append(f"page {index} round {r}: {str(outputs[7])[:200]}")
                generated.wait()
                client.predict(SPEC, api_name="/save_project")  # an eviction pass, after every page has its result
                saved.wait()
                for file in files:
                    status, size = _fetch(http, file)
                    with lock:
                        counts["files"] += 1
                        counts["bytes"] += size
                    if status != 200 or size == 0:
                        failures.append(f"page {index} round {r}: {Path(file['path']).name} -> HTTP {status}, {size} B")
                for file in previous:  # the page no longer shows these: they went at this round's save
                    with lock:
                        counts["replaced"] += 1
                        counts["replaced_gone"] += not Path(file["path"]).exists()
                previous = files
                downloaded.wait()
        except Exception as err:  # recorded; a broken barrier releases the other threads
            failures.append(f"page {index}: {type(err).__name__}: {err}")
            for barrier in (generated, saved, downloaded):
                barrier.abort()
        finally:
            if client is not None:
                client.close()
            http.close()

    threads = [threading.Thread(target=page_thread, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD_S * 3)
    print(f"{THREADS * rounds} generations by {THREADS * PAGES_PER_THREAD} pages: {counts['files']} files "
          f"({counts['bytes'] / 2**20:.1f} MiB) downloaded, {store.evicted} folders evicted, "
          f"{counts['replaced_gone']} of {counts['replaced']} replaced files gone")
    assert not failures, failures[:5]
    assert counts["files"] >= THREADS * rounds * 3  # npz, glb, mp4 (and the mask plot) of every generation
    assert store.evicted >= THREADS * rounds  # eviction really ran during the churn
    assert counts["replaced"] > 0 and counts["replaced_gone"] == counts["replaced"]

    pause = threading.Event()
    for _ in range(HANG_GUARD_S):  # every page closed: gradio's unload reaches the store (asynchronously)
        store.sweep()
        if store.sessions == 0:
            break
        pause.wait(1.0)
    assert store.sessions == 0 and store.disk_bytes() == 0
