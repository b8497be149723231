"""Timing implementations side by side: each in its own process, their reps interleaved round-robin.

`interleaved` starts one worker process per (implementation, precision) of a cell (a size and an objective); they
set up together, then run one timed evaluation each in turn, rep by rep, so that a noisy neighbour on a shared
machine slows every implementation alike. Each worker's peak memory is its own. `Measurement` is what a worker
does, usable in one process too.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import torch

from nst_helpers import save_image

from .peers import SETUPS

CHECKOUT = Path(__file__).resolve().parents[1]
MARK = "nst-bench:"  # the workers' replies start with it (the peers may print other lines)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def images(size: int, folder: Path) -> tuple[Path, Path]:
    """Two fixed noise images (content, style), saved so that every implementation reads the same files."""
    g = torch.Generator().manual_seed(0)
    paths = (folder / "content.png", folder / "style.png")
    for path in paths:
        save_image(torch.rand(1, 3, size, size, generator=g), path)
    return paths


def _rss() -> int:
    """This process's resident memory now, in bytes (Linux)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


class Measurement:
    """One implementation set up for one cell in this process and warmed up (one evaluation): `seconds` times one
    more evaluation, `peak_bytes` is the peak memory: of the GPU, or on the CPU the process's peak RSS less its RSS
    before the set-up (torch and its libraries alone take ~1 GiB). Only ours has a precision other than fp32."""

    def __init__(self, implementation: str, size: int, objective: str, device: str = "cpu",
                 precision: str = "fp32") -> None:
        self.device = torch.device(device)
        self._before = _rss()
        options = {"precision": precision} if implementation == "nst_helpers" else {}
        with tempfile.TemporaryDirectory() as folder:
            content, style = images(size, Path(folder))
            self.evaluate = SETUPS[implementation](content, style, size, objective, self.device, **options)
        self.seconds()

    def seconds(self) -> float:
        start = time.perf_counter()
        self.evaluate()
        sync(self.device)
        return time.perf_counter() - start

    def peak_bytes(self) -> int:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self._before


def serve(implementation: str, size: int, objective: str, device: str, precision: str) -> None:
    """A worker: set up, say so, time one evaluation per line read, and at the end of the input give the peak."""
    measurement = Measurement(implementation, size, objective, device, precision)
    print(MARK, "ready", flush=True)
    for _ in sys.stdin:
        print(MARK, measurement.seconds(), flush=True)
    print(MARK, json.dumps({"peak_bytes": measurement.peak_bytes()}), flush=True)


def _reply(worker: subprocess.Popen) -> str | None:
    """The worker's next reply, or None if it ended without one."""
    for line in worker.stdout:
        if line.startswith(MARK):
            return line.removeprefix(MARK).strip()
    return None


def _failure(worker: subprocess.Popen, errors: IO[str]) -> dict:
    """Stop a worker that failed; the last line it wrote on stderr."""
    worker.kill()
    worker.wait()
    errors.seek(0)
    return {"error": (errors.read().strip().splitlines() or ["failed"])[-1]}


def interleaved(entries: list[tuple[str, str]], size: int, objective: str, device: str, reps: int) -> list[dict]:
    """Time each (implementation, precision) of ``entries`` on one cell, ``reps`` evaluations each, round-robin.

    Returns one dict per entry: ``times`` (per rep), ``seconds`` (their median) and ``peak_bytes``, or ``error``."""
    errors = [tempfile.TemporaryFile("w+") for _ in entries]  # a file, not a pipe: a full pipe would block a worker
    workers = [
        subprocess.Popen([sys.executable, "-m", "benchmarks.bench", "--worker", impl, str(size), objective, device,
                          precision], cwd=CHECKOUT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                         text=True)
        for (impl, precision), err in zip(entries, errors)
    ]
    results = [{"times": []} if _reply(w) == "ready" else _failure(w, e) for w, e in zip(workers, errors)]
    for _ in range(reps):
        for worker, err, result in zip(workers, errors, results):
            if "error" not in result:
                worker.stdin.write("rep\n")
                worker.stdin.flush()
                reply = _reply(worker)
                result.update({"times": result["times"] + [float(reply)]} if reply else _failure(worker, err))
    for worker, err, result in zip(workers, errors, results):
        if "error" not in result:
            worker.stdin.close()
            reply = _reply(worker)
            result.update({"seconds": statistics.median(result["times"]), **json.loads(reply)} if reply
                          else _failure(worker, err))
            worker.wait()
        err.close()
    return results
