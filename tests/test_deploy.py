"""Deploy the way users deploy, each into a fresh virtualenv (slow: each installs everything it needs).

- As a Hugging Face Space: the apt packages of packages.txt are assumed installed (CI's machine has
  them); ``pip install -r requirements.txt`` and nothing else; ``python app.py``; then plain
  gradio_client calls generate from text, render an mp4, estimate from a video and mix music.
- As a library: ``pip install .``, then ``genmo generate`` from another folder finds the shipped
  checkpoint, body model and examples.

Both copy the repository's files (as a clone would have them) into a temporary folder. pip uses
its usual cache. PIP_RETRIES=1: on a machine that reaches only PyPI, PyTorch's CPU index (named in
requirements.txt) then fails fast for each package instead of after five backed-off retries.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
PYTHON = shutil.which("python3.11") or sys.executable
INSTALL_TIMEOUT_S = 1800
SERVER_START_S = 300


def _env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of this test run's Python settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PYOPENGL", "GENMO"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PIP_RETRIES="1", **extra)
    return env


def _copy_repo(dest: Path) -> Path:
    """The repository's tracked and unignored files, as a fresh clone has them."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _venv(path: Path) -> Path:
    subprocess.run([PYTHON, "-m", "venv", str(path)], check=True, env=_env())
    return path / "bin" / "python"


def _pip(python: Path, *args: str, cwd: Path) -> None:
    result = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], cwd=cwd, env=_env(),
                            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    check = subprocess.run([str(python), "-m", "pip", "check"], env=_env(), capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"python app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(2)
    pytest.fail(f"the studio did not answer within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def _streams(mp4: str) -> str:
    import imageio_ffmpeg

    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", mp4], capture_output=True, text=True)
    return probe.stderr


def _install_library(root: Path) -> Path:
    """``pip install .`` of a copy of the repository into a fresh virtualenv; the source copy is then removed."""
    repo = _copy_repo(root / "repo")
    python = _venv(root / "venv")
    _pip(python, str(repo), cwd=root)
    shutil.rmtree(repo)  # nothing may come from the source tree
    return python


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The library install, started in the background as soon as the module needs it.

    The Space's install cannot share its virtualenv (the plain library must lack the render extras), so
    the two installs run side by side instead of one after the other."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(_install_library, tmp_path_factory.mktemp("library"))


@pytest.fixture(scope="module")
def space(tmp_path_factory, library):
    """A Space built from the repository's own files; yields its gradio_client.Client."""
    gradio_client = pytest.importorskip("gradio_client")
    root = tmp_path_factory.mktemp("space")
    repo = _copy_repo(root / "repo")
    python = _venv(root / "venv")
    _pip(python, "-r", "requirements.txt", cwd=repo)
    port = _free_port()
    log = root / "app.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(python), "app.py"], cwd=repo, stdout=out, stderr=subprocess.STDOUT,
                                env=_env(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
                                         GRADIO_ANALYTICS_ENABLED="False", HOME=str(root)))
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, proc, log)
        client = gradio_client.Client(url, verbose=False)
        yield client, log
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _generate(client, example: str) -> tuple[dict, list, str, str | None]:
    spec_json, *_rest = client.predict(api_name=f"/example_{example}")
    spec = json.loads(spec_json)
    s = spec["sampler"]
    video, overlay, _s2, _s3, _masks, _glb, files, msg, _seed = (
        o.get("value") if isinstance(o, dict) and o.get("__type__") == "update" else o
        for o in client.predict(spec_json, s["steps"], s["guidance"], s["seed"], False, 1, False, api_name="/generate"))
    assert "genmo-msg ok" in msg and "Done in" in msg and "no video" not in msg, msg
    assert video and Path(video).suffix == ".mp4" and Path(video).stat().st_size > 10_000
    npz = next(f for f in files if str(f).endswith(".npz"))
    with np.load(npz, allow_pickle=False) as data:
        assert data["poses"].shape == (round(spec["duration"] * 30), 72)
    return spec, files, video, overlay


def test_space_generates_from_text_and_renders_an_mp4(space):
    client, _ = space
    _spec, files, video, _ = _generate(client, "text_only")
    assert "Video: h264" in _streams(video) and any(str(f).endswith(".glb") for f in files)


def test_space_estimates_from_a_video(space):
    client, _ = space
    _spec, _files, _video, overlay = _generate(client, "video_estimation")
    assert overlay and Path(overlay).stat().st_size > 10_000  # the estimated body drawn over the clip


def test_space_mixes_music_into_the_video(space):
    client, log = space
    _spec, _files, video, _ = _generate(client, "text_then_music")
    assert "Audio:" in _streams(video)
    assert "rendering failed" not in log.read_text()


def test_pip_install_gives_a_working_genmo_generate(library: Future, tmp_path):
    python = library.result()
    work = tmp_path / "work"
    work.mkdir()
    spec = {"version": 1, "fps": 30, "duration": 2.0, "sampler": {"steps": 2, "guidance": 2.5, "seed": 0},
            "tracks": [{"kind": "text", "start": 0.0, "end": 2.0, "text": "a person walks forward"},
                       {"kind": "keyframe", "time": 1.5, "path": "library:arms_up"}]}
    (work / "spec.json").write_text(json.dumps(spec))
    genmo = python.parent / "genmo"
    run = subprocess.run([str(genmo), "generate", "spec.json", "--out", "motion.npz"], cwd=work, env=_env(),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    with np.load(work / "motion.npz", allow_pickle=False) as data:
        assert data["poses"].shape == (60, 72)
    bvh = subprocess.run([str(genmo), "export", "motion.npz", "--out", "motion.bvh"], cwd=work, env=_env(),
                         capture_output=True, text=True, timeout=600)
    assert bvh.returncode == 0 and (work / "motion.bvh").read_text().startswith("HIERARCHY"), bvh.stderr[-3000:]
    no_render = subprocess.run([str(genmo), "generate", "spec.json", "--out", "m.npz", "--render", "m.mp4"], cwd=work,
                               env=_env(), capture_output=True, text=True, timeout=600)
    assert no_render.returncode == 2 and "Traceback" not in no_render.stderr, no_render.stderr[-3000:]
    assert "genmo-studio[render]" in no_render.stderr.strip().splitlines()[-1]
    site = subprocess.run([str(python), "-c", "import genmo, sysconfig; print(sysconfig.get_path('purelib'))"],
                          cwd=work, env=_env(), capture_output=True, text=True, check=True).stdout.strip()
    assert not (Path(site) / "app").exists()  # no generic top-level package
    examples = subprocess.run([str(python), "-c", "from genmo.paths import shipped_dir; print(shipped_dir('examples'))"],
                              cwd=work, env=_env(), capture_output=True, text=True, check=True).stdout.strip()
    assert (Path(examples) / "video_estimation.json").is_file() and (Path(examples) / "media" / "mannequin.mp4").is_file()
    missing = subprocess.run([str(genmo), "generate", "spec.json", "--out", "m2.npz"], cwd=work,
                             env=_env(GENMO_CHECKPOINTS=str(tmp_path / "nowhere")), capture_output=True, text=True)
    last = missing.stderr.strip().splitlines()[-1]
    assert missing.returncode == 2 and "Traceback" not in missing.stderr, missing.stderr
    assert last.startswith("error: no checkpoint found") and "GENMO_CHECKPOINTS" in last, last
