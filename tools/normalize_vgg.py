"""Measure the paper's normalisation of VGG19 and store it beside the package (nst_helpers/vgg19_normalization.pt).

Each convolutional filter's mean activation after its ReLU, over the photos and paintings in images/ (at 224 px,
every position, each image weighted equally), with the bundled Caffe weights and max pooling, the network as it
was trained. `VGG(normalized=True)` divides each filter by it. tests/test_vgg.py recomputes it and compares.

    python tools/normalize_vgg.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from nst_helpers import VGG, images_dir, load_image
from nst_helpers.normalization import SCALES_FILE, SIZE, mean_activations
from nst_helpers.saving import write_file


def scale_images() -> list[Path]:
    """The images the scales are measured on: every shipped photo and painting."""
    return sorted(images_dir().glob("content/*.png")) + sorted(images_dir().glob("style/*.png"))


def measure() -> dict[str, torch.Tensor]:
    """The per-filter mean activations of the Caffe VGG19 over `scale_images`."""
    vgg = VGG("vgg19", weights="caffe", pooling="max", device="cpu", normalized=False)
    return mean_activations(vgg, (load_image(path, size=SIZE) for path in scale_images()))


if __name__ == "__main__":
    scales = measure()
    target = Path(__file__).resolve().parents[1] / "nst_helpers" / SCALES_FILE
    write_file(target, lambda f: torch.save(scales, f))
    low = {name: int((m < 1e-3).sum()) for name, m in scales.items() if (m < 1e-3).any()}
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB) from {len(scale_images())} images; "
          f"filters that never fire: {low or 'none'}")
    for name, m in scales.items():
        print(f"  {name}: mean activation {m.mean():8.2f} (median {m.median():8.2f}, max {m.max():8.2f})")
