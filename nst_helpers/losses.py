"""Content loss, Gram matrix, style loss and total variation, each with its normalisation named.

Notation (Gatys et al.): a layer l has N_l feature maps of M_l = height x width pixels each.
F is the generated image's feature map (N_l x M_l), P the content target's, G = F F^T the Gram
matrix of the generated image and A the style target's Gram matrix.

Normalisations in circulation (blog posts and codebases disagree; the paper's text writes 'paper'):

============  ==============================  ======================================
name          content loss                    style loss of one layer
============  ==============================  ======================================
'paper'       1/2 * sum (F - P)^2              1/(4 N^2 M^2) * sum (G - A)^2
'paper-mean'  mean (F - P)^2                   1/(4 N^2 M^2) * sum (G - A)^2
'mean'        mean (F - P)^2                   mean ((G - A) / (N M))^2
'sum'         sum (F - P)^2                    sum (G - A)^2
============  ==============================  ======================================

'paper-mean' is the text's style term with the content term averaged over the layer's N M entries, as the
authors' own code does (its mean squared error): with it, on the normalised VGG19, the paper's ratios alpha/beta
give the paper's figures at any image size (docs/design.md, "The objective that gives the paper's figures").
`Objective` uses it by default; the functions here default to the text's 'paper', the formulas the exercises write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch

from .errors import ParameterError

Normalization = Literal["paper", "paper-mean", "mean", "sum"]
NORMALIZATIONS = ("paper", "paper-mean", "mean", "sum")


def _check(normalization: str) -> None:
    if normalization not in NORMALIZATIONS:
        raise ParameterError(f"unknown normalization {normalization!r}; use one of {', '.join(NORMALIZATIONS)}")


def content_loss(features: torch.Tensor, target: torch.Tensor, normalization: Normalization = "paper") -> torch.Tensor:
    """Squared error between feature maps: 'paper' is 1/2 sum (F - P)^2, 'paper-mean' and 'mean' mean (F - P)^2."""
    _check(normalization)
    if features.shape != target.shape:
        raise ParameterError(f"content features {tuple(features.shape)} and target {tuple(target.shape)} "
                             "differ in shape")
    sq = (features - target).pow(2)
    if normalization == "paper":
        return 0.5 * sq.sum()
    return sq.sum() if normalization == "sum" else sq.mean()


class _Gram(torch.autograd.Function):
    """F F^T with a backward of one matmul, (dG + dG^T) F, where autograd would do two."""

    @staticmethod
    def forward(ctx, f: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(f)
        return f @ f.transpose(1, 2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (f,) = ctx.saved_tensors
        sym = grad + grad.transpose(1, 2)
        if f.stride(1) == 1:  # F stored transposed (channels_last maps): its gradient in that layout, F^T sym, too
            return (f.transpose(1, 2) @ sym).transpose(1, 2)
        return sym @ f


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T per image: (B, N, H, W) -> (B, N, N), unnormalised, as in the paper."""
    b, n, h, w = features.shape
    if not features.is_contiguous() and features.is_contiguous(memory_format=torch.channels_last):
        # the fast path's maps (precision.py) hold F^T in memory: read it as it lies, with no transposing copy
        return _Gram.apply(features.permute(0, 2, 3, 1).reshape(b, h * w, n).transpose(1, 2))
    return _Gram.apply(features.reshape(b, n, h * w))


def style_layer_loss(
    gram: torch.Tensor, target_gram: torch.Tensor, n: int, m: int, normalization: Normalization = "paper"
) -> torch.Tensor:
    """E_l for one layer with ``n`` feature maps of ``m`` pixels: 'paper' (and 'paper-mean') is
    sum (G - A)^2 / (4 n^2 m^2)."""
    _check(normalization)
    if gram.shape[-2:] != target_gram.shape[-2:]:
        raise ParameterError(f"Gram matrices {tuple(gram.shape)} and {tuple(target_gram.shape)} differ in shape")
    diff = gram - target_gram
    if normalization in ("paper", "paper-mean"):
        return diff.pow(2).sum() / (4 * n**2 * m**2)
    if normalization == "mean":
        return (diff / (n * m)).pow(2).mean()
    return diff.pow(2).sum()


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float] | None = None,
    normalization: Normalization = "paper",
) -> torch.Tensor:
    """L_style = sum_l w_l E_l over the layers of ``target_grams``; w_l defaults to 1 / (number of layers).

    ``features`` are the generated image's feature maps; ``target_grams`` the style image's Gram
    matrices (compute them once with `gram_matrix`, not at every step).
    """
    if not target_grams:
        raise ParameterError("no style layers given; name at least one, e.g. 'relu1_1'")
    weights = layer_weights or {name: 1 / len(target_grams) for name in target_grams}
    total = torch.zeros((), device=next(iter(features.values())).device)
    for name, target in target_grams.items():
        f = features[name]
        _, n, h, w = f.shape
        total = total + weights[name] * style_layer_loss(gram_matrix(f), target, n, h * w, normalization)
    return total


def total_variation(image: torch.Tensor, normalization: Literal["mean", "sum"] = "mean") -> torch.Tensor:
    """Squared differences between neighbouring pixels: penalises high-frequency noise.

    'mean' (the default; what `Objective(tv_weight=...)` adds and the course's exercise 5 asks for) is the mean
    of (x[i, j+1] - x[i, j])^2 over the horizontal pairs plus the mean of (x[i+1, j] - x[i, j])^2 over the
    vertical pairs, so it does not grow with the pixel count; 'sum' adds up both instead.
    """
    dx = (image[..., :, 1:] - image[..., :, :-1]).pow(2)
    dy = (image[..., 1:, :] - image[..., :-1, :]).pow(2)
    if normalization == "mean":  # a 1-px-wide image has no horizontal neighbours: that term is 0, not NaN
        return sum((d.mean() if d.numel() else d.sum()) for d in (dx, dy))
    if normalization == "sum":
        return dx.sum() + dy.sum()
    raise ParameterError(f"unknown normalization {normalization!r}; use 'mean' or 'sum'")
