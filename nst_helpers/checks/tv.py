"""The check of exercise 5 (notebook 4): the total variation, as the package's `total_variation` computes it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction

import torch

from ..losses import total_variation
from .core import BATCH, SHAPES, CheckFailed, call, differentiable, inputs, ok, on_batch, one_number
from .diagnose import Formula, Monomial, close, diagnose

PIXELS = ("divided by the pixel count: each direction has its own number of neighbour pairs, C*H*(W-1) and "
          "C*(H-1)*W: take each direction's mean")
CHANNELS = ("differences between channels: image[:, 1:] is the channel axis of (B, C, H, W); take the differences "
            "along H and W, image[..., 1:, :] and image[..., :, 1:]")
CROPPED = ("cropped to (H-1) x (W-1): that leaves out the last row's horizontal and the last column's vertical "
           "differences; take x[..., :, 1:] - x[..., :, :-1] and x[..., 1:, :] - x[..., :-1, :] whole")
SUMMED = ("summed: take each direction's mean, dx.pow(2).mean() + dy.pow(2).mean(), as the package's "
          "total_variation does")
ONLY = "only the {} neighbours: add the {} differences too, each direction's mean"


def _dropped(x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Slices off by one: each direction whole, or without its first or its last pair of neighbours."""
    def pairs(d: int) -> list[tuple[str, torch.Tensor]]:
        a, b = x.narrow(d, 1, x.shape[d] - 1), x.narrow(d, 0, x.shape[d] - 1)
        return [("", a - b), ("first", a.narrow(d, 1, a.shape[d] - 1) - b.narrow(d, 1, b.shape[d] - 1)),
                ("last", a.narrow(d, 0, a.shape[d] - 1) - b.narrow(d, 0, b.shape[d] - 1))]
    found = []
    for (lost_x, dx), (lost_y, dy) in itertools.product(pairs(-1), pairs(-2)):
        if lost_x or lost_y:
            lost = [f"the {which} {axis} pair" for which, axis in ((lost_x, "horizontal"), (lost_y, "vertical"))
                    if which]
            found.append((f"a slice off by one (1:-1 or :-2?) leaves out {' and '.join(lost)} of each row or column: "
                          "x[..., 1:] - x[..., :-1] takes all W-1 pairs, x[..., 1:, :] - x[..., :-1, :] all H-1",
                          dx.pow(2).mean() + dy.pow(2).mean()))
    return found


def _variants(x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """What the usual slips compute on image ``x``."""
    dx, dy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
    gray = x.sum(1, keepdim=True)  # what a difference kernel applied across the colour channels sees
    cx, cy = x[..., :-1, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, :-1]  # cropped to (H-1) x (W-1)
    bx, by = x[..., 1:, 1:] - x[..., 1:, :-1], x[..., 1:, 1:] - x[..., :-1, 1:]  # the same, from the other corner
    dc = x[:, 1:] - x[:, :-1]  # between channels
    summed = dx.pow(2).sum() + dy.pow(2).sum()
    return [
        (SUMMED, summed),
        ("one mean over both directions together: take each direction's mean and add the two",
         summed / (dx.numel() + dy.numel())),
        (PIXELS, summed / x.numel()),
        (PIXELS, summed / (x.shape[-2] * x.shape[-1])),
        (CROPPED, cx.pow(2).mean() + cy.pow(2).mean()),
        (CROPPED, (cx.pow(2) + cy.pow(2)).mean()),
        (CROPPED, (cx.pow(2) + cy.pow(2)).sum()),
        (CROPPED, bx.pow(2).mean() + by.pow(2).mean()),
        (CROPPED, (bx.pow(2) + by.pow(2)).mean()),
        (CROPPED, (bx.pow(2) + by.pow(2)).sum()),
        ("to the power 1.25 (the TV of some codebases, on a crop to (H-1) x (W-1)): this exercise's TV is each "
         "direction's mean of the squared differences", (cx.pow(2) + cy.pow(2)).pow(1.25).sum()),
        ("to the power 1.25 (the TV of some codebases, on a crop to (H-1) x (W-1)): this exercise's TV is each "
         "direction's mean of the squared differences", (cx.pow(2) + cy.pow(2)).pow(1.25).mean()),
        ("the norms of dx and dy, square roots of their sums of squares: take each direction's mean of the "
         "squares, dx.pow(2).mean()", dx.pow(2).sum().sqrt() + dy.pow(2).sum().sqrt()),
        ("the mean difference, squared: square each difference first, then take the mean, dx.pow(2).mean()",
         dx.mean().pow(2) + dy.mean().pow(2)),
        (ONLY.format("horizontal", "vertical"), dx.pow(2).mean()),
        (ONLY.format("vertical", "horizontal"), dy.pow(2).mean()),
        (ONLY.format("horizontal", "vertical") + " (summed: take the mean)", dx.pow(2).sum()),
        (ONLY.format("vertical", "horizontal") + " (summed: take the mean)", dy.pow(2).sum()),
        ("each direction divided by the other's number of pairs: dx has C*H*(W-1), dy C*(H-1)*W; take each "
         "direction's .mean()", dx.pow(2).sum() / dy.numel() + dy.pow(2).sum() / dx.numel()),
        ("both directions divided by dx's number of pairs: dy has its own, C*(H-1)*W; take each direction's .mean()",
         summed / dx.numel()),
        ("both directions divided by dy's number of pairs: dx has its own, C*H*(W-1); take each direction's .mean()",
         summed / dy.numel()),
        ("divided by C*(H-1)*(W-1): each direction has its own number of pairs, C*H*(W-1) and C*(H-1)*W; take each "
         "direction's .mean()", summed / (x.shape[1] * (x.shape[2] - 1) * (x.shape[3] - 1))),
        ("neighbours two pixels apart: x[..., 1:] - x[..., :-1] compares each pixel with the next",
         (x[..., 2:] - x[..., :-2]).pow(2).mean() + (x[..., 2:, :] - x[..., :-2, :]).pow(2).mean()),
        ("absolute differences: square them instead", dx.abs().mean() + dy.abs().mean()),
        ("absolute differences, summed: square them, and take each direction's mean", dx.abs().sum() + dy.abs().sum()),
        ("the square root of dx² + dy² (the isotropic TV of image denoising): this exercise's TV is the mean "
         "squared differences, with no root", (cx.pow(2) + cy.pow(2)).sqrt().mean()),
        ("the square root of dx² + dy², summed (the isotropic TV of image denoising): this exercise's TV is each "
         "direction's mean of the squared differences, with no root", (cx.pow(2) + cy.pow(2)).sqrt().sum()),
        ("the square root of the total variation: the formula has no root",
         (dx.pow(2).mean() + dy.pow(2).mean()).sqrt()),
        ("it wraps around the edges (torch.roll?): compare only neighbours inside the image, "
         "x[..., 1:] - x[..., :-1]", (x - x.roll(1, -1)).pow(2).mean() + (x - x.roll(1, -2)).pow(2).mean()),
        (CHANNELS, dc.pow(2).mean() + dx.pow(2).mean()),
        (CHANNELS, dc.pow(2).mean() + dy.pow(2).mean()),
        ("the square root of each direction's mean: the formula adds the two means, with no root",
         dx.pow(2).mean().sqrt() + dy.pow(2).mean().sqrt()),
        ("a conv2d difference kernel without groups=3 adds the colour channels before the differences: pass "
         "groups=3 with a (3, 1, kh, kw) kernel, one per channel", total_variation(gray)),
        *_dropped(x),
    ]


RGB = [(1, 3, h, w) for _, _, h, w in SHAPES]  # the notebook's images: an answer may take 3 channels only


def _run(name: str, fn: Callable) -> tuple[list[tuple[int, ...]], list[torch.Tensor], list[torch.Tensor]]:
    """The shapes, the images and ``fn``'s results: on SHAPES, or, for an answer that takes 3 channels only (a
    conv2d kernel made for RGB), on RGB images of the same heights and widths."""
    try:
        images = [inputs(*s, seed=i + 40) for i, s in enumerate(SHAPES)]
        return SHAPES, images, [call(name, fn, image) for image in images]
    except CheckFailed as failed:
        try:
            images = [inputs(*s, seed=i + 40) for i, s in enumerate(RGB)]
            return RGB, images, [call(name, fn, image) for image in images]
        except CheckFailed:
            raise failed from None


def check_total_variation(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(image)``: the total variation as the package's `total_variation` (its default) computes it: the mean
    squared difference between horizontal neighbours plus the mean squared difference between vertical neighbours,
    over every channel and every pair inside the image."""
    name = "total variation"
    shapes, images, outs = _run(name, fn)
    if outs[0].numel() != 1:
        raise CheckFailed(f"{name}: should be one number, got shape {tuple(outs[0].shape)}: add the two directions' "
                          "means")
    per_image = [_variants(image.detach()) for image in images]
    named = [(message, [found[i][1] for found in per_image]) for i, (message, _) in enumerate(per_image[0])]
    per_channel = "per-channel means added over the C channels: take each direction's mean over every channel too"
    formula = Formula(shapes, [total_variation(x.detach()) for x in images], symbols={"N": "C"}, what="images",
                      known={Monomial(1.0, Fraction(1)) if shapes is SHAPES else Monomial(3.0): per_channel},
                      note=" (the formula: dx.pow(2).mean() + dy.pow(2).mean())")
    diagnose(name, [out.reshape(()) for out in outs], formula, named)
    differentiable(name, outs[0].reshape(()), images[0])
    batch = inputs(BATCH, *SHAPES[0][1:], seed=46).detach()
    out = on_batch(fn, batch)
    one_number(name, out)
    added = sum(total_variation(image) for image in batch)  # each image's TV, added
    if out is not None and out.numel() == 1 and close([out.reshape(())], [added]):
        raise CheckFailed(f"{name}: the images' TVs added on a batch of {BATCH}: the formula's means run over the "
                          "batch too, dx.pow(2).mean() + dy.pow(2).mean() with no dim")
    ok(name)
