"""`nst` itself: its parser, `nst doctor`, `nst weights fetch`, the hand-over of `nst bench`, and `main`."""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import warnings

import torch
import torchvision

from .. import __version__
from ..backbone import ARCHITECTURES
from ..errors import NSTError
from ..folders import checkout
from ..precision import resolve
from ..profiles import PROFILES, profile
from ..vgg import VGG, caffe_weights_path, sha256
from ..weights import TORCHVISION_WEIGHTS, fetch, hub_file
from . import fast, transfer
from .shared import Parser, add_precision, signals


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


def build_parser() -> argparse.ArgumentParser:
    """The parser of `nst` and its subcommands (bench has its own: `nst bench --help`)."""
    parser = Parser(prog="nst", description="Neural style transfer (Gatys et al.) from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    d = sub.add_parser("doctor", help="versions, device, weights, profile and precision")
    d.add_argument("--device")
    d.add_argument("--profile", choices=list(PROFILES))
    add_precision(d)
    d.set_defaults(func=doctor)

    transfer.add_commands(sub)
    sub.add_parser("bench", help="time and memory per evaluation, beside peers (see `nst bench --help`)")

    w = sub.add_parser("weights", help="fetch torchvision's weights into torch.hub's cache, once, online")
    w.add_argument("action", choices=["fetch"])
    w.add_argument("archs", nargs="+", choices=sorted(TORCHVISION_WEIGHTS), help="vgg16, resnet50, ...")
    w.set_defaults(func=weights)
    fast.add_commands(sub)
    return parser


BENCH = ("import argparse, runpy; from nst_helpers.cli.shared import Parser; argparse.ArgumentParser.error = "
         "Parser.error; runpy.run_module('benchmarks.bench', run_name='__main__')")  # its usage errors in one line


def bench(argv: list[str]) -> int:
    """`nst bench ARGS`: run benchmarks/bench.py of the checkout (not part of the package) with ARGS."""
    root = checkout()
    if root is None or not (root / "benchmarks" / "bench.py").is_file():
        print("nst: error: `nst bench` runs the benchmarks of a checkout of the series: run it inside one "
              "(`make bench`)", file=sys.stderr)
        return 2
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    return subprocess.call([sys.executable, "-c", BENCH, *argv], env=os.environ | {"PYTHONPATH": path})


def main(argv: list[str] | None = None) -> int:
    """Run `nst` with ``argv`` (default: the command line); returns the exit code: 0, 2 for a user error, 128 + the
    signal's number after Ctrl-C (130), SIGTERM or SIGHUP."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own options: `nst bench --help`
        return bench(argv[1:])
    args = build_parser().parse_args(argv)
    args.signals = []
    with warnings.catch_warnings(record=True) as caught:
        try:
            with signals(args.signals, interrupt=True):
                code = args.func(args) or 0
        except NSTError as err:
            print(f"nst: error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("nst: interrupted; nothing written", file=sys.stderr)
            return 128 + (args.signals[0] if args.signals else signal.SIGINT)
    if code == 0:  # warnings, a library's too: one line each after a success, and none beside an error's one line
        for line in dict.fromkeys(str(w.message).strip().split("\n")[0] for w in caught):
            print(f"nst: warning: {line}", file=sys.stderr)
    return code
