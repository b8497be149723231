"""Train the shipped fast style networks: one per style in images/style, into nst_helpers/fast/networks/.

    python tools/train_fast_networks.py [STYLE ...] [--minutes 4] [--steps 300] [--crop 64] [--threads 1]

Each trains on `training_photos()` (never the held-out ones) with the settings below, for at most ``--minutes``
(the best weights so far are kept), and is saved in fp16 (about 0.55 MB). Run it under `nice`, one style at a
time; on a GPU, raise --steps. Prints the held-out photos' losses against the photo's own and the painting's.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst_helpers import VGG, Objective, images_dir, initial_image, load_image  # noqa: E402
from nst_helpers.fast import HELD_OUT, RATIO, TrainingSettings, save_network, train, training_photos  # noqa: E402
from nst_helpers.folders import shipped_images  # noqa: E402

OUT = ROOT / "nst_helpers" / "fast" / "networks"
SETTINGS = TrainingSettings(size=256, crop=64, batch=4, steps=300, lr=1e-3)  # the shipped networks' training
# alpha/beta per style: at RATIO (notebook 6's), composition, pointillism and swirls hardly changed a photo in 4 minutes
# of training (their held-out style loss only 1.2-1.9x below the photo's), so they get more style weight.
RATIOS = {"composition": 5e-3, "mosaic": RATIO, "pointillism": 2e-3, "swirls": 5e-3, "starry_night": 2e-3}


def held_out_report(vgg: VGG, net: torch.nn.Module, style: torch.Tensor) -> str:
    """Each held-out photo's style loss (times below the photo's) and content loss (times below the painting's)."""
    parts = []
    for name in HELD_OUT:
        photo = load_image(images_dir() / "content" / name, size=SETTINGS.size)
        objective = Objective(vgg, photo, style)
        with torch.no_grad():
            out, own, painting = (objective(x) for x in (net(photo), photo, initial_image(objective, "style")))
        parts.append(f"{name}: style {own['style'] / out['style']:.1f}x below the photo's, "
                     f"content {painting['content'] / out['content']:.1f}x below the painting's")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("styles", nargs="*", help="style names (default: every image in images/style)")
    parser.add_argument("--minutes", type=float, default=4.0, help="at most this long per style (default 4)")
    parser.add_argument("--steps", type=int, default=SETTINGS.steps)
    parser.add_argument("--crop", type=int, default=SETTINGS.crop, help="side of the square crops, px")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's; 1 is faster on a busy machine)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = TrainingSettings(**{**asdict(SETTINGS), "steps": args.steps, "crop": args.crop})
    styles = {Path(name).stem: path for name, path in shipped_images("style").items()}
    names = args.styles or sorted(p.stem for p in (images_dir() / "style").glob("*.png"))
    paths = training_photos()
    photos = [load_image(p, size=settings.size) for p in paths]
    vgg = VGG()
    OUT.mkdir(exist_ok=True)
    for name in names:
        style = load_image(styles[name], size=settings.size)
        result = train(vgg, style, photos, settings, ratio=RATIOS.get(name, RATIO), max_seconds=60 * args.minutes)
        info = {**asdict(settings), "style": styles[name].name, "steps": result.steps, "ratio": RATIOS.get(name, RATIO),
                "photos": len(photos), "crops": result.crops, "trained_on": [p.name for p in paths],
                "held_out": list(HELD_OUT), "best_step": result.best_step, "seconds": round(result.seconds)}
        path = save_network(result.net, OUT / f"{name}.pt", **info)
        print(f"{name}: {result.steps} steps ({result.steps / result.seconds:.2f} it/s), {result.crops} crops of "
              f"{len(photos)} photos, best at step {result.best_step}; {path.stat().st_size / 1e6:.2f} MB")
        print(f"  held out: {held_out_report(vgg, result.net, style)}")


if __name__ == "__main__":
    main()
