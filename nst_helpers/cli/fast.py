"""`nst train` and `nst stylize`: a fast style network trained on photos, then one pass per photo (notebook 6).

The same rules as the rest of `nst` (shared.py): every user error is one line on stderr and exit code 2, checked
before the work starts (the memory a training step or a pass needs too); the output is written only at the end, and
`nst train` replaces no file; Ctrl-C, SIGTERM and SIGHUP stop the training, save the best weights so far and exit with
128 + the signal's number.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path

from ..errors import ParameterError
from ..fast.network import (
    TransformNet,
    check_pass_memory,
    load_network,
    network_path,
    network_writer,
    shipped_networks,
    stylize,
)
from ..fast.train import LAYERS, RATIO, TRAINING, check_training_memory, train, training_photos, training_vgg
from ..images import SAVE_FORMATS, image_writer, load_image
from ..objective import check_memory
from ..profiles import get_device, profile
from .shared import add_device_and_profile, check_output, finish, positive_int, weight


def _ratio(text: str) -> float:
    value = weight(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _photos(folder: str) -> list[Path]:
    """The image files in ``folder``, for `nst train --photos`: regular files only (a FIFO or a device named .jpg
    could hang the run); a folder that cannot be read is one line."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ParameterError(f"--photos {folder}: not a folder")
    try:
        photos = sorted(p for p in path.iterdir() if p.suffix.lower() in SAVE_FORMATS and p.is_file())
    except OSError as err:
        raise ParameterError(f"--photos {folder}: cannot read it: {err.strerror or err}") from None
    if not photos:
        raise ParameterError(f"--photos {folder}: no .png, .jpg or .jpeg files in it")
    return photos


def train_network(args: argparse.Namespace) -> int:
    """Train a network on the shipped photos (or those of --photos) to paint them in the style of STYLE."""
    output = check_output(args.output, [args.style], suffixes=(".pt", ".pth"), new=True)  # a network is never replaced
    p = profile(args.profile, device=args.device)
    chosen = {"size": args.size, "crop": args.crop, "batch": args.batch, "steps": args.steps, "ratio": args.ratio}
    settings = replace(TRAINING[p.name], **{k: v for k, v in chosen.items() if v})
    if args.start:
        settings = replace(settings, start=None if args.start.lower() == "none" else args.start)
    if settings.start:
        load_network(network_path(settings.start))  # a missing or broken one is one line, before anything is loaded
    paths = _photos(args.photos) if args.photos else training_photos()
    vgg = training_vgg(p.device)
    check_memory(vgg, settings.size, settings.size, LAYERS)  # the style image's targets, before anything is loaded
    check_training_memory(vgg, TransformNet(), settings.crop, settings.batch)
    photos = [load_image(path, size=settings.size) for path in paths]
    style = load_image(args.style, size=settings.size)
    with warnings.catch_warnings():  # printed below as one line instead
        warnings.simplefilter("ignore", RuntimeWarning)
        result = train(vgg, style, photos, settings, seed=args.seed, progress=sys.stderr.isatty())
    info = {"style": Path(args.style).name, **asdict(settings), "steps": result.steps,
            "photos": len(photos), "crops": result.crops, "best_step": result.best_step}
    done = (f"{result.steps} steps, {result.crops} crops of {len(photos)} photos, {result.seconds:.1f} s; "
            f"best weights at step {result.best_step}")
    return finish(args, network_writer(result.net, **info), output, result.stopped, done)


def stylize_photo(args: argparse.Namespace) -> int:
    """PHOTO through a trained network (a file of `nst train`, or a shipped style's name), written to OUT."""
    model = network_path(args.model)
    output = check_output(args.output, [args.photo, str(model)])
    net = load_network(model, device=get_device(args.device))
    size = args.size or net.info.get("size")
    if size:  # a square bounds every aspect ratio: checked before the photo is loaded
        check_pass_memory(net, size, size)
    photo = load_image(args.photo, size=size)
    start = time.perf_counter()
    image = stylize(net, photo)
    seconds = time.perf_counter() - start
    done = f"{image.shape[-1]}x{image.shape[-2]} px in {seconds * 1000:.0f} ms"
    return finish(args, image_writer(image, output.path.suffix), output, None, done)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `train` and `stylize` to `nst`'s subcommands."""
    t = sub.add_parser("train", help="train a fast style network; then one pass stylises a photo")
    t.add_argument("style")
    t.add_argument("-o", "--output", required=True, help="the network's file (.pt or .pth); never the style image")
    t.add_argument("--photos", help="a folder of photos to train on (default: the shipped ones but the held-out)")
    t.add_argument("--steps", type=positive_int, help="training steps (default: from the profile)")
    t.add_argument("--size", type=positive_int, help="the photos' long side in px (default: from the profile)")
    t.add_argument("--crop", type=positive_int, help="side of the square crops in px (default: from the profile)")
    t.add_argument("--batch", type=positive_int, help="crops per step (default: from the profile)")
    t.add_argument("--ratio", type=_ratio, help="alpha/beta (default: from the profile; the shipped networks' is "
                   f"{RATIO:g})")
    t.add_argument("--start", help="a shipped network to start from, or 'none' for a new one (default: from the "
                   "profile: " + ", ".join(f"{name} {v.start or 'none'}" for name, v in TRAINING.items()) + ")")
    t.add_argument("--seed", type=int, default=0)
    add_device_and_profile(t)
    t.set_defaults(func=train_network)

    s = sub.add_parser("stylize", help="paint PHOTO with a trained network, in one pass")
    s.add_argument("photo")
    s.add_argument("--model", required=True,
                   help="a file of `nst train`, or a shipped style: " + (", ".join(shipped_networks()) or "none"))
    s.add_argument("-o", "--output", required=True, help="output image (.png or .jpg); never the input")
    s.add_argument("--size", type=positive_int, help="long side in px (default: the size it was trained at)")
    s.add_argument("--device", help="cpu, cuda or mps (default: the fastest available)")
    s.set_defaults(func=stylize_photo)
