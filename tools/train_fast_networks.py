"""Train the shipped fast style networks into nst_helpers/fast/networks/, one per style named (default: all).

    python tools/train_fast_networks.py [STYLE ...] [--minutes 20] [--steps 4000] [--lr 1e-3] [--crop 128]
                                        [--size 256] [--channels 16 32 64] [--blocks 3] [--threads 1]
                                        [--from-shipped [NAME]] [--ratio 5e-3] [--style-size PX] [--out DIR]
    python tools/train_fast_networks.py --measure [NAME ...]

Each trains on `training_photos()` (never the held-out ones) on the fast networks' objective (`fast_objective`) with
the settings below, for at most ``--minutes`` (the best weights so far are kept), and is saved in fp16. With
``--from-shipped`` it starts from the shipped network's weights instead of a new network (``--from-shipped NAME``:
from the shipped network NAME's, a network that already paints the texture wanted; a fine-tune; what it
started from is recorded). Run it under `nice`, one style a core. On a GPU, Johnson et al.'s recipe in full is
``--size 512 --crop 256 --steps 40000 --channels 32 64 128 --blocks 5``.
Then each network is measured against the optimisation on the held-out photos at 256 px
(`against_optimization`: L-BFGS from the paper's start after 25, 50, 100, 200 steps, on the measure's objective,
alpha/beta = RATIO whatever the training's `--ratio`, cached in
outputs/fast_measure/), and the table is saved in the network's file (``info["against_lbfgs"]``), where notebook 6
reads it. ``--measure`` measures shipped networks again without training them.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst_helpers import VGG, images_dir, load_image  # noqa: E402
from nst_helpers.errors import NSTError  # noqa: E402
from nst_helpers.fast import (  # noqa: E402
    CONTENT_LAYERS,
    HELD_OUT,
    NORMALIZATION,
    RATIO,
    TrainingSettings,
    TransformNet,
    against_optimization,
    comparison_table,
    load_network,
    save_network,
    shipped_networks,
    style_image_path,
    train,
    training_photos,
    training_vgg,
)
from nst_helpers.fast.compare import measure_cache  # noqa: E402
from nst_helpers.fast.network import BLOCKS, CHANNELS  # noqa: E402
from nst_helpers.folders import shipped_images  # noqa: E402

OUT = ROOT / "nst_helpers" / "fast" / "networks"
SETTINGS = TrainingSettings(size=256, crop=128, batch=4, steps=4000, lr=1e-3)  # the shipped networks' training
MEASURE_SIZE = 256  # the held-out photos' size (long side) for the comparison with the optimisation


def measure(vgg: VGG, net: TransformNet, style_name: str) -> dict:
    """`against_optimization` on each held-out photo at MEASURE_SIZE px and alpha/beta = RATIO (whatever the
    training's), printed as a table and returned."""
    style = load_image(style_image_path(style_name), size=MEASURE_SIZE)
    results = {name: against_optimization(vgg, net, load_image(images_dir() / "content" / name, size=MEASURE_SIZE),
                                          style, RATIO, cache=measure_cache(style_name, name, MEASURE_SIZE, RATIO))
               for name in HELD_OUT}
    print(comparison_table(results))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("styles", nargs="*", help="style names (default: every image in images/style)")
    parser.add_argument("--minutes", type=float, default=20.0, help="at most this long per style (default 20)")
    parser.add_argument("--steps", type=int, default=SETTINGS.steps)
    parser.add_argument("--lr", type=float, default=SETTINGS.lr, help=f"Adam's learning rate (default {SETTINGS.lr:g})")
    parser.add_argument("--ratio", type=float, default=RATIO, help=f"alpha/beta (default {RATIO:g})")
    parser.add_argument("--from-shipped", nargs="?", const=True, metavar="NAME",
                        help="start from the shipped network's weights (NAME: that network's, for every style)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the networks go (default: the shipped ones')")
    parser.add_argument("--crop", type=int, default=SETTINGS.crop, help="side of the square crops, px")
    parser.add_argument("--size", type=int, default=SETTINGS.size, help="photos' long side, px")
    parser.add_argument("--style-size", type=int, help="the style image's long side, px (default: --size)")
    parser.add_argument("--channels", type=int, nargs=3, default=CHANNELS, metavar="C",
                        help=f"widths at full, 1/2 and 1/4 size (default: {' '.join(map(str, CHANNELS))})")
    parser.add_argument("--blocks", type=int, default=BLOCKS, help=f"residual blocks (default: {BLOCKS})")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's; 1 is faster on a busy machine)")
    parser.add_argument("--measure", action="store_true", help="only measure shipped networks against L-BFGS")
    args = parser.parse_args(argv)
    known = set(shipped_networks()) if args.measure else {Path(file).stem for file in shipped_images("style")}
    if set(args.styles) - known:  # one line, before minutes of loading and training
        parser.error(f"unknown: {', '.join(sorted(set(args.styles) - known))}; choose from {', '.join(sorted(known))}")
    if args.from_shipped not in (None, True, *shipped_networks()):
        parser.error(f"no shipped network {args.from_shipped!r}; choose from {', '.join(shipped_networks())}")
    if args.threads:
        torch.set_num_threads(args.threads)
    vgg = training_vgg()
    if args.measure:
        for name in args.styles or list(shipped_networks()):
            net = load_network(OUT / f"{name}.pt")
            print(f"{name} ({net.info['steps']} steps, trained at alpha/beta {net.info['ratio']:g}):")
            info = {**net.info, "against_lbfgs": measure(vgg, net, Path(net.info["style"]).stem)}
            save_network(net, OUT / f"{name}.pt", **info)
        return
    sizes = (args.steps, args.crop, args.size, 1 if args.style_size is None else args.style_size, *args.channels)
    if min(sizes) < 1 or args.blocks < 0:  # crops too large: `Crops` says
        parser.error("--steps, --crop, --size, --style-size and --channels must be positive, --blocks at least 0")
    settings = TrainingSettings(**{**asdict(SETTINGS), "steps": args.steps, "crop": args.crop, "size": args.size,
                                   "lr": args.lr})
    names = args.styles or sorted(Path(file).stem for file in shipped_images("style"))
    paths = training_photos()
    photos = [load_image(p, size=settings.size) for p in paths]
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        ratio, before = args.ratio, None
        torch.manual_seed(0)  # the start `train` makes when it builds the network itself (its seed, 0)
        start = name if args.from_shipped is True else args.from_shipped
        net = load_network(OUT / f"{start}.pt") if start else TransformNet(tuple(args.channels), args.blocks)
        if args.from_shipped:
            before = {k: v for k, v in net.info.items() if k not in ("against_lbfgs", "checks", "trained_on")}
        style = load_image(style_image_path(name), size=args.style_size or settings.size)
        result = train(vgg, style, photos, settings, ratio=ratio,
                       net=net, max_seconds=60 * args.minutes)
        print(f"{name}: {result.steps} steps ({result.steps / result.seconds:.2f} it/s), {result.crops} crops of "
              f"{len(photos)} photos, best at step {result.best_step}")
        info = {**asdict(settings), "style": style_image_path(name).name,
                "style_size": max(style.shape[-2:]), "steps": result.steps, "ratio": ratio,
                "photos": len(photos), "crops": result.crops, "trained_on": [p.name for p in paths],
                "held_out": list(HELD_OUT), "best_step": result.best_step, "seconds": round(result.seconds),
                "checks": result.checks, "content_layers": CONTENT_LAYERS, "normalization": NORMALIZATION,
                "network": "VGG19, normalised", "started_from": before}
        info["against_lbfgs"] = measure(vgg, result.net, name)  # at RATIO, whatever the training's: one measure
        path = save_network(result.net, args.out / f"{name}.pt", **info)
        print(f"  saved {path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    try:
        main()
    except NSTError as err:  # a photo smaller than the crop, a missing or broken network file: one line, no traceback
        sys.exit(f"train_fast_networks.py: error: {err}")
