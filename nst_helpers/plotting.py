"""Figures: labelled image grids and loss curves (of several runs, or of one run's terms)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .images import to_pil


def show_images(
    images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 3.0,
    suptitle: str | None = None,
) -> Figure:
    """Show images side by side (a dict maps title -> image), pixels unsmoothed; returns the figure."""
    if isinstance(images, Mapping):
        titles, images = list(images), list(images.values())
    n = len(images)
    ncols = ncols or min(n, 5)
    nrows = math.ceil(n / ncols)
    # panels as tall as the tallest image needs (3:2 photos get no empty bands), plus room for the titles' lines
    height = size * max(image.shape[-2] / image.shape[-1] for image in images)
    height += 0.2 * max(str(title).count("\n") + 1 for title in titles) if titles else 0
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height * nrows), squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_pil(images[i]), interpolation="nearest")  # each pixel as it is (and a third smaller PNGs)
            if titles is not None:
                ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_as_jpeg(fig: Figure, quality: int = 90) -> Figure:
    """In a notebook (matplotlib's inline backend), show ``fig`` now as a JPEG and close it: a grid of photos is a
    fifth of the bytes of the inline backend's PNG, which keeps a notebook of 512 px panels small. Elsewhere (a
    script, the tests) leave it open. Returns ``fig`` (end the notebook line with ``;``, or it is shown twice)."""
    if "inline" in matplotlib.get_backend():
        from IPython.display import Image, display

        buffer = io.BytesIO()
        fig.savefig(buffer, format="jpeg", bbox_inches="tight", pil_kwargs={"quality": quality})
        plt.close(fig)
        display(Image(buffer.getvalue(), format="jpeg"))
    return fig


def plot_losses(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    term: str = "total",
    x: str = "step",
    ax: Axes | None = None,
) -> Axes:
    """Loss curves on a log scale, one per run; ``x`` is 'step' or 'time' (seconds)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    curves = {}
    for label, history in histories.items():
        values = history[term]
        xs = history["time"][: len(values)] if x == "time" else range(1, len(values) + 1)
        curves[label] = (xs, values, None)
    _draw_curves(ax, curves, log=True)
    ax.set_xlabel("seconds" if x == "time" else "step")
    ax.set_ylabel(f"{term} loss")
    return ax


def plot_terms(history: Mapping[str, Sequence[float]], ax: Axes, log: bool = True) -> Axes:
    """Every loss term of one run (all but 'time') over the steps, the total thicker; a hint while there are none."""
    curves = {name: (range(1, len(values) + 1), values, 2 if name == "total" else 1.2)
              for name, values in history.items() if name != "time" and len(values)}
    if not curves:
        ax.text(0.5, 0.5, "the loss curve\nappears here", ha="center", va="center", color="grey",
                transform=ax.transAxes)
    _draw_curves(ax, curves, log)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step", fontsize=9)
    ax.tick_params(labelsize=8)
    return ax


Curve = tuple[Sequence[float], Sequence[float], float | None]  # x values, y values, line width (None: the default)


def _draw_curves(ax: Axes, curves: Mapping[str, Curve], log: bool) -> None:
    """One line per label, the scale, a legend and a light grid. On a log scale values <= 0 are left out: they
    have no log (a content loss is 0 at step 1 of a run that starts from the content image)."""
    for label, (xs, values, width) in curves.items():
        values = np.asarray(values, dtype=float)
        ax.plot(xs, np.where(values > 0, values, np.nan) if log else values, label=label, lw=width)
    if curves:
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
