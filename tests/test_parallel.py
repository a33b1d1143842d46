"""Worker pools fail fast: a worker that dies ends the run with one line naming its task.

Before the fix, `python -m genmo data build --workers 2` waited forever on `multiprocessing.Pool.imap`
once a worker had been killed. Each test is bounded by a hang guard (SIGALRM in-process, a
subprocess timeout for the CLI) that only a hang can reach.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from genmo.parallel import WorkerCrashed, run_tasks

REPO = Path(__file__).resolve().parent.parent
HANG_GUARD_S = 300


@pytest.fixture
def hang_guard():
    def hung(*_args):
        raise TimeoutError(f"still running after {HANG_GUARD_S} s: the pool hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_GUARD_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _square_or_die(task: tuple[int, str]) -> int:
    value, fate = task
    if fate == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if fate == "exit":
        os._exit(3)
    if fate == "raise":
        raise ValueError(f"bad value {value}")
    return value * value


def test_results_come_back_in_task_order(hang_guard):
    tasks = [(i, "ok") for i in range(40)]
    assert list(run_tasks(_square_or_die, tasks, workers=3)) == [i * i for i in range(40)]
    assert list(run_tasks(_square_or_die, [], workers=2)) == []


@pytest.mark.parametrize("fate,how", [("kill", "was killed by SIGKILL"), ("exit", "exited with code 3")])
def test_a_dead_worker_ends_the_run_naming_its_task(hang_guard, fate, how):
    tasks = [(i, fate if i == 17 else "ok") for i in range(40)]
    with pytest.raises(WorkerCrashed) as info:
        list(run_tasks(_square_or_die, tasks, workers=2, describe=lambda t: f"file-{t[0]}.bvh"))
    assert str(info.value) == f"a worker process {how} while working on file-17.bvh"


def test_an_exception_in_a_task_is_raised_in_the_parent(hang_guard):
    tasks = [(i, "raise" if i == 5 else "ok") for i in range(10)]
    with pytest.raises(ValueError, match="bad value 5") as info:
        list(run_tasks(_square_or_die, tasks, workers=2, describe=lambda t: f"file-{t[0]}"))
    assert "while working on file-5" in "".join(info.value.__notes__)


BUILD_WITH_A_DYING_WORKER = r"""
import os, signal, sys
import genmo.data.corpus as corpus
real = corpus.convert_task

def dying(task, *args, **kwargs):
    if task.clip_id.endswith("humanoid3d_jump"):
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return real(task, *args, **kwargs)

corpus.convert_task = dying
from genmo.cli import main
sys.exit(main(["data", "build", "--data", sys.argv[1], "--out", sys.argv[2], "--workers", "2",
               "--sources", "deepmimic", "--no-music"]))
"""


def test_data_build_ends_with_one_line_when_a_worker_is_killed(tmp_path):
    from tests.test_data_readers import _deepmimic_text

    folder = tmp_path / "data" / "deepmimic"
    folder.mkdir(parents=True)
    for name in ("walk", "run", "jump", "kick", "roll", "spin"):
        (folder / f"humanoid3d_{name}.txt").write_text(_deepmimic_text())
    env = {**os.environ, "PYTHONPATH": str(REPO), "GENMO_DATA_CACHE": str(tmp_path / "unpacked")}
    proc = subprocess.run([sys.executable, "-c", BUILD_WITH_A_DYING_WORKER, str(tmp_path / "data"),
                           str(tmp_path / "corpus")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=HANG_GUARD_S)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert last == (f"error: a worker process was killed by SIGKILL while working on "
                    f"{folder / 'humanoid3d_jump.txt'}"), proc.stderr[-2000:]
    assert not (tmp_path / "corpus" / "index.json").exists()

    ok = subprocess.run([sys.executable, "-m", "genmo", "data", "build", "--data", str(tmp_path / "data"), "--out",
                         str(tmp_path / "corpus"), "--workers", "2", "--sources", "deepmimic", "--no-music"],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert ok.returncode == 0 and "wrote 6 clips" in ok.stderr, ok.stderr[-2000:]
