"""`nst bench`: seconds per loss + gradient evaluation, peak memory and FLOP efficiency, beside peers.

Every implementation (peers.py) gets the same work: the original VGG19 weights (bundled), the same images and
sizes, and the same layers (content: relu4_2; style: relu1_1 ... relu5_1; transfer: both). Each
measurement runs in its own process, so that its peak memory is its own. Run from a checkout:
`make bench`, `nst bench`, or `python -m benchmarks.bench` in the checkout's folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from nst_helpers import NSTError, get_device, save_image

from .peers import IMPLEMENTATIONS, OBJECTIVES, SETUPS
from .quality import RESULTS, time_to_quality

SIZES = (128, 256, 512)
CHECKOUT = Path(__file__).resolve().parents[1]


def matmul_flops(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    """This machine's fp32 matmul FLOP/s: the ceiling that convolutions (lowered to matmuls) can reach."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _images(size: int, folder: Path) -> tuple[Path, Path]:
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


def measure(implementation: str, size: int, objective: str, device: str = "cpu", reps: int = 3) -> dict:
    """Median seconds per evaluation (after one warm-up), and peak memory: of the GPU, or on the CPU the
    process's peak RSS less its RSS before the set-up (torch and its libraries alone take ~1 GiB)."""
    dev = torch.device(device)
    before = _rss()
    with tempfile.TemporaryDirectory() as folder:
        content, style = _images(size, Path(folder))
        evaluate = SETUPS[implementation](content, style, size, objective, dev)
    evaluate()
    _sync(dev)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        evaluate()
        _sync(dev)
        times.append(time.perf_counter() - start)
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return {"seconds": statistics.median(times), "peak_bytes": peak}


def evaluation_flops(size: int, objective: str, device: str = "cpu") -> int:
    """FLOPs of one of our loss + gradient evaluations, as counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    with tempfile.TemporaryDirectory() as folder:
        content, style = _images(size, Path(folder))
        evaluate = SETUPS["nst_helpers"](content, style, size, objective, torch.device(device))
    with FlopCounterMode(display=False) as counter:
        evaluate()
    return counter.get_total_flops()


def _available(implementation: str) -> bool:
    if implementation == "pystiche":
        import importlib.util

        return importlib.util.find_spec("pystiche") is not None
    return True


def _run_isolated(implementation: str, size: int, objective: str, device: str, reps: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench", "--one", implementation, str(size), objective, device, str(reps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=CHECKOUT)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(
    sizes: tuple[int, ...] = SIZES,
    implementations: tuple[str, ...] = IMPLEMENTATIONS,
    device: str = "cpu",
    reps: int = 3,
    out: Path = RESULTS,
) -> list[dict]:
    """Measure everything, print a markdown table as it goes, and write JSON and markdown to ``out``."""
    dev = torch.device(device)
    peak_flops = matmul_flops(dev)
    cpu = platform.processor() or platform.machine()
    machine = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {device}"
    if dev.type == "cuda":
        machine = f"{torch.cuda.get_device_name(dev)}, torch {torch.__version__}"
    print(f"{machine}; fp32 matmul {peak_flops / 1e9:.0f} GFLOP/s\n")
    header = "| size | objective | GFLOP | limit s | implementation | s / eval | x limit | x ours | peak MiB |"
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines))
    rows = []
    for size in sizes:
        for objective in OBJECTIVES:
            flops = evaluation_flops(size, objective, device)
            limit = flops / peak_flops
            ours = None
            for impl in implementations:
                if not _available(impl):
                    continue
                r = _run_isolated(impl, size, objective, device, reps)
                row = {"size": size, "objective": objective, "implementation": impl, "flops": flops,
                       "limit_seconds": limit, **r}
                rows.append(row)
                if "error" in r:
                    line = (f"| {size} | {objective} | {flops / 1e9:.1f} | {limit:.2f} | {impl} | "
                            f"failed: {r['error'][:60]} | | | |")
                else:
                    ours = r["seconds"] if impl == "nst_helpers" else ours
                    ratio = f"{r['seconds'] / ours:.2f}" if ours else ""
                    line = (
                        f"| {size} | {objective} | {flops / 1e9:.1f} | {limit:.2f} | {impl} | {r['seconds']:.3f} | "
                        f"{r['seconds'] / limit:.2f} | {ratio} | {r['peak_bytes'] / 2**20:.0f} |"
                    )
                lines.append(line)
                print(line, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine, "matmul_flops": peak_flops, "rows": rows}
    (out / f"bench_{dev.type}.json").write_text(json.dumps(report, indent=1))
    intro = (f"Machine: {machine}; fp32 matmul {peak_flops / 1e9:.0f} GFLOP/s. "
             "`x limit`: time / (FLOPs / matmul FLOP/s).\n\n")
    (out / f"bench_{dev.type}.md").write_text(intro + "\n".join(lines) + "\n")
    return rows


def preview_latency(profile_name: str = "lab", repeats: int = 3) -> list[float]:
    """Seconds from pressing Run in the transfer explorer (the profile's size, default settings) to its first
    preview, with the network already loaded (the explorer preloads it while the notebook cell renders)."""
    from nst_helpers import PROFILES
    from nst_helpers.explore import network, transfer_explorer

    network("avg")
    explorer = transfer_explorer()
    explorer.size.value = PROFILES[profile_name][0]
    seconds = []
    for _ in range(repeats):
        start, before = time.perf_counter(), explorer.previews
        if not explorer.run():
            raise RuntimeError(explorer.message_text)
        while explorer.previews == before and explorer.error is None:
            time.sleep(0.01)
        seconds.append(time.perf_counter() - start)
        explorer.stop()
        explorer.wait()
    print(f"first preview after pressing Run ({profile_name}, {explorer.size.value} px): "
          + ", ".join(f"{s:.1f} s" for s in seconds), flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """`nst bench [OPTIONS]`: the table of seconds per evaluation (default), or one of the other measurements."""
    p = argparse.ArgumentParser(prog="nst bench", description=__doc__.splitlines()[0].replace("`", ""))
    p.add_argument("--one", nargs=5, metavar=("IMPL", "SIZE", "OBJECTIVE", "DEVICE", "REPS"), help=argparse.SUPPRESS)
    p.add_argument("--sizes", type=lambda t: tuple(int(x) for x in t.split(",")), default=SIZES,
                   help="image sizes in px, comma-separated (default: 128,256,512)")
    p.add_argument("--implementations", type=lambda t: tuple(t.split(",")), default=IMPLEMENTATIONS,
                   help=f"comma-separated, of {', '.join(IMPLEMENTATIONS)} (default: all; pystiche if installed)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="cpu, cuda or mps (default: cuda where there is a GPU, else cpu)")
    p.add_argument("--reps", type=int, default=3, help="timed evaluations per measurement, after a warm-up (default 3)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and markdown results "
                   "(default: benchmarks/results of the checkout)")
    p.add_argument("--quality", type=int, metavar="SIZE",
                   help="instead: time to quality at SIZE px, single-scale vs coarse-to-fine")
    p.add_argument("--steps", type=int, default=200, help="single-scale steps for --quality")
    p.add_argument("--preview", action="store_true", help="instead: seconds from Run to the explorer's first preview")
    args = p.parse_args(argv)
    try:
        device = str(get_device(args.device))
        unknown = sorted(set(args.implementations) - set(IMPLEMENTATIONS))
        if unknown:
            raise NSTError(f"unknown implementation {unknown[0]!r}; choose from {', '.join(IMPLEMENTATIONS)}")
    except NSTError as err:
        print(f"nst bench: error: {err}", file=sys.stderr)
        return 2
    if args.preview:
        preview_latency()
    elif args.quality:
        time_to_quality(args.quality, args.steps, device, args.out)
    elif args.one:  # one measurement, in the process `run` started for it
        impl, size, objective, one_device, reps = args.one
        print(json.dumps(measure(impl, int(size), objective, one_device, int(reps))))
    else:
        run(args.sizes, args.implementations, device, args.reps, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
