"""Load test and soak of GENMO Studio on loopback: concurrent gradio_client pages generate a timeline
and download every file of every result.

    python scripts/load_test.py                       # 8 clients x 1 request, 10 s timeline, 5 steps
    python scripts/load_test.py --clients 8 --churn 200 --json soak.json     # the soak
    python scripts/load_test.py --clients 4 --requests 2 --duration 2 --steps 1 --churn 10 --json out.json

Starts the studio in a child process (127.0.0.1, a free port, its own TMPDIR and GRADIO_TEMP_DIR,
the shipped checkpoint unless --checkpoint), then:

1. load: ``--clients`` concurrent pages each send ``--requests`` generations (each bounded by
   --timeout), following their queue positions; latency percentiles;
2. churn (``--churn N``): ``--clients`` concurrent pages make N short generations in all, each
   page closing after ``--page-generations`` and a new one opening in its place;
3. settle: once every page has closed, waits (at most --settle seconds) for the studio to remove
   their result folders.

After every generation the page downloads every file of the result over HTTP; a download that
is not a complete HTTP 200 counts as a missing file. Reports failed requests, missing files, the
server's resident memory (its process tree, from /proc: after warm-up, after the load phase,
after the churn, and the peak) and its disk use (the work folder: peak and at the end). Prints the report (and writes JSON
with --json); exits 1 when a request failed, a file was missing or the RSS limit was passed.
Only loopback addresses are used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.outputs import folder_bytes  # noqa: E402 (the repository root on the path first)

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
QUEUE_SIZE = 16  # as in app.py
RSS_LIMIT_MB = 4096


def timeline(duration: float) -> dict:
    """Two prompts and a library keyframe over ``duration`` seconds."""
    half = round(duration / 2, 2)
    return {"version": 1, "fps": 30, "duration": duration, "sampler": {"steps": 5, "guidance": 2.5, "seed": 0},
            "tracks": [{"kind": "text", "start": 0.0, "end": half, "text": "a person walks forward"},
                       {"kind": "text", "start": half, "end": duration, "text": "a person jumps"},
                       {"kind": "keyframe", "time": half, "path": "library:arms_up", "frame": 0}]}


def serve(args: argparse.Namespace) -> None:
    """The studio as app.py runs it, on loopback, with the given retention settings."""
    sys.path.insert(0, str(REPO))
    from app.outputs import Retention
    from app.studio import build_studio, launch_kwargs

    retention = Retention(max_bytes=int(args.max_mb * 2**20), closed_grace_s=args.closed_grace)
    demo = build_studio(checkpoint=args.checkpoint, retention=retention, delete_cache=tuple(args.delete_cache))
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    demo.launch(server_name=HOST, server_port=args.port, quiet=True, **launch_kwargs())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (MiB), from /proc."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total


def _disk_mb(root: Path) -> float:
    """MiB of the files under ``root`` (files removed while counting count as 0)."""
    return folder_bytes(root) / 2**20


def _run_folders(tmp: Path) -> int:
    return sum(1 for p in tmp.glob("gradio/genmo-studio-*/runs/*/run-*") if p.is_dir())


class Sampler(threading.Thread):
    """Samples the server tree's RSS and its work folder's disk use every ``period`` s; keeps the peaks."""

    def __init__(self, pid: int, work: Path, period: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.work, self.period = pid, work, period
        self.peak_rss, self.peak_disk = 0.0, 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_rss = max(self.peak_rss, _tree_rss_mb(self.pid))
            self.peak_disk = max(self.peak_disk, _disk_mb(self.work))
            self.stop.wait(self.period)


def _wait_up(url: str, proc: subprocess.Popen, limit_s: float):
    from gradio_client import Client

    deadline = time.time() + limit_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the studio exited with code {proc.returncode} before it was up")
        try:
            return Client(url, verbose=False, download_files=False)
        except Exception:  # not listening yet
            time.sleep(1.0)
    raise RuntimeError(f"the studio was not up after {limit_s:.0f} s")


def result_files(outputs) -> list[dict]:
    """Every file of a /generate result: the FileData dicts (server path and URL) anywhere in it."""
    found: list[dict] = []
    todo = [outputs]
    while todo:
        value = todo.pop()
        if isinstance(value, dict) and value.get("url") and value.get("path"):
            found.append(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, (list, tuple)):
            todo.extend(value)
    return found


def download(http, file: dict) -> str | None:
    """Fetch one file completely; None when it arrived whole, else what went wrong (one line)."""
    try:
        with http.stream("GET", file["url"]) as response:
            received = sum(len(chunk) for chunk in response.iter_bytes())
            expected = response.headers.get("content-length")
            if response.status_code != 200:
                return f"{Path(file['path']).name}: HTTP {response.status_code}"
            if received == 0 or (expected is not None and received != int(expected)):
                return f"{Path(file['path']).name}: {received} of {expected} bytes"
    except Exception as err:  # a connection cut mid-download
        return f"{Path(file['path']).name}: {type(err).__name__}: {err}"[:300]
    return None


def one_request(client, http, spec: dict, steps: int, seed: int, timeout: float) -> dict:
    """Submit one /generate, follow its queue status, download every file of the result; return the
    latency, queue ranks seen, files fetched, missing files and the outcome."""
    from gradio_client.utils import Status

    start = time.perf_counter()
    job = client.submit(spec, steps, 2.5, seed, False, 1, False, api_name="/generate")
    ranks: list[int] = []
    while not job.done() and time.perf_counter() - start < timeout:
        status = job.status()
        if status.code == Status.IN_QUEUE and status.rank is not None:
            ranks.append(int(status.rank))
        time.sleep(0.1)
    files: list[dict] = []
    try:
        outputs = job.result(timeout=max(1.0, timeout - (time.perf_counter() - start)))
        files = result_files(outputs)
        message = str(outputs[7])
        ok = "Done in" in message and any(f["path"].endswith(".mp4") for f in files)
        error = None if ok else message[:300]
    except Exception as err:  # a failed or timed-out request is counted, not raised
        ok, error = False, f"{type(err).__name__}: {err}"[:300]
    latency = time.perf_counter() - start
    missing = [m for m in (download(http, f) for f in files) if m]
    return {"ok": ok, "latency_s": latency, "ranks": sorted(set(ranks)), "error": error,
            "files": len(files), "missing": missing}


def run_pages(url: str, pages: int, generations: int, per_page: int, spec: dict, steps: int,
              timeout: float, seed0: int) -> list[dict]:
    """``pages`` concurrent threads make ``generations`` generations in all; each thread's page closes
    after ``per_page`` of them and a new page (a new session) opens in its place."""
    import httpx
    from gradio_client import Client

    results: list[dict] = []
    lock = threading.Lock()
    counter = iter(range(generations))

    def worker(index: int) -> None:
        http = httpx.Client(timeout=timeout)
        client, made = None, 0
        try:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                if client is None or made == per_page:
                    if client is not None:
                        client.close()
                    client, made = Client(url, verbose=False, download_files=False), 0
                out = one_request(client, http, spec, steps, seed0 + n, timeout)
                out["page"] = index
                made += 1
                with lock:
                    results.append(out)
        finally:
            if client is not None:
                client.close()
            http.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(pages)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * (generations // pages + 2) + 60)
    return results


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _summary(results: list[dict], sent: int) -> dict:
    return {"sent": sent, "completed": len(results),
            "failures": sum(not r["ok"] for r in results) + (sent - len(results)),
            "files_downloaded": sum(r["files"] - len(r["missing"]) for r in results),
            "missing_files": sum(len(r["missing"]) for r in results),
            "errors": sorted({r["error"] for r in results if r["error"]})[:5],
            "missing_examples": sorted({m for r in results for m in r["missing"]})[:5]}


def measure(args: argparse.Namespace) -> dict:
    import httpx

    root = Path(tempfile.mkdtemp(prefix="genmo-load-"))
    tmp = root / "tmp"  # the server's TMPDIR: gradio's cache and the studio's work folder are inside
    tmp.mkdir()
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio"), "PYTHONUNBUFFERED": "1",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "GRADIO_ANALYTICS_ENABLED": "False",
           "PYOPENGL_PLATFORM": os.environ.get("PYOPENGL_PLATFORM", "osmesa")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port),
           "--max-mb", str(args.max_mb), "--closed-grace", str(args.closed_grace),
           "--delete-cache", *map(str, args.delete_cache)] + (["--checkpoint", str(args.checkpoint)] if args.checkpoint else [])
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    sampler = Sampler(proc.pid, tmp / "gradio")
    report: dict = {"clients": args.clients, "requests_per_client": args.requests, "timeline_s": args.duration,
                    "steps": args.steps, "max_mb": args.max_mb, "closed_grace_s": args.closed_grace}
    failed = True
    try:
        url = f"http://{HOST}:{port}/"
        warm = _wait_up(url, proc, 300)
        with httpx.Client(timeout=args.timeout) as http:
            warm_out = one_request(warm, http, timeline(args.duration), 1, 0, args.timeout)  # loads models once
        warm.close()
        report["warm_up"] = {"ok": warm_out["ok"], "latency_s": round(warm_out["latency_s"], 2),
                             "error": warm_out["error"], "missing": warm_out["missing"]}
        report["rss_start_mb"] = round(_tree_rss_mb(proc.pid), 0)
        sampler.start()
        start = time.perf_counter()
        results = run_pages(url, args.clients, args.clients * args.requests, args.requests,
                            timeline(args.duration), args.steps, args.timeout, 0)
        latencies = [r["latency_s"] for r in results if r["ok"]]
        report.update(_summary(results, args.clients * args.requests))
        report.update({
            "p50_s": round(percentile(latencies, 50), 2), "p95_s": round(percentile(latencies, 95), 2),
            "max_s": round(max(latencies, default=float("nan")), 2), "wall_s": round(time.perf_counter() - start, 1),
            "queue_ranks_seen": sorted({k for r in results for k in r["ranks"]}),
            "requests_shown_a_queue_position": sum(bool(r["ranks"]) for r in results)})
        report["rss_after_load_mb"] = round(_tree_rss_mb(proc.pid), 0)
        if args.churn:
            start = time.perf_counter()
            churn = run_pages(url, args.clients, args.churn, args.page_generations, timeline(1.0), 1,
                              args.timeout, 1000)
            report["churn"] = {"generations": args.churn, "pages": -(-args.churn // args.page_generations),
                               **_summary(churn, args.churn), "wall_s": round(time.perf_counter() - start, 1),
                               "run_folders_at_end": _run_folders(tmp)}
        report["rss_end_mb"] = round(_tree_rss_mb(proc.pid), 0)
        deadline = time.time() + args.settle  # every page has closed: its results may go now
        while _run_folders(tmp) and time.time() < deadline:
            time.sleep(1.0)
        report["run_folders_after_settle"] = _run_folders(tmp)
        report["disk_after_settle_mb"] = round(_disk_mb(tmp / "gradio"), 1)
        failed = False
    finally:
        sampler.stop.set()
        if sampler.is_alive():
            sampler.join(5)
        report["peak_rss_mb"] = round(sampler.peak_rss, 0)
        report["peak_disk_mb"] = round(sampler.peak_disk, 1)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        bad = failed or report.get("failures") or report.get("missing_files") or \
            report.get("churn", {}).get("failures") or report.get("churn", {}).get("missing_files")
        if bad:
            report["server_log_tail"] = (root / "server.log").read_text(errors="replace")[-3000:]
        if args.keep:
            report["kept"] = str(root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    churn = report.get("churn", {})
    report["rss_limit_mb"] = RSS_LIMIT_MB
    report["passed"] = (report.get("failures", 1) == 0 and report.get("missing_files", 1) == 0
                        and churn.get("failures", 0) == 0 and churn.get("missing_files", 0) == 0
                        and report["peak_rss_mb"] < RSS_LIMIT_MB)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent pages")
    parser.add_argument("--requests", type=int, default=1, help="generations per page in the load phase")
    parser.add_argument("--duration", type=float, default=10.0, help="timeline seconds (load phase)")
    parser.add_argument("--steps", type=int, default=5, help="DDIM steps (load phase)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per request")
    parser.add_argument("--churn", type=int, default=0, help="short generations by pages that come and go")
    parser.add_argument("--page-generations", type=int, default=2, help="churn generations per page before it closes")
    parser.add_argument("--max-mb", type=float, default=2048.0, help="the studio's disk cap for results (MiB)")
    parser.add_argument("--closed-grace", type=float, default=0.0,
                        help="seconds the studio keeps a closed page's results (the studio's default is 300)")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to wait for closed pages' results to go")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint folder (default: the shipped one)")
    parser.add_argument("--delete-cache", type=int, nargs=2, default=[3600, 43200], metavar=("FREQUENCY", "AGE"),
                        help="gradio's clean-up of its own temp files (uploads)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (server log, outputs)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    if not (1 <= args.clients <= 32 and 1 <= args.requests <= 20 and 0 <= args.churn <= 1000
            and 1 <= args.page_generations <= 100):
        parser.error("keep the load bounded: 1-32 clients, 1-20 requests each, churn 0-1000, 1-100 per page")
    report = measure(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
