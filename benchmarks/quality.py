"""Time to quality: does coarse-to-fine (size/4, size/2, size) reach single-scale L-BFGS's loss sooner?"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from nst_helpers import VGG, Objective, images_dir, load_image, optimize_image, optimize_multiscale

RESULTS = Path(__file__).resolve().parent / "results"


def time_to_quality(size: int = 512, steps: int = 200, device: str = "cpu", out: Path = RESULTS) -> dict:
    """Wall time for single-scale L-BFGS to run ``steps`` at ``size``, and for coarse-to-fine (size/4, size/2,
    size) to reach that run's best loss. Uses the shipped astronaut and swirls images; writes JSON to ``out``."""
    images = images_dir()
    vgg = VGG(device=device)

    def build(s: int) -> Objective:
        content, style = images / "content" / "astronaut.png", images / "style" / "swirls.png"
        return Objective(vgg, load_image(content, size=s), load_image(style, size=s))

    single = optimize_image(build(size), init="content", steps=steps, progress=False)
    target = min(single.history["total"])  # its best: L-BFGS without a line search can end on an uphill step
    final = build(size)
    multi = optimize_multiscale(
        lambda s: final if s == size else build(s),
        [size // 4, size // 2, size],
        [steps, steps // 2, steps],
        init="content",
        progress=False,
        callback=lambda step, image, losses: losses["total"] <= target if image.shape[-1] == size else False,
    )
    reached = multi.history["total"][-1] <= target
    report = {
        "size": size,
        "steps": steps,
        "single_seconds": single.seconds,
        "single_loss": target,
        "multiscale_seconds": multi.seconds,
        "multiscale_loss": multi.history["total"][-1],
        "reached": reached,
    }
    print(
        f"{size} px: single-scale {steps} steps {single.seconds:.0f} s to loss {target:.4g}; coarse-to-fine "
        f"{'reached it' if reached else 'did not reach it'} in {multi.seconds:.0f} s "
        f"({multi.seconds / single.seconds:.2f}x)"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"quality_{torch.device(device).type}_{size}.json").write_text(json.dumps(report, indent=1))
    return report
