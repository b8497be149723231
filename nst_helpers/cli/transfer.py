"""`nst transfer` and `nst reconstruct`: one image optimised until its features match the targets (notebooks 2-4).

The size is checked against free memory before any image is loaded; the output is written only at the end, and a run
stopped early (a signal, a non-finite loss, out of memory) saves its best image.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import torch

from ..backbone import ARCHITECTURES, Backbone
from ..images import image_writer, load_image
from ..objective import Objective, check_memory
from ..optimize import optimize_image
from ..precision import resolve
from ..profiles import profile
from .shared import Output, add_device_and_profile, add_precision, check_output, finish, positive_int, weight


def _layers(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _size(vgg: Backbone, size: int, layers: list[str]) -> int:
    """``size``, once a square run of that size fits in memory: a square bounds every aspect ratio, and this runs
    before any image is resized or any feature computed."""
    check_memory(vgg, size, size, layers)
    return size


def _network(args: argparse.Namespace, device: torch.device) -> Backbone:
    """The network of the options; --weights defaults to 'caffe' for a VGG, 'torchvision' for the others."""
    weights = args.weights or ("caffe" if args.arch.startswith("vgg") else "torchvision")
    return Backbone(args.arch, weights=weights, pooling=args.pooling, device=device)


def transfer(args: argparse.Namespace) -> int:
    """Style transfer of CONTENT in the style of STYLE, written to OUT."""
    output = check_output(args.output, [args.content, args.style, args.weights])
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
    output = check_output(args.output, [args.image, args.weights])
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


def _run(objective: Objective, args: argparse.Namespace, default_steps: int, output: Output) -> int:
    """Optimise, save and report in one line; the exit code."""
    with warnings.catch_warnings():  # printed below as one line instead
        warnings.simplefilter("ignore", RuntimeWarning)
        result = optimize_image(
            objective, init=args.init, steps=args.steps or default_steps, optimizer=args.optimizer, seed=args.seed,
            progress=sys.stderr.isatty(),  # a progress bar in a log file is noise, not one line
        )
    losses = result.history["total"]  # empty if stopped before the first step
    done = f"{result.steps} steps, {result.seconds:.1f} s, {objective.precision.name}"
    done += f", final loss {losses[-1]:.4g}" if losses else ""
    return finish(args, image_writer(result.image, output.path.suffix), output, result.stopped, done)


def _add_run_options(p: argparse.ArgumentParser, init: str) -> None:
    p.add_argument("-o", "--output", required=True, help="output image (.png or .jpg); never one of the inputs")
    p.add_argument("--size", type=positive_int, help="long side in px (default: from the profile)")
    p.add_argument("--steps", type=positive_int, help="optimisation steps (default: from the profile)")
    p.add_argument("--init", choices=["content", "style", "noise", "uniform"], default=init)
    p.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    p.add_argument("--pooling", choices=["avg", "max"], default="avg")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="vgg19")
    p.add_argument("--weights", help="'caffe' (bundled; a VGG's default), 'torchvision' (others'), 'random' or a file")
    p.add_argument("--seed", type=int, default=0)
    add_device_and_profile(p)
    add_precision(p)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `transfer` and `reconstruct` to `nst`'s subcommands."""
    t = sub.add_parser("transfer", help="paint CONTENT in the style of STYLE")
    t.add_argument("content")
    t.add_argument("style")
    _add_run_options(t, init="content")
    t.add_argument("--content-weight", type=weight, default=1.0, help="alpha (default 1)")
    t.add_argument("--style-weight", type=weight, help="beta (default: the paper's 1e3, alpha/beta = 1e-3)")
    t.add_argument("--tv-weight", type=weight, default=0.0)
    t.add_argument("--content-layer", type=_layers, help="default: the network's; VGG's relu4_2 (the paper's conv4_2)")
    t.add_argument("--style-layers", type=_layers, help="comma-separated; default: the network's; VGG's relu1_1,...")
    t.set_defaults(func=transfer)

    r = sub.add_parser("reconstruct", help="reconstruct an image's content or style from noise")
    r.add_argument("what", choices=["content", "style"])
    r.add_argument("image")
    _add_run_options(r, init="noise")
    r.add_argument("--layers", type=_layers, help="comma-separated (default: the network's: relu4_2 / relu1_1,...)")
    r.set_defaults(func=reconstruct)
