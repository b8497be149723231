"""The `nst` command: doctor, transfer, reconstruct, and bench (from a checkout).

Every user error prints one line on stderr and exits with code 2; nothing is written to the output
path unless the run finished.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import warnings
from pathlib import Path

from .errors import NSTError, ParameterError
from .folders import checkout
from .images import SAVE_FORMATS, load_image, save_image
from .objective import Objective, check_weight
from .optimize import optimize_image
from .profiles import PROFILES, profile
from .vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG, caffe_weights_path, sha256


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


def _check_output(path: Path) -> None:
    """Fail before a long run, not after it."""
    if path.suffix.lower() not in SAVE_FORMATS:
        raise ParameterError(f"output {path} must end in .png, .jpg or .jpeg")
    if not path.parent.is_dir():
        raise ParameterError(f"output folder {path.parent} does not exist")


def doctor(args: argparse.Namespace) -> None:
    """Print versions, device, weights and profile: what a helper needs to know about this machine."""
    import torch
    import torchvision

    from . import __version__

    p = profile(args.profile, device=args.device)
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
    print(p)


def transfer(args: argparse.Namespace) -> None:
    """Style transfer of CONTENT in the style of STYLE, written to OUT."""
    _check_output(args.output)
    p = profile(args.profile, device=args.device)
    vgg = VGG(args.arch, weights=args.weights, pooling=args.pooling, device=p.device)
    content = load_image(args.content, size=args.size or p.size)
    style = load_image(args.style, size=args.size or p.size)
    objective = Objective(
        vgg, content, style, args.content_layer, args.style_layers,
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
    )
    _run(objective, args, p.steps)


def reconstruct(args: argparse.Namespace) -> None:
    """Reconstruct IMAGE's content (feature maps) or style (Gram matrices) from noise."""
    _check_output(args.output)
    p = profile(args.profile, device=args.device)
    vgg = VGG(args.arch, weights=args.weights, pooling=args.pooling, device=p.device)
    image = load_image(args.image, size=args.size or p.size)
    if args.what == "content":
        objective = Objective(vgg, content=image, content_layers=args.layers or CONTENT_LAYERS)
    else:
        objective = Objective(vgg, style=image, style_layers=args.layers or STYLE_LAYERS)
    _run(objective, args, p.steps)


def _run(objective: Objective, args: argparse.Namespace, default_steps: int) -> None:
    with warnings.catch_warnings():  # printed below as one line instead
        warnings.simplefilter("ignore", RuntimeWarning)
        result = optimize_image(objective, init=args.init, steps=args.steps or default_steps, optimizer=args.optimizer,
                                seed=args.seed)
    if result.stopped:
        print(f"nst: {result.stopped}", file=sys.stderr)
    save_image(result.image, args.output)
    print(f"wrote {args.output} ({result.steps} steps, {result.seconds:.1f} s, "
          f"final loss {result.history['total'][-1]:.4g})")


def _add_run_options(p: argparse.ArgumentParser, init: str) -> None:
    p.add_argument("-o", "--output", type=Path, required=True, help="output image (.png or .jpg)")
    p.add_argument("--size", type=_positive_int, help="long side in px (default: from the profile)")
    p.add_argument("--steps", type=_positive_int, help="optimisation steps (default: from the profile)")
    p.add_argument("--init", choices=["content", "style", "noise"], default=init)
    p.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    p.add_argument("--pooling", choices=["avg", "max"], default="avg")
    p.add_argument("--arch", choices=["vgg19", "vgg16"], default="vgg19")
    p.add_argument("--weights", default="caffe", help="'caffe' (bundled), 'torchvision' (online) or a state-dict path")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="cpu, cuda or mps (default: the fastest available)")
    p.add_argument("--profile", choices=list(PROFILES),
                   help="quick, lab or paper (default: $NST_PROFILE, else by device)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of `nst` and its subcommands (bench has its own: `nst bench --help`)."""
    parser = _Parser(prog="nst", description="Neural style transfer (Gatys et al.) from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("doctor", help="versions, device, weights and profile")
    d.add_argument("--device")
    d.add_argument("--profile", choices=list(PROFILES))
    d.set_defaults(func=doctor)

    t = sub.add_parser("transfer", help="paint CONTENT in the style of STYLE")
    t.add_argument("content")
    t.add_argument("style")
    _add_run_options(t, init="content")
    t.add_argument("--content-weight", type=_weight, default=1.0, help="alpha (default 1)")
    t.add_argument("--style-weight", type=_weight,
                   help="beta (default: 1e3 at 512 px, as in the paper, scaled with the pixel count)")
    t.add_argument("--tv-weight", type=_weight, default=0.0)
    t.add_argument("--content-layer", type=_layers, default=list(CONTENT_LAYERS),
                   help="default relu4_2 (the paper's conv4_2, after its ReLU)")
    t.add_argument("--style-layers", type=_layers, default=list(STYLE_LAYERS),
                   help="comma-separated; default relu1_1,...,relu5_1")
    t.set_defaults(func=transfer)

    sub.add_parser("bench", help="time and memory per evaluation, beside peers (see `nst bench --help`)")

    r = sub.add_parser("reconstruct", help="reconstruct an image's content or style from noise")
    r.add_argument("what", choices=["content", "style"])
    r.add_argument("image")
    _add_run_options(r, init="noise")
    r.add_argument("--layers", type=_layers,
                   help="comma-separated layer names (default: relu4_2 / relu1_1,...,relu5_1)")
    r.set_defaults(func=reconstruct)
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
    try:
        args.func(args)
    except NSTError as err:
        print(f"nst: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nst: interrupted; nothing written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
