"""The objective: what an image's VGG features must match, as weighted loss terms.

Content reconstruction, style reconstruction and style transfer differ only in the objective they build: an
`Objective` holds the targets (feature maps for content, Gram matrices for style), computed once, and returns
the weighted terms for an image. `optimize_image` (in optimize.py) minimises their sum. The network's forward
passes run in the objective's precision (precision.py); the targets, the Gram matrices and the losses are fp32.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import torch

from .backbone import Backbone
from .errors import ParameterError, ResourceError
from .losses import Normalization, content_loss, gram_matrix, style_loss, total_variation
from .precision import Precision, forward, resolve
from .profiles import default_precision, free_memory
from .vgg import CONTENT_LAYERS, STYLE_LAYERS

Losses = dict[str, torch.Tensor]

# The paper's ratio alpha/beta = 1e-3 (its Figures 2-3; Figure 4 spans 1e-5 to 1e-2). With the objective's default
# 'paper-mean' (losses.py) the content term is a mean over the layer's entries and the ratio means the same at every
# size: beta = 1 / ratio. The text's 'paper' content term is a sum over pixels while its style term is not, so there
# the same balance needs beta scaled with the pixel count, from 512 x 512 px, the size of the paper's images.
PAPER_RATIO = 1e-3  # alpha / beta
PAPER_PIXELS = 512 * 512


def style_weight_for_ratio(
    ratio: float, height: int, width: int, normalization: Normalization = "paper-mean"
) -> float:
    """beta for alpha = 1 and alpha/beta = ``ratio``: 1 / ratio where the content term is a mean ('paper-mean',
    'mean'); where it is a sum ('paper', 'sum'), the ratio is taken at 512 px and beta scaled to ``height`` x
    ``width`` px."""
    if normalization in ("paper", "sum"):
        return height * width / PAPER_PIXELS / ratio
    return 1 / ratio


def default_style_weight(height: int, width: int, normalization: Normalization = "paper-mean") -> float:
    """The paper's beta (alpha = 1, alpha/beta = 1e-3) for an image of ``height`` x ``width`` px."""
    return style_weight_for_ratio(PAPER_RATIO, height, width, normalization)


def check_weight(name: str, value: float) -> float:
    """``value`` as a float; a `ParameterError` naming ``name`` unless it is a finite number >= 0."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_image(image: object, name: str = "image") -> torch.Tensor:
    """``image`` as a batch of float pictures, (B, 3, H, W): a (3, H, W) tensor gets a batch dimension of 1; anything
    else that is not a finite float tensor of that shape is a `ParameterError` that says so (load_image makes one)."""
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        kind = image.dtype if isinstance(image, torch.Tensor) else type(image).__name__
        raise ParameterError(f"the {name} image must be a float tensor in [0, 1], got {kind}; use load_image")
    batch = image.unsqueeze(0) if image.dim() == 3 else image
    if batch.dim() != 4 or batch.shape[1] != 3 or 0 in batch.shape:
        raise ParameterError(f"the {name} image must be RGB, (3, H, W) or (B, 3, H, W), got {tuple(image.shape)}; "
                             f"use load_image")
    if not torch.isfinite(batch).all():
        raise ParameterError(f"the {name} image has NaN or infinite values")
    return batch


def _network_input(vgg: Backbone, image: torch.Tensor | None, name: str) -> torch.Tensor | None:
    """``image`` (`check_image`) on the network's device and in its dtype (float64 images work)."""
    return None if image is None else check_image(image, name).to(vgg.device, vgg.mean.dtype)


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


class Shortfall(NamedTuple):
    """What `memory_shortfall` found: the bytes needed and free, and the largest setting that fits (None: none)."""

    need: int
    free: int
    fits: int | None

    def __str__(self) -> str:
        return f"needs about {_gib(self.need)} but {_gib(self.free)} is free"


def memory_shortfall(need: Callable[[int], int], n: int, device: torch.device, low: int = 1) -> Shortfall | None:
    """None if ``need(n)`` bytes fit in 80% of the free memory of ``device`` (or that cannot be told); else what is
    short, with the largest m in [low, n) whose need fits. ``need`` grows with its argument (a size, a batch)."""
    free = free_memory(device)
    if free is None or need(n) <= 0.8 * free:
        return None
    settings = range(low, n)
    fitting = bisect.bisect_left(settings, True, key=lambda m: need(m) > 0.8 * free)
    return Shortfall(need(n), free, settings[fitting - 1] if fitting else None)


def check_memory(vgg: Backbone, height: int, width: int, layers: Iterable[str]) -> None:
    """Stop before a run at ``height`` x ``width`` px that would not fit in 80% of the free memory of ``vgg``'s
    device, naming the largest size (long side, rounded down to 16 px) that fits and that ``layers`` allow, or saying
    that none does."""
    layers = list(layers)
    long, short = max(height, width), min(height, width)

    def need(side: int) -> int:
        return vgg.estimate_bytes(round(height * side / long), round(width * side / long), layers)

    smallest = math.ceil(vgg.min_size(layers) * long / short)  # the long side at which the short one is large enough
    shortfall = memory_shortfall(need, long, vgg.device, low=smallest)
    if shortfall is None:
        return
    fits = None if shortfall.fits is None else max(shortfall.fits // 16 * 16, smallest)
    if fits is None:
        advice = f"no size fits: even {smallest} px, the smallest these layers allow, needs {_gib(need(smallest))}"
        advice += f", more than the {_gib(0.8 * shortfall.free)} a run may use; free memory or use shallower layers"
    elif fits == smallest:
        advice = f"use a size of {fits} px, the smallest these layers allow"
    else:
        advice = f"use a size of {fits} px or less"
    raise ResourceError(f"a {width}x{height} px run {shortfall} on {vgg.device}; {advice}")


class Objective:
    """Match the content image's feature maps and the style image's Gram matrices.

    Calling it on an image returns the weighted loss terms, e.g. ``{"content": a*Lc, "style": b*Ls}``.
    Give only ``content`` for content reconstruction, only ``style`` for style reconstruction, both
    for style transfer. Targets are computed once, here. ``normalization`` (losses.py) defaults to 'paper-mean', with
    which the paper's ratios on the paper's network, ``VGG()`` (the normalised VGG19), give the paper's figures;
    'paper' is the text's formulas to the letter. ``style_weight`` defaults to the paper's alpha/beta = 1e-3
    (`default_style_weight`). ``precision``
    ('auto', 'fp32', 'bf16', 'fp16' or a `Precision`; default `$NST_PRECISION`, else 'auto') is that of the
    network's forward passes, the targets' too; `precision` holds what it resolved to on the network's device.
    """

    def __init__(
        self,
        vgg: Backbone,
        content: torch.Tensor | None = None,
        style: torch.Tensor | None = None,
        content_layers: Iterable[str] = CONTENT_LAYERS,
        style_layers: Iterable[str] | Mapping[str, float] = STYLE_LAYERS,
        content_weight: float = 1.0,
        style_weight: float | None = None,
        tv_weight: float = 0.0,
        normalization: Normalization = "paper-mean",
        precision: str | Precision | None = None,
    ) -> None:
        if content is None and style is None:
            raise ParameterError("an objective needs a content image, a style image, or both")
        self.vgg, self.normalization = vgg, normalization
        self.precision = resolve(precision or default_precision(), vgg.device)
        self.content_image = _network_input(vgg, content, "content")
        self.style_image = _network_input(vgg, style, "style")
        self.content_weight = check_weight("content_weight", content_weight)
        self.shape = (self.content_image if content is not None else self.style_image).shape
        if style_weight is None:
            style_weight = default_style_weight(*self.shape[-2:], normalization)
        self.style_weight = check_weight("style_weight", style_weight)
        self.tv_weight = check_weight("tv_weight", tv_weight)

        self.content_layers = vgg.check_layers(content_layers) if content is not None else []
        if isinstance(style_layers, Mapping):
            self.style_layer_weights = {k: check_weight(f"weight of {k}", v) for k, v in style_layers.items()}
        else:
            names = vgg.check_layers(style_layers) if style is not None else []
            self.style_layer_weights = {name: 1 / len(names) for name in names}
        self.style_layers = vgg.check_layers(self.style_layer_weights) if style is not None else []
        self.layers = list(dict.fromkeys(self.content_layers + self.style_layers))

        for image in (self.content_image, self.style_image):  # before the first forward pass
            if image is not None:
                check_memory(vgg, *image.shape[-2:], self.layers)
        with torch.no_grad():
            self.content_targets = self.features(self.content_image, self.content_layers) if self.content_layers else {}
            style_features = self.features(self.style_image, self.style_layers) if self.style_layers else {}
            self.style_targets = self.style_statistics(style_features) if self.style_layers else {}

    def set_content(self, content: torch.Tensor) -> None:
        """A new content image, or a batch of them, and its targets; the style targets stay. Training a network
        (fast/train.py) gives the objective a new batch of photos at every step, of the first one's size."""
        image = _network_input(self.vgg, content, "content")
        if not self.content_layers or image.shape[-2:] != self.shape[-2:]:
            raise ParameterError(f"set_content needs an objective with content layers and an image of "
                                 f"{tuple(self.shape[-2:])} px, got {tuple(image.shape[-2:])}")
        self.content_image = image
        with torch.no_grad():
            self.content_targets = self.features(image, self.content_layers)

    def style_statistics(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The style targets from the style image's feature maps: Gram matrices, rescaled to the output's pixel
        count (Gram matrices grow with it). Subclasses with another definition of style override this and
        `style_term`."""
        pixels = self.shape[-1] * self.shape[-2] / (self.style_image.shape[-1] * self.style_image.shape[-2])
        return {k: gram_matrix(f) * pixels for k, f in features.items()}

    def style_term(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """The unweighted style loss of an image's feature maps against the targets: the paper's sum_l w_l E_l."""
        return style_loss(features, self.style_targets, self.style_layer_weights, self.normalization)

    def features(
        self, image: torch.Tensor, layers: Iterable[str], precision: Precision | None = None
    ) -> dict[str, torch.Tensor]:
        """The network's feature maps of ``layers`` for ``image``, in fp32, its forward pass in ``precision`` (default:
        the objective's `precision`)."""
        return forward(self.vgg, image, layers, precision or self.precision)

    @property
    def device(self) -> torch.device:
        """The network's device, where the targets are and the image is optimised."""
        return self.vgg.device

    @property
    def dtype(self) -> torch.dtype:
        """The network's dtype, in which the targets are and the image is optimised."""
        return self.vgg.mean.dtype

    def __call__(self, image: torch.Tensor, precision: Precision | None = None) -> Losses:
        """The weighted loss terms of ``image``: 'content', 'style' (where it has such layers), 'tv' (if weighted).
        ``precision`` is this evaluation's, if not the objective's (`optimize_image` gives L-BFGS's first two fp32)."""
        feats = self.features(image, self.layers, precision)
        terms = {}
        if self.content_layers:
            lc = sum(content_loss(feats[k], t, self.normalization) for k, t in self.content_targets.items())
            terms["content"] = self.content_weight * lc / len(self.content_layers)
        if self.style_layers:
            terms["style"] = self.style_weight * self.style_term(feats)
        if self.tv_weight:
            terms["tv"] = self.tv_weight * total_variation(image)
        return terms
