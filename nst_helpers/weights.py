"""Where a network's weights come from, and the preprocessing each source expects.

"torchvision": torchvision's ImageNet weights, read from torch.hub's cache (`nst weights fetch` fills it; nothing
here downloads). A state-dict file. "random": seeded Kaiming initialisation, always there. (VGG19's bundled
"caffe" weights are in vgg.py.) Callers pass RGB in [0, 1]; `Backbone.preprocess` applies the entry of
`PREPROCESSING` that belongs to the weights, and nothing else preprocesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision import models

from .errors import WeightsError

# Preprocessing per weights source: channel order, scale, mean and std (in the scaled range). torchvision's GoogLeNet
# maps ImageNet-normalised input to (x - 0.5) / 0.5 inside its forward (transform_input); here that is its own entry.
PREPROCESSING = {
    "caffe": {"bgr": True, "scale": 255.0, "mean": (103.939, 116.779, 123.68), "std": (1.0, 1.0, 1.0)},
    "torchvision": {"bgr": False, "scale": 1.0, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)},
    "inception": {"bgr": False, "scale": 1.0, "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)},
}

TORCHVISION_WEIGHTS = {  # what weights="torchvision" means, per architecture
    "vgg16": "VGG16_Weights.IMAGENET1K_V1", "vgg19": "VGG19_Weights.IMAGENET1K_V1",
    "resnet50": "ResNet50_Weights.IMAGENET1K_V1", "googlenet": "GoogLeNet_Weights.IMAGENET1K_V1",
}

StateDict = dict[str, torch.Tensor]


def hub_file(arch: str) -> Path:
    """Where torch.hub keeps torchvision's weights for ``arch`` (whether or not they are there)."""
    url = models.get_weight(TORCHVISION_WEIGHTS[arch]).url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def torchvision_state_dict(arch: str, offline: str = "weights='random' or a state-dict path") -> StateDict:
    """torchvision's ImageNet weights for ``arch`` from torch.hub's cache; never downloads (`nst weights fetch` does).
    ``offline`` says what to use instead, in the one-line error when they are not there."""
    path = hub_file(arch)
    if not path.is_file():
        raise WeightsError(f"torchvision's {arch} weights are not in torch.hub's cache ({path} is missing); "
                           f"fetch them once online with `nst weights fetch {arch}`, or use {offline}")
    return read_state_dict(path)


def read_state_dict(path: Path) -> StateDict:
    """The state dict in the file ``path``; anything else in it is one `WeightsError`."""
    hint = "save one with torch.save(model.state_dict(), path)"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"could not read weights from {path}: {type(err).__name__}; {hint}") from None
    if not isinstance(state, Mapping):
        raise WeightsError(f"weights file {path} holds a {type(state).__name__}, not a state dict; {hint}")
    odd = [key for key, value in state.items() if not (isinstance(key, str) and isinstance(value, torch.Tensor))]
    if odd:
        raise WeightsError(f"weights file {path} is not a state dict: its entry {odd[0]!r} is not a tensor; {hint}")
    return dict(state)


def fetch(arch: str) -> Path:
    """Download torchvision's weights for ``arch`` into torch.hub's cache (once); where they are."""
    models.get_weight(TORCHVISION_WEIGHTS[arch]).get_state_dict(progress=True, check_hash=True)
    return hub_file(arch)


def randomize(network: nn.Module, seed: int = 0) -> None:
    """Kaiming-normal weights (fan in, for ReLUs: the activations keep their scale with depth), zero biases, and
    batch norms that change nothing, drawn from a generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_parameters()
