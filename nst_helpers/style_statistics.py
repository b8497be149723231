"""Other definitions of style: statistics of VGG feature maps besides the Gram matrix.

Every style loss here is ``fn(features, target_features) -> 0-d tensor`` on feature maps of shape
(B, N, H, W) and (B, N, H', W'): N channels at M = H x W positions. Each treats the M positions as a
*bag of samples* (orderless: shuffling positions changes nothing), is zero on identical inputs and is
differentiable. They differ in which statistics of the bag they compare:

=========================  ================================================  =====================
loss                       compares                                          after
=========================  ================================================  =====================
`gram_loss`                second moments, G / M (the paper's loss)          Gatys et al. 2016
`mean_std_loss`            per-channel mean and standard deviation           Huang & Belongie 2017
`mmd_loss` 'linear'        the mean vector                                   Li et al. 2017
`mmd_loss` 'poly2'         second moments: 4 N^2 x `gram_loss`              Li et al. 2017
`mmd_loss` 'gaussian'      the whole distribution (all moments)              Li et al. 2017
`sliced_wasserstein_loss`  sorted 1-D projections: the whole distribution    Heitz et al. 2021
=========================  ================================================  =====================

`FeatureLossObjective` turns any such function into an objective for `optimize_image`, and
`blended_objective` mixes two styles' Gram targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import torch
import torch.nn.functional as F

from .errors import ParameterError
from .losses import Normalization, gram_matrix, style_layer_loss
from .objective import Objective
from .vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG

FeatureLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Kernel = Literal["linear", "poly2", "gaussian"]
KERNELS = ("linear", "poly2", "gaussian")


def _check_pair(features: torch.Tensor, target: torch.Tensor) -> None:
    if features.dim() != 4 or target.dim() != 4 or features.shape[1] != target.shape[1]:
        raise ParameterError(f"feature maps {tuple(features.shape)} and {tuple(target.shape)} "
                             "must be (B, N, H, W) with the same N")


def _positions(features: torch.Tensor) -> torch.Tensor:
    """(B, N, H, W) -> (B, M, N): one row per position, a sample of the layer's N-dimensional features."""
    return features.flatten(2).transpose(1, 2)


def gram_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's E_l (`style_layer_loss`) with each Gram matrix divided by its own M: sum (G/M - A/M')^2 / (4 N^2).

    Equal to ``style_layer_loss(G, A, N, M, 'paper')`` when both maps have M positions; defined for any two sizes.
    """
    _check_pair(features, target)
    n, m, m_target = features.shape[1], features.shape[2] * features.shape[3], target.shape[2] * target.shape[3]
    per_position = style_layer_loss(gram_matrix(features) / m, gram_matrix(target) / m_target, n, 1)
    return per_position / features.shape[0]  # a mean over the batch, like the other losses here


def mean_std_loss(features: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN statistics: sum over channels of (mean difference)^2 + (standard deviation difference)^2."""
    _check_pair(features, target)
    x, y = features.flatten(2), target.flatten(2)
    std_x = (x.var(2, unbiased=False) + eps).sqrt()  # eps: a finite gradient where a channel is constant
    std_y = (y.var(2, unbiased=False) + eps).sqrt()
    return ((x.mean(2) - y.mean(2)).pow(2) + (std_x - std_y).pow(2)).sum(1).mean()


def mmd_loss(
    features: torch.Tensor,
    target: torch.Tensor,
    kernel: Kernel = "poly2",
    sigma: float | None = None,
    random_features: int = 256,
    seed: int = 0,
) -> torch.Tensor:
    """Squared maximum mean discrepancy between the two bags of positions (Li et al. 2017).

    MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y) = || mean phi(x) - mean phi(y) ||^2 for a kernel
    k(x, y) = phi(x) . phi(y). 'linear' (x . y: phi(x) = x) compares the mean feature vectors; 'poly2'
    ((x . y)^2: phi(x) = x x^T) compares G / M, so it is 4 N^2 times `gram_loss`; both are exact for any M.
    'gaussian' (exp(-|x - y|^2 / 2 sigma^2)) uses ``random_features`` seeded random Fourier features, so every
    position takes part while memory stays M x random_features (a kernel matrix would be M x M);
    ``sigma`` defaults to the root mean squared distance between the target's positions (Li et al.'s choice).
    """
    _check_pair(features, target)
    if kernel not in KERNELS:
        raise ParameterError(f"unknown kernel {kernel!r}; use one of {', '.join(KERNELS)}")
    x, y = _positions(features), _positions(target)
    if kernel == "linear":
        return (x.mean(1) - y.mean(1)).pow(2).sum(1).mean()
    if kernel == "poly2":
        return 4 * features.shape[1] ** 2 * gram_loss(features, target)
    if sigma is None:  # mean |y - y'|^2 over all pairs = 2 x the summed per-channel variances
        sigma = math.sqrt(max(2 * y.detach().var(1, unbiased=False).sum(1).mean().item(), 1e-12))
    if not sigma > 0:
        raise ParameterError(f"sigma must be > 0, got {sigma!r}")
    generator = torch.Generator().manual_seed(seed)
    n = x.shape[2]
    w = (torch.randn(n, random_features, generator=generator) / sigma).to(x.device, x.dtype)
    b = (2 * math.pi * torch.rand(random_features, generator=generator)).to(x.device, x.dtype)

    def embedding(p: torch.Tensor) -> torch.Tensor:  # mean of phi over positions, phi(p) . phi(q) ~ k(p, q)
        return torch.cos(p @ w + b).mean(1) * math.sqrt(2 / random_features)

    return (embedding(x) - embedding(y)).pow(2).sum(1).mean()


def sliced_wasserstein_loss(
    features: torch.Tensor, target: torch.Tensor, projections: int = 32, seed: int = 0
) -> torch.Tensor:
    """Sliced Wasserstein distance (squared) between the bags of positions (Heitz et al. 2021).

    Project the N-dimensional features of every position on ``projections`` seeded random unit directions,
    sort each projection, and compare the sorted values: the 1-D optimal transport between the two
    distributions along each direction. When the positions differ in number, the target's sorted values
    (its quantiles) are interpolated to the output's count.
    """
    _check_pair(features, target)
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(features.shape[1], projections, generator=generator)
    directions = (directions / directions.norm(dim=0, keepdim=True)).to(features.device, features.dtype)
    x = (_positions(features) @ directions).sort(dim=1).values  # (B, M, projections)
    y = (_positions(target) @ directions).sort(dim=1).values
    if y.shape[1] != x.shape[1]:
        if x.shape[1] == 1:
            y = y.mean(1, keepdim=True)
        else:
            y = F.interpolate(y.transpose(1, 2), size=x.shape[1], mode="linear", align_corners=True).transpose(1, 2)
    return (x - y).pow(2).mean((1, 2)).mean()


class FeatureLossObjective(Objective):
    """Style as any statistic: ``style_weight * sum_l w_l loss_fn(F_l, S_l)``, plus `Objective`'s content and TV terms.

    ``loss_fn(features, target_features)`` compares the output's feature map at layer l with the style
    image's (computed once, here). ``layers`` is a list (equal weights 1/L) or a dict layer -> w_l. With
    ``normalize_at`` (an image, e.g. the content photo) each w_l is divided by that image's loss at layer l,
    so every layer counts equally and the style term is ``style_weight`` at that image. Everything else is
    `Objective`: calling it returns ``{"content": ..., "style": ..., "tv": ...}``, ready for `optimize_image`.
    """

    def __init__(
        self,
        vgg: VGG,
        style: torch.Tensor,
        loss_fn: FeatureLoss,
        layers: Iterable[str] | Mapping[str, float] = STYLE_LAYERS,
        content: torch.Tensor | None = None,
        content_layers: Iterable[str] = CONTENT_LAYERS,
        content_weight: float = 1.0,
        style_weight: float = 1.0,
        tv_weight: float = 0.0,
        normalize_at: torch.Tensor | None = None,
        normalization: Normalization = "paper-mean",
    ) -> None:
        self.loss_fn = loss_fn
        super().__init__(vgg, content, style, content_layers, layers, content_weight, style_weight, tv_weight,
                         normalization)
        if normalize_at is not None:
            reference = self.style_losses(normalize_at)
            for k, value in reference.items():
                if not value > 0:
                    raise ParameterError(f"normalize_at: the reference image's loss at {k} is {value}; "
                                         "use an image unlike the style")
            self.style_layer_weights = {k: w / reference[k] for k, w in self.style_layer_weights.items()}

    def style_statistics(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The style image's feature maps themselves: ``loss_fn`` computes its statistics."""
        return features

    def style_term(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """sum_l w_l loss_fn(F_l, S_l): the unweighted style loss of an image's feature maps."""
        return sum(w * self.loss_fn(features[k], self.style_targets[k]) for k, w in self.style_layer_weights.items())

    def style_losses(self, image: torch.Tensor) -> dict[str, float]:
        """Each layer's unweighted ``loss_fn`` for ``image`` against the style targets (no gradient)."""
        with torch.no_grad():
            feats = self.features(image.to(self.device), self.style_layers)
            return {k: self.loss_fn(feats[k], t).item() for k, t in self.style_targets.items()}


def blend_style_targets(
    first: Mapping[str, torch.Tensor], second: Mapping[str, torch.Tensor], t: float
) -> dict[str, torch.Tensor]:
    """(1 - t) A + t B per layer: Gram targets between two styles, t = 0 the first, t = 1 the second."""
    if not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise ParameterError(f"t must be a number in [0, 1], got {t!r}")
    if set(first) != set(second):
        raise ParameterError(f"the two styles have different layers: {sorted(first)} and {sorted(second)}")
    return {k: (1 - t) * first[k] + t * second[k] for k in first}


def blended_objective(
    vgg: VGG, content: torch.Tensor | None, style_a: torch.Tensor, style_b: torch.Tensor, t: float, **options
) -> Objective:
    """An `Objective` whose Gram targets are ``blend_style_targets(A, B, t)``; ``options`` go to `Objective`.

    Both styles' Gram matrices are rescaled to the output's pixel count by `Objective`, so they can be mixed.
    """
    first = Objective(vgg, content, style_a, **options)
    second = Objective(vgg, content if content is not None else first.style_image, style_b, **options)
    first.style_targets = blend_style_targets(first.style_targets, second.style_targets, t)
    return first
