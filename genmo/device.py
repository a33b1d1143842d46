"""Where and with how many threads the model runs: the device choice and the CPU thread policy."""

from __future__ import annotations

import os

import torch


def default_threads() -> int:
    """Intra-op threads for sampling: one per core, but 1 when other processes already keep every core
    busy (1-minute load average >= cores), where extra threads mostly wait for a time slice (a denoiser
    pass measured 3-10x slower with 2 threads than with 1 on the loaded 2-core CPU, docs/performance.md)."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= cores
    except OSError:
        busy = False
    return 1 if busy else cores


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default: $OMP_NUM_THREADS if set, else `default_threads()`); returns it."""
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else default_threads()
    torch.set_num_threads(int(threads))
    return int(threads)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, else CUDA when available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def prepare(device: str | torch.device | None = None) -> torch.device:
    """The device to run on (`pick_device`), with the CPU thread policy applied when it is the CPU."""
    chosen = pick_device(device)
    if chosen.type == "cpu":
        configure_threads()
    return chosen
