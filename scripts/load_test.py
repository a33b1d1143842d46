"""Load test of GENMO Studio on loopback: N concurrent gradio_client sessions generate a timeline.

    python scripts/load_test.py                       # 8 clients x 1 request, 10 s timeline, 5 steps
    python scripts/load_test.py --clients 4 --requests 2 --duration 2 --steps 1 --churn 50 --json out.json

Starts the studio in a child process (127.0.0.1, a free port, its own TMPDIR and GRADIO_TEMP_DIR),
runs the clients (each request bounded by --timeout), samples the server's resident memory (its
process tree), then optionally runs --churn more short generations one after another and counts
the files under the server's temp folders before, after, and once gradio's delete_cache has run.
Prints a summary (and writes JSON with --json); exits 1 when a request failed or the RSS limit was
passed. Only loopback addresses are used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

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
    """The studio as app.py runs it, on loopback, with the given clean-up settings."""
    sys.path.insert(0, str(REPO))
    from app.studio import build_studio, launch_kwargs

    demo = build_studio(keep_runs=args.keep_runs, delete_cache=tuple(args.delete_cache))  # work dir as app.py
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


def _count_files(*roots: Path) -> int:
    return sum(1 for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


class RssSampler(threading.Thread):
    """Samples the server tree's RSS every ``period`` seconds until stopped; keeps the peak."""

    def __init__(self, pid: int, period: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.period, self.peak = pid, period, 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(self.pid))
            self.stop.wait(self.period)


def _wait_up(url: str, proc: subprocess.Popen, limit_s: float, downloads: Path):
    from gradio_client import Client

    deadline = time.time() + limit_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the studio exited with code {proc.returncode} before it was up")
        try:
            return Client(url, verbose=False, download_files=str(downloads))
        except Exception:  # not listening yet
            time.sleep(1.0)
    raise RuntimeError(f"the studio was not up after {limit_s:.0f} s")


def one_request(client, spec: dict, steps: int, seed: int, timeout: float) -> dict:
    """Submit one /generate, follow its queue status, return latency, queue ranks seen and the outcome."""
    from gradio_client.utils import Status

    start = time.perf_counter()
    job = client.submit(spec, steps, 2.5, seed, False, 1, False, api_name="/generate")
    ranks: list[int] = []
    while not job.done() and time.perf_counter() - start < timeout:
        status = job.status()
        if status.code == Status.IN_QUEUE and status.rank is not None:
            ranks.append(int(status.rank))
        time.sleep(0.1)
    try:
        outputs = job.result(timeout=max(1.0, timeout - (time.perf_counter() - start)))
        message = str(outputs[7])
        video = outputs[0].get("value") if isinstance(outputs[0], dict) else outputs[0]
        ok = "Done in" in message and bool(video) and Path(str(video)).is_file()
        error = None if ok else message[:300]
    except Exception as err:  # a failed or timed-out request is counted, not raised
        ok, error = False, f"{type(err).__name__}: {err}"[:300]
    return {"ok": ok, "latency_s": time.perf_counter() - start, "ranks": sorted(set(ranks)), "error": error}


def run_clients(url: str, clients: int, requests: int, spec: dict, steps: int, timeout: float,
                downloads: Path) -> list[dict]:
    """``clients`` concurrent sessions, each sending ``requests`` generations one after another."""
    from gradio_client import Client

    results: list[dict] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        client = Client(url, verbose=False, download_files=str(downloads / f"client{index}"))
        try:
            for r in range(requests):
                out = one_request(client, spec, steps, index * 100 + r, timeout)
                out["client"] = index
                with lock:
                    results.append(out)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * requests + 60)
    return results


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def measure(args: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix="genmo-load-"))
    tmp = root / "tmp"  # the server's TMPDIR: gradio's cache and the studio's work folder are inside
    tmp.mkdir()
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio"), "PYTHONUNBUFFERED": "1",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "GRADIO_ANALYTICS_ENABLED": "False",
           "PYOPENGL_PLATFORM": os.environ.get("PYOPENGL_PLATFORM", "osmesa")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port),
           "--keep-runs", str(args.keep_runs), "--delete-cache", *map(str, args.delete_cache)]
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    sampler = RssSampler(proc.pid)
    report: dict = {"clients": args.clients, "requests_per_client": args.requests, "timeline_s": args.duration,
                    "steps": args.steps, "keep_runs": args.keep_runs, "delete_cache": list(args.delete_cache)}
    try:
        url = f"http://{HOST}:{port}/"
        warm = _wait_up(url, proc, 180, root / "downloads")
        sampler.start()
        spec = timeline(args.duration)
        warm_out = one_request(warm, spec, 1, 0, args.timeout)  # loads the text encoder and renderer once
        report["warm_up"] = {"ok": warm_out["ok"], "latency_s": round(warm_out["latency_s"], 2), "error": warm_out["error"]}
        files_before = _count_files(tmp)
        start = time.perf_counter()
        results = run_clients(url, args.clients, args.requests, spec, args.steps, args.timeout, root / "downloads")
        wall = time.perf_counter() - start
        latencies = [r["latency_s"] for r in results if r["ok"]]
        report.update({
            "sent": args.clients * args.requests, "completed": len(results),
            "failures": sum(not r["ok"] for r in results) + (args.clients * args.requests - len(results)),
            "errors": sorted({r["error"] for r in results if r["error"]})[:5],
            "p50_s": round(percentile(latencies, 50), 2), "p95_s": round(percentile(latencies, 95), 2),
            "max_s": round(max(latencies, default=float("nan")), 2), "wall_s": round(wall, 1),
            "queue_ranks_seen": sorted({k for r in results for k in r["ranks"]}),
            "requests_shown_a_queue_position": sum(bool(r["ranks"]) for r in results),
            "files_before": files_before, "files_after_load": _count_files(tmp),
        })
        if args.churn:
            churn = [one_request(warm, timeline(1.0), 1, 1000 + i, args.timeout) for i in range(args.churn)]
            report["churn"] = {"generations": args.churn, "failures": sum(not c["ok"] for c in churn),
                               "files_after": _count_files(tmp),
                               "run_folders": sum(1 for p in tmp.glob("gradio/genmo-studio-*/runs/*") if p.is_dir())}
            wait = args.delete_cache[0] + args.delete_cache[1] + 2
            time.sleep(wait)
            report["churn"][f"files_after_{wait}s_idle"] = _count_files(tmp)
        warm.close()
    finally:
        sampler.stop.set()
        if sampler.is_alive():
            sampler.join(2)
        report["peak_rss_mb"] = round(sampler.peak, 0)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if args.keep:
            report["kept"] = str(root)
        else:
            if not report.get("failures") == 0:
                report["server_log_tail"] = (root / "server.log").read_text(errors="replace")[-3000:]
            shutil.rmtree(root, ignore_errors=True)
    report["rss_limit_mb"] = RSS_LIMIT_MB
    report["passed"] = report.get("failures", 1) == 0 and report["peak_rss_mb"] < RSS_LIMIT_MB
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1, help="generations per client, one after another")
    parser.add_argument("--duration", type=float, default=10.0, help="timeline seconds")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per request")
    parser.add_argument("--churn", type=int, default=0, help="short generations afterwards, to count temp files")
    parser.add_argument("--keep-runs", type=int, default=12)
    parser.add_argument("--delete-cache", type=int, nargs=2, default=[10, 20], metavar=("FREQUENCY", "AGE"))
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (server log, outputs, downloads)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    if not (1 <= args.clients <= 32 and 1 <= args.requests <= 20 and 0 <= args.churn <= 200):
        parser.error("keep the load bounded: 1-32 clients, 1-20 requests each, churn 0-200")
    report = measure(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
