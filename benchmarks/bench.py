"""`nst bench`: seconds per loss + gradient evaluation, peak memory and FLOP efficiency, beside peers.

Every implementation (peers.py) gets the same work: the original VGG19 weights (bundled), the same images and
sizes, and the same layers (content: relu4_2; style: relu1_1 ... relu5_1; transfer: both); ours in fp32 and in
the other precisions asked for. Each runs in its own process, so that its peak memory is its own, and they take
turns rep by rep (workers.py), so that other work on the machine slows them alike. Run from a checkout:
`make bench`, `nst bench`, or `python -m benchmarks.bench` in the checkout's folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from nst_helpers import NSTError, get_device
from nst_helpers.precision import PRECISIONS, check_precision, resolve

from .peers import IMPLEMENTATIONS, OBJECTIVES, SETUPS
from .quality import RESULTS, time_to_quality
from .workers import images, interleaved, serve, sync

SIZES = (128, 256, 512)
SMALLEST_MATMUL = 128  # the first size matmul_flops tries
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def matmul_flops(device: torch.device, dtype: torch.dtype = torch.float32, seconds: float = 1.0) -> float:
    """This machine's matmul FLOP/s in ``dtype``: the ceiling that convolutions (lowered to matmuls) can reach.

    Square products double in size from 128 (to 8192 at most) until one takes a twentieth of ``seconds``, then are
    timed for about ``seconds``: a fixed size would take a second in fp32 and ten minutes in an emulated bf16."""
    n = SMALLEST_MATMUL // 2
    one = 0.0
    while one < seconds / 20 and n < 8192:
        n *= 2
        a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
        a @ b  # warm-up
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        one = time.perf_counter() - start
    reps = min(100, max(1, round(seconds / one)))
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start)


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what `platform` knows: machines differ from run to run, and
    "x86_64" does not say which one a table was measured on."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def evaluation_flops(size: int, objective: str, device: str = "cpu") -> int:
    """FLOPs of one of our loss + gradient evaluations, as counted by torch's FlopCounterMode (the same in every
    precision)."""
    from torch.utils.flop_counter import FlopCounterMode

    with tempfile.TemporaryDirectory() as folder:
        content, style = images(size, Path(folder))
        evaluate = SETUPS["nst_helpers"](content, style, size, objective, torch.device(device))
    with FlopCounterMode(display=False) as counter:
        evaluate()
    return counter.get_total_flops()


def _available(implementation: str) -> bool:
    if implementation == "pystiche":
        import importlib.util

        return importlib.util.find_spec("pystiche") is not None
    return True


def entries(implementations: tuple[str, ...], precisions: tuple[str, ...], device: str) -> list[tuple[str, str]]:
    """What is timed: ours in fp32 first (what 'x ours' divides by), then in each other precision as resolved on
    ``device`` ('auto' becomes fp32 or bf16; each name once), then each installed peer, in fp32."""
    ours = list(dict.fromkeys(["fp32", *(resolve(p, device).name for p in precisions)]))
    peers = [impl for impl in implementations if impl != "nst_helpers" and _available(impl)]
    return [("nst_helpers", p) for p in ours] * ("nst_helpers" in implementations) + [(impl, "fp32") for impl in peers]


def _ratio(times: list[float], ours: dict) -> str:
    """The median over reps of this rep's time over ours in the same rep."""
    if "error" in ours or len(ours["times"]) != len(times):
        return ""
    return f"{statistics.median(t / o for t, o in zip(times, ours['times'])):.2f}"


def run(
    sizes: tuple[int, ...] = SIZES,
    implementations: tuple[str, ...] = IMPLEMENTATIONS,
    device: str = "cpu",
    reps: int = 3,
    out: Path = RESULTS,
    precisions: tuple[str, ...] = ("auto",),
) -> list[dict]:
    """Measure everything, print a markdown table as it goes, and write JSON and markdown to ``out``."""
    dev = torch.device(device)
    timed = entries(implementations, precisions, device)
    names = list(dict.fromkeys(["fp32", "bf16", *(p for _, p in timed)]))
    peak_flops = {p: matmul_flops(dev, DTYPES[p]) for p in names if p != "fp16" or dev.type == "cuda"}
    cpu = cpu_name()
    machine = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {device}"
    if dev.type == "cuda":
        machine = f"{torch.cuda.get_device_name(dev)}, torch {torch.__version__}"
    matmul = ", ".join(f"{p} {f / 1e9:.3g}" for p, f in peak_flops.items())  # an emulated bf16 may be under 1
    intro = f"{machine}; matmul GFLOP/s: {matmul}; auto here: {resolve('auto', device)}"
    print(intro + "\n")
    header = ("| size | objective | GFLOP | implementation | precision | limit s | s / eval | x limit | x ours | "
              "peak MiB |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines))
    rows = []
    for size in sizes:
        for objective in OBJECTIVES:
            flops = evaluation_flops(size, objective, device)
            results = interleaved(timed, size, objective, device, reps)
            for (impl, precision), r in zip(timed, results):
                limit = flops / peak_flops[precision]
                cells = f"| {size} | {objective} | {flops / 1e9:.1f} | {impl} | {precision} | {limit:.3f} |"
                if "error" in r:
                    line = f"{cells} failed: {r['error'][:60]} | | | |"
                else:
                    ratio = _ratio(r["times"], results[0])
                    mib = r["peak_bytes"] / 2**20
                    line = f"{cells} {r['seconds']:.3f} | {r['seconds'] / limit:.2f} | {ratio} | {mib:.0f} |"
                    r = {**r, "ratio_to_ours": float(ratio) if ratio else None}
                rows.append({"size": size, "objective": objective, "implementation": impl, "precision": precision,
                             "flops": flops, "limit_seconds": limit, **r})
                lines.append(line)
                print(line, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine, "matmul_flops": peak_flops, "auto": str(resolve("auto", device)), "rows": rows}
    (out / f"bench_{dev.type}.json").write_text(json.dumps(report, indent=1))
    notes = ("`limit s`: FLOPs / that precision's matmul FLOP/s; `x limit`: time over it. `x ours`: the median over "
             "reps of the time over ours in fp32 in the same rep (the implementations take turns, rep by rep).\n\n")
    (out / f"bench_{dev.type}.md").write_text(f"Machine: {intro}.\n{notes}" + "\n".join(lines) + "\n")
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
    p.add_argument("--worker", nargs=5, metavar=("IMPL", "SIZE", "OBJECTIVE", "DEVICE", "PRECISION"),
                   help=argparse.SUPPRESS)
    p.add_argument("--sizes", type=lambda t: tuple(int(x) for x in t.split(",")), default=SIZES,
                   help="image sizes in px, comma-separated (default: 128,256,512)")
    p.add_argument("--implementations", type=lambda t: tuple(t.split(",")), default=IMPLEMENTATIONS,
                   help=f"comma-separated, of {', '.join(IMPLEMENTATIONS)} (default: all; pystiche if installed)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="cpu, cuda or mps (default: cuda where there is a GPU, else cpu)")
    p.add_argument("--reps", type=int, default=3, help="timed evaluations per measurement, after a warm-up (default 3)")
    p.add_argument("--precisions", type=lambda t: tuple(t.split(",")), default=("auto",),
                   help=f"ours, besides fp32: comma-separated, of {', '.join(PRECISIONS)} (default: auto)")
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
        for precision in args.precisions:
            resolve(check_precision(precision), device)
    except NSTError as err:
        print(f"nst bench: error: {err}", file=sys.stderr)
        return 2
    if args.preview:
        preview_latency()
    elif args.quality:
        time_to_quality(args.quality, args.steps, device, args.out)
    elif args.worker:  # one implementation on one cell, in the process `interleaved` started for it
        impl, size, objective, worker_device, precision = args.worker
        serve(impl, int(size), objective, worker_device, precision)
    else:
        run(args.sizes, args.implementations, device, args.reps, args.out, args.precisions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
