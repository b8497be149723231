"""A contact sheet of fast style networks on the held-out photos, each row beside its style image.

    python tools/fast_contact_sheet.py [--size 256] [--networks DIR ...] [--styles NAME ...] [-o FILE]

One row per style (default: every shipped network), one column per network folder (default: the shipped networks)
and held-out photo, the photos stylised at ``--size`` px (long side) in one pass; the style image first. Written to
outputs/fast_networks_<size>.jpg unless ``-o`` says where. Look at it after training: each row should read as its
painting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst_helpers import images_dir, load_image, output_dir, save_image  # noqa: E402
from nst_helpers.fast import HELD_OUT, load_network, shipped_networks, style_image_path, stylize  # noqa: E402


def sheet(styles: list[str], folders: list[Path], size: int) -> torch.Tensor:
    """The sheet as one image: rows of [style image, each folder's network on each held-out photo]."""
    photos = [load_image(images_dir() / "content" / name, size=size) for name in HELD_OUT]
    h, w = photos[0].shape[-2:]
    rows = []
    for name in styles:
        painting = load_image(style_image_path(name), size=size)
        cells = [F.interpolate(painting, size=(h, w), mode="bilinear", antialias=True)]
        for folder in folders:
            net = load_network(folder / f"{name}.pt")
            cells += [F.interpolate(stylize(net, p), size=(h, w), mode="bilinear", antialias=True) for p in photos]
        rows.append(torch.cat([F.pad(c, (2, 2, 2, 2), value=1.0) for c in cells], -1))
    return torch.cat(rows, -2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--networks", type=Path, nargs="+", default=[shipped_networks()["mosaic"].parent])
    parser.add_argument("--styles", nargs="+", default=list(shipped_networks()))
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    out = args.output or output_dir() / f"fast_networks_{args.size}.jpg"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(save_image(sheet(args.styles, args.networks, args.size), out))


if __name__ == "__main__":
    main()
