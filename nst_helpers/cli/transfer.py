"""The `nst` command: doctor, transfer, reconstruct, weights fetch, train and stylize, and bench (from a checkout).

Every user error prints one line on stderr and exits with code 2, checked before the work starts where it can
be. The output path is written only at the end of a run. Ctrl-C, SIGTERM and SIGHUP stop a run, save its best
image (or network) so far and exit with 128 + the signal's number; a run stopped early otherwise (a non-finite
loss, out of memory) saves its best image too, and exits with 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
import torchvision

from . import __version__
from .backbone import ARCHITECTURES, Backbone
from .errors import NSTError, ParameterError
from .folders import checkout
from .images import SAVE_FORMATS, check_save_path, load_image, save_image
from .objective import Objective, check_memory, check_weight
from .optimize import optimize_image
from .precision import PRECISIONS, resolve
from .profiles import PROFILES, profile
from .vgg import VGG, caffe_weights_path, sha256
from .weights import TORCHVISION_WEIGHTS, fetch, hub_file


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text stays available with --help)."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _layers(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _weight(text: str) -> float:
    try:
        return check_weight("a weight", float(text))
    except ParameterError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


INTERRUPTS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]


def _check_output(text: str, inputs: list[str], suffixes: tuple[str, ...] = tuple(SAVE_FORMATS)) -> Path:
    """The output path, checked before a long run, not after it: a local file with one of ``suffixes`` (an image by
    default) that can be written and is not one of the ``inputs`` (through a link or another spelling either).
    There is no flag to overwrite an input."""
    if "://" in text:
        raise ParameterError(f"output {text} is a URL; give a local file name")
    path = check_save_path(text, suffixes)
    for source in filter(None, inputs):  # --weights may be unset
        other = os.path.expanduser(source)
        if "://" not in source and os.path.exists(path) and os.path.exists(other) and os.path.samefile(path, other):
            raise ParameterError(f"output {text} is the input {source}: it would be overwritten; write to another name")
    return path


def _size(vgg: Backbone, size: int, layers: list[str]) -> int:
    """``size``, once a square run of that size fits in memory: a square bounds every aspect ratio, and this runs
    before any image is resized or any feature computed."""
    check_memory(vgg, size, size, layers)
    return size


@contextlib.contextmanager
def _signals(received: list[int], interrupt: bool) -> Iterator[None]:
    """Note SIGINT, SIGTERM and SIGHUP (a closed terminal) in ``received``. With ``interrupt`` the first one also
    raises KeyboardInterrupt, as Ctrl-C does, so that a run stops and keeps its best image; later ones, and any while
    ``interrupt`` is off (the saving), are only noted, so that nothing cuts the saving short."""

    def note(signum: int, frame: object) -> None:
        received.append(signum)
        if interrupt and len(received) == 1:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, note) for sig in INTERRUPTS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _save(image: torch.Tensor, output: Path) -> tuple[Path, str | None]:
    """Save at the end of a run, which must not lose it: if ``output`` fails now, a PNG beside it, else in the
    temporary folder. Returns where the image went and, if not to ``output``, why."""
    try:
        return save_image(image, output), None
    except NSTError as err:
        problem = str(err)
    for folder in (output.parent, Path(tempfile.gettempdir())):
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=f"{output.stem[:100]}-", suffix=".png")
        except OSError:
            continue
        os.close(fd)
        try:
            return save_image(image, name), problem
        except NSTError:
            os.unlink(name)
    raise NSTError(f"{problem}; nor could a copy be saved beside it or in {tempfile.gettempdir()}")


def doctor(args: argparse.Namespace) -> None:
    """Print versions, device, weights (and which networks run offline), profile and precision."""
    p = profile(args.profile, device=args.device, precision=args.precision)
    print(f"nst_helpers {__version__}, python {platform.python_version()}, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}")
    print(f"device: {p.device} (cuda available: {torch.cuda.is_available()})")
    try:
        path = caffe_weights_path()
        print(f"weights: caffe VGG19 (bundled) at {path}\n  sha256 {sha256(path)}")
        VGG(device="cpu")
        print("  loads: ok")
    except NSTError as err:
        print(f"weights: PROBLEM: {err}")
    for arch in sorted(ARCHITECTURES):  # what runs offline, besides the bundled weights above
        cached = "cached" if hub_file(arch).is_file() else f"not cached (`nst weights fetch {arch}` once online)"
        print(f"network {arch}: weights 'random', 'torchvision' {cached}")
    print(p)
    print(f"precision: {resolve(p.precision, p.device)}")


def weights(args: argparse.Namespace) -> int:
    """Fetch torchvision's weights of each ARCH into torch.hub's cache: one line each, exit 2 if any failed."""
    failed = 0
    for arch in args.archs:
        try:
            print(f"{arch}: {fetch(arch)}")
        except Exception as err:  # offline, blocked, a broken download ...
            failed += 1
            print(f"nst: error: cannot fetch {arch} ({type(err).__name__}); {hub_file(arch)} missing", file=sys.stderr)
    return 2 if failed else 0


def _network(args: argparse.Namespace, device: torch.device) -> Backbone:
    """The network of the options; --weights defaults to 'caffe' for a VGG, 'torchvision' for the others."""
    weights = args.weights or ("caffe" if args.arch.startswith("vgg") else "torchvision")
    return Backbone(args.arch, weights=weights, pooling=args.pooling, device=device)


def transfer(args: argparse.Namespace) -> int:
    """Style transfer of CONTENT in the style of STYLE, written to OUT."""
    output = _check_output(args.output, [args.content, args.style, args.weights])
    p = profile(args.profile, device=args.device, precision=args.precision)
    precision = resolve(p.precision, p.device)
    vgg = _network(args, p.device)
    content_layers = vgg.content_layers if args.content_layer is None else args.content_layer
    style_layers = vgg.style_layers if args.style_layers is None else args.style_layers
    size = _size(vgg, args.size or p.size, [*content_layers, *style_layers])
    content = load_image(args.content, size=size)
    style = load_image(args.style, size=size)
    objective = Objective(vgg, content, style, content_layers, style_layers, content_weight=args.content_weight,
                          style_weight=args.style_weight, tv_weight=args.tv_weight, precision=precision)
    return _run(objective, args, p.steps, output)


def reconstruct(args: argparse.Namespace) -> int:
    """Reconstruct IMAGE's content (feature maps) or style (Gram matrices) from noise."""
    output = _check_output(args.output, [args.image, args.weights])
    p = profile(args.profile, device=args.device, precision=args.precision)
    precision = resolve(p.precision, p.device)
    vgg = _network(args, p.device)
    layers = args.layers or list(vgg.content_layers if args.what == "content" else vgg.style_layers)
    image = load_image(args.image, size=_size(vgg, args.size or p.size, layers))
    if args.what == "content":
        objective = Objective(vgg, content=image, content_layers=layers, precision=precision)
    else:
        objective = Objective(vgg, style=image, style_layers=layers, precision=precision)
    return _run(objective, args, p.steps, output)


def _run(objective: Objective, args: argparse.Namespace, default_steps: int, output: Path) -> int:
    """Optimise, save and report in one line; the exit code."""
    with warnings.catch_warnings():  # printed below as one line instead
        warnings.simplefilter("ignore", RuntimeWarning)
        result = optimize_image(
            objective, init=args.init, steps=args.steps or default_steps, optimizer=args.optimizer, seed=args.seed,
            progress=sys.stderr.isatty(),  # a progress bar in a log file is noise, not one line
        )
    with _signals(args.signals, interrupt=False):
        saved, problem = _save(result.image, output)
    wrote = f"{problem}; wrote {saved} instead" if problem else f"wrote {saved}"
    if args.signals:
        print(f"nst: {result.stopped or 'interrupted while saving'}; {wrote}", file=sys.stderr)
        return 128 + args.signals[0]
    if result.stopped or problem:
        print(f"nst: error: {'; '.join(filter(None, [result.stopped, wrote]))}", file=sys.stderr)
        return 2
    done = f"{result.steps} steps, {result.seconds:.1f} s, {objective.precision.name}"
    print(f"{wrote} ({done}, final loss {result.history['total'][-1]:.4g})")
    return 0


def _add_run_options(p: argparse.ArgumentParser, init: str) -> None:
    p.add_argument("-o", "--output", required=True, help="output image (.png or .jpg); never one of the inputs")
    p.add_argument("--size", type=_positive_int, help="long side in px (default: from the profile)")
    p.add_argument("--steps", type=_positive_int, help="optimisation steps (default: from the profile)")
    p.add_argument("--init", choices=["content", "style", "noise", "uniform"], default=init)
    p.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    p.add_argument("--pooling", choices=["avg", "max"], default="avg")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="vgg19")
    p.add_argument("--weights", help="'caffe' (bundled; a VGG's default), 'torchvision' (others'), 'random' or a file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="cpu, cuda or mps (default: the fastest available)")
    p.add_argument("--profile", choices=list(PROFILES), help="quick, lab or paper (default: $NST_PROFILE or by device)")
    _add_precision(p)


def _add_precision(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", choices=PRECISIONS, help="of the network's forward pass: auto (bf16 where this "
                   "hardware runs it faster, else fp32), fp32, bf16, or fp16 on CUDA (default: $NST_PRECISION, "
                   "else auto)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of `nst` and its subcommands (bench has its own: `nst bench --help`)."""
    parser = _Parser(prog="nst", description="Neural style transfer (Gatys et al.) from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("doctor", help="versions, device, weights, profile and precision")
    d.add_argument("--device")
    d.add_argument("--profile", choices=list(PROFILES))
    _add_precision(d)
    d.set_defaults(func=doctor)

    t = sub.add_parser("transfer", help="paint CONTENT in the style of STYLE")
    t.add_argument("content")
    t.add_argument("style")
    _add_run_options(t, init="content")
    t.add_argument("--content-weight", type=_weight, default=1.0, help="alpha (default 1)")
    t.add_argument("--style-weight", type=_weight, help="beta (default: the paper's 1e3 at 512 px, scaled)")
    t.add_argument("--tv-weight", type=_weight, default=0.0)
    t.add_argument("--content-layer", type=_layers, help="default: the network's; VGG's relu4_2 (the paper's conv4_2)")
    t.add_argument("--style-layers", type=_layers, help="comma-separated; default: the network's; VGG's relu1_1,...")
    t.set_defaults(func=transfer)

    sub.add_parser("bench", help="time and memory per evaluation, beside peers (see `nst bench --help`)")

    r = sub.add_parser("reconstruct", help="reconstruct an image's content or style from noise")
    r.add_argument("what", choices=["content", "style"])
    r.add_argument("image")
    _add_run_options(r, init="noise")
    r.add_argument("--layers", type=_layers, help="comma-separated (default: the network's: relu4_2 / relu1_1,...)")
    r.set_defaults(func=reconstruct)

    w = sub.add_parser("weights", help="fetch torchvision's weights into torch.hub's cache, once, online")
    w.add_argument("action", choices=["fetch"])
    w.add_argument("archs", nargs="+", choices=sorted(TORCHVISION_WEIGHTS), help="vgg16, resnet50, ...")
    w.set_defaults(func=weights)
    from .cli_fast import add_commands  # here, not at the top: cli_fast uses this module's helpers

    add_commands(sub)
    return parser



def bench(argv: list[str]) -> int:
    """`nst bench ARGS`: run benchmarks/bench.py of the checkout (not part of the package) with ARGS."""
    root = checkout()
    if root is None or not (root / "benchmarks" / "bench.py").is_file():
        print("nst: error: `nst bench` runs the benchmarks of a checkout of the series: run it inside one "
              "(`make bench`)", file=sys.stderr)
        return 2
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    return subprocess.call([sys.executable, "-m", "benchmarks.bench", *argv], env=os.environ | {"PYTHONPATH": path})


def main(argv: list[str] | None = None) -> int:
    """Run `nst` with ``argv`` (default: the command line); returns the exit code: 0, 2 for a user error, 130
    after Ctrl-C."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own options: `nst bench --help`
        return bench(argv[1:])
    args = build_parser().parse_args(argv)
    args.signals = []
    try:
        with _signals(args.signals, interrupt=True):
            return args.func(args) or 0
    except NSTError as err:
        print(f"nst: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nst: interrupted; nothing written", file=sys.stderr)
        return 128 + (args.signals[0] if args.signals else signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
