"""The paper's normalised VGG19: every convolutional filter's mean activation over images and positions is one.

Gatys et al. (2016): "We normalized the network by scaling the weights such that the mean activation of each
convolutional filter over images and positions is equal to one." A positive per-channel factor passes through a
ReLU and through max or average pooling unchanged, so scaling filter k of a layer by 1/m_k (and the next layer's
weights on that channel by m_k) changes every feature map only by its channel's factor: the network computes the
same thing, and each layer's features come out at the same scale. That is what lets the style loss's layer
weights w_l = 1/5 weigh the layers evenly.

The mean activations m_k are measured once, on the photos and paintings the project ships, by
``tools/normalize_vgg.py``, and stored beside the package in ``vgg19_normalization.pt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

import torch
from torch import nn

from .errors import WeightsError

SCALES_FILE = "vgg19_normalization.pt"
SIZE = 224  # long side (px) at which the mean activations are measured
FLOOR = 1e-3  # a filter that never fires (mean activation below this) keeps its scale


def mean_activations(vgg: nn.Module, images: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each conv layer's mean activation per filter, after its ReLU, over ``images`` and their positions.

    ``vgg`` is a `VGG`; keyed by conv name (conv1_1 ...), averaged over images with equal weight per image.
    """
    relus = [name for name in vgg.layer_names if name.startswith("relu")]
    sums: dict[str, torch.Tensor] = {}
    count = 0
    with torch.no_grad():
        for image in images:
            for name, f in vgg(image, relus).items():
                sums[name] = sums.get(name, 0) + f.double().mean(dim=(0, 2, 3))
            count += 1
    return {name.replace("relu", "conv"): (total / count).float().cpu() for name, total in sums.items()}


def load_scales() -> dict[str, torch.Tensor]:
    """The shipped per-filter mean activations of the Caffe VGG19 (see ``tools/normalize_vgg.py``)."""
    path = resources.files("nst_helpers") / SCALES_FILE
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"the normalisation scales {SCALES_FILE} are missing from the package; "
                           "recreate them with `python tools/normalize_vgg.py`") from None


def normalize(features: nn.Sequential, layer_names: list[str], scales: dict[str, torch.Tensor]) -> None:
    """Scale, in place, the convolutions of ``features`` (named by ``layer_names``) so that filter k of layer l
    outputs its old value divided by ``scales[l][k]``: its weights and bias divided by it, and the next layer's
    weights on that channel multiplied by it."""
    previous = None
    for name, module in zip(layer_names, features):
        if not isinstance(module, nn.Conv2d):
            continue
        m = torch.where(scales[name] >= FLOOR, scales[name], 1.0).to(module.weight)
        with torch.no_grad():
            if previous is not None:
                module.weight.mul_(previous.view(1, -1, 1, 1))
            module.weight.div_(m.view(-1, 1, 1, 1))
            module.bias.div_(m)
        previous = m
