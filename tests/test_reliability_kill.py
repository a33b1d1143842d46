"""SIGKILL at the worst moment: a training run killed while writing a checkpoint resumes from the
last complete one; the studio killed mid-generation starts cleanly again and loads a saved project.

Every wait is on an event (a process exiting, a job's status, a server answering), bounded only by
a hang guard.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HANG_GUARD_S = 600

KILLED_MID_WRITE = r"""
import os, shutil, signal, sys
from pathlib import Path
import genmo.model.checkpoint as checkpoint
from genmo.train import trainer

real_save_file, calls = checkpoint.save_file, [0]

def dying_save_file(tensors, path, *args, **kwargs):
    calls[0] += 1
    real_save_file(tensors, path, *args, **kwargs)
    if calls[0] == 3:  # the model weights of the second checkpoint: half written, then the process dies
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

checkpoint.save_file = dying_save_file
real_save = trainer.Trainer.save

def save(self):
    real_save(self)
    shutil.copy(self.out / "model.safetensors", self.out.parent / f"model-step{self.step}.safetensors")

trainer.Trainer.save = save
from genmo.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def test_a_run_killed_mid_checkpoint_resumes_from_the_last_complete_one(tmp_path):
    from safetensors.torch import load_file

    cfg = json.loads((REPO / "configs" / "tiny.json").read_text())
    cfg["train"].update(steps=4, batch_size=4, warmup_steps=2, ckpt_every=2, val_every=100, log_every=1)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(cfg))
    run = tmp_path / "run"
    args = ["train", "--config", str(config), "--synthetic", "16", "--out", str(run), "--steps", "4", "--no-progress"]
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, *args], cwd=REPO, env=_env(),
                            capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert json.loads((run / "state.json").read_text())["step"] == 2
    assert (run / "model.safetensors").read_bytes() == (tmp_path / "model-step2.safetensors").read_bytes()
    load_file(str(run / "model.safetensors"))  # whole, not the half-written file of step 4

    resumed = subprocess.run([sys.executable, "-m", "genmo", *args, "--resume"], cwd=REPO, env=_env(),
                             capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["step"] == 4
    assert json.loads((run / "state.json").read_text())["step"] == 4
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if r["split"] == "train"]
    assert steps == [1, 2, 3, 4, 3, 4]  # the killed run logged 3 and 4; the resumed one redid them from 2
    assert not list(run.glob(".*.partial"))  # the resumed run's checkpoint replaced the half-written file


# -- the studio ---------------------------------------------------------------------------------

SPEC = {"version": 1, "fps": 30, "duration": 10.0, "sampler": {"steps": 50, "guidance": 2.5, "seed": 0},
        "tracks": [{"kind": "text", "start": 0.0, "end": 10.0, "text": "a person walks in a circle"},
                   {"kind": "keyframe", "time": 5.0, "path": "library:arms_up", "frame": 0}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_studio(tmp: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``python app.py`` on loopback with its own temp folders; (process, url) once it answers."""
    from gradio_client import Client

    port = _free_port()
    env = {**_env(), "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio"), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
           "PYOPENGL_PLATFORM": os.environ.get("PYOPENGL_PLATFORM", "osmesa")}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the studio exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            Client(url, verbose=False, download_files=False).close()
            return proc, url
        except Exception:  # not listening yet
            time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"the studio did not answer within {HANG_GUARD_S} s")


@pytest.mark.slow
def test_the_studio_killed_mid_generation_restarts_cleanly_and_loads_a_saved_project(tmp_path):
    import httpx
    from gradio_client import Client, handle_file
    from gradio_client.utils import Status

    tmp, log = tmp_path / "tmp", tmp_path / "studio.log"
    tmp.mkdir()
    first, url = _start_studio(tmp, log)
    try:
        client = Client(url, verbose=False, download_files=False)
        saved, _msg = client.predict(SPEC, api_name="/save_project")
        project = tmp_path / "genmo-project.zip"
        project.write_bytes(httpx.get(saved["url"], timeout=HANG_GUARD_S).content)
        job = client.submit(SPEC, 50, 2.5, 0, False, 1, False, api_name="/generate")
        running = (Status.PROCESSING, Status.PROGRESS, Status.ITERATING)
        deadline = time.monotonic() + HANG_GUARD_S
        while job.status().code not in running and not job.done() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job.status().code in running, job.status()  # mid-generation
        (old_work,) = (tmp / "gradio").glob("genmo-studio-*")
        first.send_signal(signal.SIGKILL)
        assert first.wait(HANG_GUARD_S) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
        client.close()
    assert old_work.is_dir()  # what the killed studio left: its work folder, maybe half-written files

    second, url = _start_studio(tmp, log)
    try:
        assert not old_work.exists()  # removed at start: no studio holds its lock any more
        (new_work,) = (tmp / "gradio").glob("genmo-studio-*")
        client = Client(url, verbose=False, download_files=False)
        outputs = client.predict(handle_file(str(project)), api_name="/load_project")
        assert f"Loaded {project.name}" in outputs[-1], outputs[-1]
        spec = json.loads(outputs[0])  # the timeline crosses the API as JSON text
        assert [t["kind"] for t in spec["tracks"]] == ["text", "keyframe"]
        assert spec["tracks"][0]["text"] == SPEC["tracks"][0]["text"] and spec["duration"] == 10.0
        assert "1 text clip" in client.predict(outputs[0], api_name="/check")
        client.close()
        assert new_work.is_dir()
    finally:
        second.terminate()
        try:
            second.wait(60)
        except subprocess.TimeoutExpired:
            second.kill()
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
