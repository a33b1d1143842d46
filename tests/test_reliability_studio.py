"""Faults in the studio: a crash inside one request, cancelling mid-way, no offscreen renderer,
a missing or corrupt checkpoint, and bounded result folders. Driven through gradio_client on
loopback (127.0.0.1) against an in-process server with the tiny random model. Nothing here
depends on timing: waits are on events, each bounded only as a guard against a hang.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
pytestmark = pytest.mark.slow  # launches a server and renders videos
gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

SHORT = {"version": 1, "fps": 30, "duration": 1.0, "sampler": {"steps": 1, "guidance": 0.0, "seed": 0},
         "tracks": [{"kind": "keyframe", "time": 0.5, "path": "library:squat", "frame": 0}]}


HANG_GUARD_S = 300  # only a bound against a hang: every wait below ends as soon as its event happens


class FaultyPipeline:
    """The tiny random pipeline, with switches: raise inside the next call, or hold the next call in
    its progress steps until it is cancelled (``stopped`` is then set) or ``release`` is set."""

    def __init__(self) -> None:
        from genmo.pipeline import GenmoPipeline

        self.inner = GenmoPipeline.tiny_random()
        self.fail_next = False
        self.hold = False
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.release = threading.Event()

    def __call__(self, spec, progress=None, **kwargs):
        from app.generation import GenerationCancelled

        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("forced failure inside the request")
        if self.hold:
            self.started.set()
            try:
                while not self.release.wait(0.05):
                    if progress is not None:
                        progress("sampling", 1, 2)  # raises GenerationCancelled after Cancel
            except GenerationCancelled:
                self.stopped.set()
                raise
        return self.inner(spec, progress=progress, **kwargs)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from app.studio import build_studio, launch_kwargs

    work = tmp_path_factory.mktemp("studio")
    pipe = FaultyPipeline()
    demo = build_studio(pipeline=pipe, work_dir=work)
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                            **launch_kwargs(work))
    client = gradio_client.Client(url, verbose=False)
    yield client, pipe, work
    pipe.release.set()
    client.close()
    demo.close()


def _value(output):
    return output.get("value") if isinstance(output, dict) and output.get("__type__") == "update" else output


def generate(client, spec=SHORT, steps=1):
    """(video path or None, glb, files, message) of one /generate call."""
    video, _overlay, _s2, _s3, _masks, glb, files, msg, _seed = (
        _value(o) for o in client.predict(spec, steps, 0.0, 0, False, 1, False, api_name="/generate"))
    return video, glb, files, msg


def test_a_crash_inside_one_request_leaves_the_server_up(studio, monkeypatch):
    client, pipe, _ = studio
    pipe.fail_next = True
    _, _, _, msg = generate(client)
    assert "Generation failed (RuntimeError: forced failure inside the request)" in msg
    assert "timeline is unchanged" in msg and "Traceback" not in msg

    import app.studio

    def broken(*_args, **_kwargs):
        raise KeyError("a bug outside any try block")

    monkeypatch.setattr(app.studio, "describe", broken)  # /check has no handler of its own
    with pytest.raises(Exception):
        client.predict(SHORT, api_name="/check")
    monkeypatch.undo()
    assert "1 keyframe clip" in client.predict(SHORT, api_name="/check")
    video, glb, _, msg = generate(client)
    assert "Done in" in msg and Path(video).stat().st_size > 1000 and Path(glb).is_file()


def test_cancel_mid_generation_leaves_the_studio_usable(studio):
    client, pipe, _ = studio
    pipe.hold = True  # the next generation runs until it is cancelled
    for event in (pipe.started, pipe.stopped, pipe.release):
        event.clear()
    try:
        job = client.submit(SHORT, 1, 0.0, 0, False, 1, False, api_name="/generate")
        assert pipe.started.wait(HANG_GUARD_S), "the generation never started"
        assert "Cancelled" in client.predict(api_name="/cancel")
        assert pipe.stopped.wait(HANG_GUARD_S), "the worker did not stop at its next progress step after Cancel"
        try:
            job.result(timeout=HANG_GUARD_S)
        except Exception:  # gradio may report the cancelled job as an error on the client side
            pass
    finally:
        pipe.hold = False
        pipe.release.set()
    video, _, _, msg = generate(client)
    assert "Done in" in msg and Path(video).is_file()


@pytest.mark.parametrize("how", ["import", "init"])
def test_no_offscreen_renderer_still_gives_the_3d_view_and_says_why(studio, monkeypatch, how):
    client, _, _ = studio
    import genmo.render
    import genmo.render.motion_video

    if how == "import":
        def no_gl(*_args, **_kwargs):
            raise ImportError("Unable to load OpenGL library: OSMesa (libOSMesa.so.8) not found")

        monkeypatch.setattr(genmo.render, "render_motion", no_gl)
    else:
        class NoContext:
            def __init__(self, *_args, **_kwargs):
                raise RuntimeError("OSMesaCreateContext failed")

        monkeypatch.setattr(genmo.render.motion_video, "BodyRenderer", NoContext)
    video, glb, files, msg = generate(client)
    assert video is None
    assert glb and Path(glb).suffix == ".glb" and Path(glb).stat().st_size > 1000
    assert "no video: offscreen rendering is unavailable" in msg and "3D viewer" in msg
    assert "OSMesa" in msg and "genmo-msg ok" in msg
    assert any(str(f).endswith(".npz") for f in files) and not any(str(f).endswith(".mp4") for f in files)
    _, _, _, compare_table = (_value(o) for o in client.predict(SHORT, "three seeds", 1, 0.0, 0, api_name="/compare"))
    assert "no video: offscreen rendering is unavailable" in compare_table


def test_a_session_keeps_only_the_runs_its_page_may_show(studio):
    _, _, work = studio
    client = gradio_client.Client(studio[0].src, verbose=False)  # a page of its own
    try:
        before = {p for p in (work / "runs").iterdir()}
        results = [generate(client) for _ in range(6)]
        (session,) = {p for p in (work / "runs").iterdir()} - before
        runs = sorted(p for p in session.iterdir() if p.is_dir())
        assert len(runs) == 2  # the result the page shows and the one before it (fetches may still be running)
        video, glb, _, msg = results[-1]
        assert "Done in" in msg and Path(video).is_file() and Path(glb).is_file()
    finally:
        client.close()


def test_generator_files_stay_bounded_over_50_generations(tmp_path):
    from app.generation import Generator, RunSettings
    from app.outputs import OutputStore
    from genmo.pipeline import GenmoPipeline

    gen = Generator(pipeline=GenmoPipeline.tiny_random())
    store = OutputStore(tmp_path / "runs")
    spec = dict(SHORT, duration=0.5, tracks=[])
    counts = []
    for i in range(50):
        with store.event("one page", "generate") as event:
            gen.run(spec, RunSettings(1, 0.0, i), event.new_folder(), render=i % 10 == 0, export_glb=i % 10 == 0)
            event.delivered()
        counts.append(sum(1 for p in (tmp_path / "runs").rglob("*") if p.is_file()))
    runs = [p for p in (tmp_path / "runs").rglob("run-*") if p.is_dir()]
    print(f"files in the run folders after each of 50 generations: max {max(counts)}, last {counts[-1]}")
    assert len(runs) == 2
    assert max(counts) <= 2 * 5  # npz, glb, mp4, png, bvh per run


def _checkpoint_cases(root: Path) -> dict[str, Path]:
    from tests.test_security_media import tiny_checkpoint

    good = tiny_checkpoint(root / "good")
    corrupt_weights = tiny_checkpoint(root / "corrupt_weights")
    (corrupt_weights / "model.safetensors").write_bytes(b"\x00\x01 not safetensors" * 10)
    corrupt_config = tiny_checkpoint(root / "corrupt_config")
    (corrupt_config / "config.json").write_text("{ truncated")
    truncated = tiny_checkpoint(root / "truncated")
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    return {"good": good, "missing": root / "nowhere", "corrupt_weights": corrupt_weights,
            "corrupt_config": corrupt_config, "truncated": truncated}


def _banner(demo) -> str | None:
    for block in demo.blocks.values():
        if getattr(block, "elem_id", None) == "model-banner":
            return str(block.value)
    return None


def test_missing_or_corrupt_checkpoint_falls_back_with_one_banner(tmp_path, caplog):
    from app.studio import build_studio

    for name, folder in _checkpoint_cases(tmp_path).items():
        caplog.clear()
        demo = build_studio(checkpoint=folder, work_dir=tmp_path / f"work_{name}")
        banner = _banner(demo)
        warnings = [r.getMessage() for r in caplog.records if r.name == "genmo.studio" and r.levelname == "WARNING"]
        if name == "good":
            assert banner is None and not warnings
            continue
        assert banner is not None and "using the tiny untrained model" in banner, name
        assert ("no checkpoint at" if name == "missing" else "could not be loaded") in banner, (name, banner)
        assert len(warnings) == 1 and "\n" not in warnings[0], (name, warnings)
