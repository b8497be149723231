"""Figures: labelled image grids, feature-map grids and loss curves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from .images import to_pil


def show_images(
    images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 3.0,
    suptitle: str | None = None,
) -> Figure:
    """Show images side by side (a dict maps title -> image); returns the figure."""
    if isinstance(images, Mapping):
        titles, images = list(images), list(images.values())
    n = len(images)
    ncols = ncols or min(n, 5)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_pil(images[i]))
            if titles is not None:
                ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_feature_maps(features: torch.Tensor, channels: Sequence[int], title: str = "", size: float = 1.6) -> Figure:
    """Show selected channels of a feature map (1, C, H, W) as a row of heat maps."""
    fig, axes = plt.subplots(1, len(channels), figsize=(size * len(channels), size * 1.15), squeeze=False)
    for ax, c in zip(axes.flat, channels):
        ax.imshow(features[0, c].detach().cpu().numpy(), cmap="viridis")
        ax.set_title(f"{title} #{c}".strip(), fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_losses(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    term: str = "total",
    x: str = "step",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Loss curves on a log scale, one per run; ``x`` is 'step' or 'time' (seconds)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, history in histories.items():
        values = history[term]
        xs = history["time"][: len(values)] if x == "time" else range(1, len(values) + 1)
        ax.plot(xs, values, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("seconds" if x == "time" else "step")
    ax.set_ylabel(f"{term} loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax
