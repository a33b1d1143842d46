"""The studio's callbacks through gradio_client against a launched app (tiny random pipeline, no browser)."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
pytestmark = pytest.mark.slow  # launches a server (about 10 s) and renders videos
gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from app.studio import build_studio, launch_kwargs
    from genmo.pipeline import GenmoPipeline

    work = tmp_path_factory.mktemp("studio")
    demo = build_studio(pipeline=GenmoPipeline.tiny_random(), work_dir=work)
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                            **launch_kwargs(work))
    client = gradio_client.Client(url, verbose=False)
    yield client, work
    client.close()
    demo.close()


def _value(output):
    """A component update's value (gradio_client returns gr.update dicts as they are)."""
    return output.get("value") if isinstance(output, dict) and output.get("__type__") == "update" else output


def _load(client, name: str) -> dict:
    spec, *_rest = client.predict(api_name=f"/example_{name}")
    assert isinstance(spec, str)  # the timeline travels as JSON text
    return json.loads(spec)


def test_text_example_generates_an_mp4_and_an_npz(studio):
    client, _ = studio
    spec = _load(client, "text_only")
    assert spec["tracks"][0]["kind"] == "text"
    outputs = client.predict(spec, 5, 2.5, 3, False, 1, True, api_name="/generate")
    video, overlay, _s2, _s3, masks, glb, files, msg, seed = (_value(o) for o in outputs)
    mp4 = Path(video)
    assert mp4.suffix == ".mp4" and mp4.stat().st_size > 1000
    npz = next(Path(f) for f in files if str(f).endswith(".npz"))
    with np.load(npz, allow_pickle=False) as data:
        assert data["poses"].shape == (int(spec["duration"] * 30), 72)
    assert glb and Path(glb).suffix == ".glb"
    assert masks and Path(masks).suffix == ".png"
    assert "Done in" in msg and seed == 3


def test_3d_view_arrives_before_the_video(studio):
    client, _ = studio
    job = client.submit(_load(client, "text_only"), 1, 2.5, 5, False, 1, False, api_name="/generate")
    job.result()
    started, first, last = job.outputs()
    assert "Generating" in _value(started[7])  # said at once, before anything is computed
    *_, glb, files, msg, seed = (_value(o) for o in first)
    assert Path(glb).suffix == ".glb" and Path(glb).stat().st_size > 1000
    alpha, beta, radius = first[5]["camera_position"]  # the orbit that fits the whole motion (genmo.export.framing)
    assert (alpha, beta) == (90.0, 75.0) and radius > 1.0
    assert "3D motion ready" in msg and "rendering the video" in msg and seed == 5
    assert not any(str(f).endswith(".mp4") for f in files)
    assert _value(last[0]).endswith(".mp4") and _value(last[5]) == glb and "Done in" in _value(last[7])


def test_bad_timeline_shows_an_error_and_no_traceback(studio):
    client, _ = studio
    spec = _load(client, "text_only")
    spec["tracks"].append({"kind": "music", "start": 1.0, "end": 2.0, "path": "/etc/passwd.wav", "offset": 0.0})
    *_, msg, _seed = client.predict(spec, 5, 2.5, 0, False, 1, False, api_name="/generate")
    assert "genmo-msg error" in msg and "Music clip #2" in msg and "Traceback" not in msg
    spec["tracks"] = [{"kind": "text", "start": 3.0, "end": 1.0, "text": "<script>alert(1)</script>"}]
    *_, msg, _seed = client.predict(spec, 5, 2.5, 0, False, 1, False, api_name="/generate")
    assert "end 1 must be greater than start 3" in msg


def test_empty_timeline_generates_unconditionally_and_says_so(studio):
    client, _ = studio
    spec = {"version": 1, "fps": 30, "duration": 1.0, "sampler": {"steps": 1, "guidance": 0, "seed": 0}, "tracks": []}
    *_, msg, _seed = client.predict(spec, 1, 0.0, 0, False, 1, False, api_name="/generate")
    assert "unconditional" in msg


def test_status_check_and_duration_fit(studio):
    client, _ = studio
    spec = _load(client, "two_prompts")
    assert "2 text clips" in client.predict(spec, api_name="/check")
    spec["tracks"][0]["end"] = 99.0
    assert "outside the timeline" in client.predict(spec, api_name="/check")
    fitted = json.loads(client.predict(json.dumps(_load(client, "two_prompts")), 5.0, 30, api_name="/set_duration"))
    assert fitted["duration"] == 5.0 and [t["end"] for t in fitted["tracks"]] == [4.0, 5.0]


def test_project_round_trip_bundles_media(studio, tmp_path):
    from app.examples import load_example

    client, _ = studio
    spec = load_example("text_then_music")
    saved, msg = client.predict(json.dumps(spec), api_name="/save_project")
    assert "saved" in msg
    with zipfile.ZipFile(saved) as zf:
        names = zf.namelist()
        inner = json.loads(zf.read("timeline.json"))
    assert "timeline.json" in names and any(n.startswith("media/") and n.endswith(".ogg") for n in names)
    assert inner["tracks"][1]["path"].startswith("media/")
    loaded, *_rest, note = client.predict(gradio_client.handle_file(saved), api_name="/load_project")
    loaded = json.loads(loaded)
    assert len(loaded["tracks"]) == 2 and loaded["tracks"][0]["text"] == "a person bows"
    unpacked = list(Path(studio[1], "projects").glob("*/media/*.ogg"))
    assert len(unpacked) == 1 and unpacked[0].stat().st_size > 1000
    assert "Loaded" in note


@pytest.mark.parametrize("name", ["inbetweening", "mix", "video_estimation"])
def test_examples_with_media_and_library_poses_survive_a_plain_client(studio, name):
    """Tracks with a "path" come back as server paths and library names, not as downloaded files."""
    from app.examples import load_example

    client, _ = studio
    spec = _load(client, name)
    assert spec["tracks"] == load_example(name)["tracks"]
    assert any(str(t.get("path", "")).startswith(("library:", "/")) for t in spec["tracks"])
    assert "clip" in client.predict(json.dumps(spec), api_name="/check")


def test_the_timeline_api_names_bad_json(studio):
    client, _ = studio
    with pytest.raises(gradio_client.exceptions.AppError, match="not valid JSON"):
        client.predict("{not json", api_name="/check")


def test_api_client_example_saves_the_npz(studio, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("api_client", Path(__file__).parents[1] / "examples" / "api_client.py")
    api_client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api_client)
    client, _ = studio
    note = api_client.generate(client.src, tmp_path / "ib.npz", example="inbetweening", steps=1)
    with np.load(tmp_path / "ib.npz", allow_pickle=False) as data:
        assert data["poses"].shape == (4 * 30, 72)
    assert "Done in" in note
    timeline = tmp_path / "mine.json"
    timeline.write_text(json.dumps({"version": 1, "fps": 30, "duration": 2.0, "sampler": {"steps": 1, "guidance": 0, "seed": 0},
                                    "tracks": [{"kind": "keyframe", "time": 1.0, "path": "pose.npz", "frame": 0}]}))
    shutil.copyfile(Path(__file__).parents[1] / "examples" / "media" / "squat_pose.npz", tmp_path / "pose.npz")
    api_client.generate(client.src, tmp_path / "mine.npz", timeline=timeline)
    with np.load(tmp_path / "mine.npz", allow_pickle=False) as data:
        assert data["poses"].shape == (60, 72)
    assert api_client.main([client.src, "--timeline", str(tmp_path / "absent.json")]) == 2


def test_project_with_parent_paths_is_refused(studio, tmp_path):
    client, _ = studio
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("timeline.json", "{}")
        zf.writestr("../escape.wav", b"x")
    *_rest, note = client.predict(gradio_client.handle_file(str(bad)), api_name="/load_project")
    assert "refusing member name with &#x27;..&#x27;" in note


def test_compare_three_step_counts(studio):
    from app.examples import load_example

    client, _ = studio
    spec = load_example("text_only")
    spec["duration"] = 1.0
    spec["tracks"][0]["end"] = 1.0
    *videos, table = client.predict(spec, "DDIM steps 1 / 5 / 50", 5, 2.5, 0, api_name="/compare")
    paths = [Path(_value(v)) for v in videos]
    assert all(p.suffix == ".mp4" and p.is_file() for p in paths) and len(set(paths)) == 3
    assert all(f"{n} step" in table for n in (1, 5, 50)) and "sampling s" in table


def test_compare_raw_and_smoothed_output(studio):
    from app.examples import load_example

    client, _ = studio
    spec = load_example("text_only")
    spec["duration"] = 1.0
    spec["tracks"][0]["end"] = 1.0
    *videos, table = client.predict(spec, "raw / smoothed output", 2, 2.5, 0, api_name="/compare")
    shown = [_value(v) for v in videos if _value(v)]
    assert len(shown) == 2 and all(Path(p).suffix == ".mp4" for p in shown)
    assert "raw sampler output" in table and "smoothing 2 frames" in table
