"""Backbones: the networks whose feature maps define content and style.

`Backbone(arch, weights, pooling)` is torchvision's VGG16, VGG19, ResNet-50 or GoogLeNet, frozen, with a table of
readable layer names in each network's own terms: VGG's conv4_2 and relu4_2, ResNet's stem and bottleneck blocks
(res2a ... res5c, as in He et al.'s released model), GoogLeNet's inception modules (inception_3a ... inception_5b,
as in Szegedy et al.'s Table 1). Called on RGB images in [0, 1] with some layer names, it returns their feature
maps, computed by torchvision's feature extraction, which keeps only the part of the graph those outputs need: the
pass stops at the deepest layer asked for. `VGG` (vgg.py) is the VGG case, with the paper's defaults.

Weights: "torchvision" (trained on ImageNet, read from torch.hub's cache, which `nst weights fetch` fills),
"random" (seeded Kaiming initialisation, always there), or a state-dict file (weights.py); VGG19 also has
"caffe" (vgg.py). Each source brings its preprocessing, applied by `Backbone.preprocess` and nowhere else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import fx, nn
from torchvision import models
from torchvision.models.feature_extraction import create_feature_extractor

from .errors import LayerError, ParameterError, WeightsError
from .profiles import get_device
from .weights import PREPROCESSING, StateDict, randomize, read_state_dict, torchvision_state_dict

# While torch.fx traces a network it patches nn.Module.__call__ for every module in the process, so a call of a
# network in another thread (the explorers compute in background threads) would be traced too and fail. Tracing
# and every call of a Backbone take this lock; the backward passes need not.
FX_LOCK = threading.RLock()

Pooling = Literal["max", "avg"]  # max as trained, avg the paper's choice for synthesis


@dataclass(frozen=True)
class Architecture:
    """What `Backbone` needs to know of one network: how to build it untrained, its layer table (readable name ->
    torchvision node, in order), its default content and style layers, and how to read its weights (a source other
    than "random" -> the state dict and the name of the preprocessing it expects)."""

    build: Callable[[], nn.Module]
    layers: dict[str, str]
    content: tuple[str, ...]
    style: tuple[str, ...]
    load: Callable[[str | Path], tuple[StateDict, str]]


@dataclass(frozen=True)
class LayerInfo:
    """One row of a layer table. ``size`` is the output's side in px, ``stride`` the distance (in input
    px) between neighbouring outputs, ``receptive_field`` the side of the input patch one output sees."""

    name: str
    channels: int
    size: int
    stride: int
    receptive_field: int


def _loader(arch: str, preprocessing: str) -> Callable[[str | Path], tuple[StateDict, str]]:
    """Reading ``arch``'s "torchvision" weights or a state-dict file; both expect ``preprocessing``."""

    def load(weights: str | Path) -> tuple[StateDict, str]:
        if weights == "torchvision":
            state = torchvision_state_dict(arch)
        elif Path(weights).is_file():
            state = read_state_dict(Path(weights))
        else:
            raise WeightsError(f"weights {str(weights)!r} are neither 'torchvision', 'random' "
                               "nor an existing state-dict file")
        return {k: v for k, v in state.items() if not k.startswith(("aux1.", "aux2."))}, preprocessing  # GoogLeNet's

    return load


def _resnet50_layers() -> dict[str, str]:
    """The stem (conv1 after its BN and ReLU, and pool1), then each bottleneck block: res2a-c, res3a-d, res4a-f,
    res5a-c (He et al.'s stages conv2_x ... conv5_x). A block's output is after its residual sum and ReLU."""
    layers = {"conv1_relu": "relu", "pool1": "maxpool"}
    for stage, blocks in enumerate((3, 4, 6, 3), start=2):
        layers.update({f"res{stage}{'abcdef'[i]}": f"layer{stage - 1}.{i}" for i in range(blocks)})
    return layers


_GOOGLENET = ["conv1", "pool1", "conv2_reduce", "conv2", "pool2", "inception_3a", "inception_3b", "pool3",
              "inception_4a", "inception_4b", "inception_4c", "inception_4d", "inception_4e", "pool4",
              "inception_5a", "inception_5b"]
_GOOGLENET_NODES = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
                    "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4",
                    "inception5a", "inception5b"]

# vgg.py adds "vgg16" and "vgg19". Style: the stem and the last block of each stage (Wang et al. 2021 for ResNet).
ARCHITECTURES: dict[str, Architecture] = {
    "resnet50": Architecture(
        build=lambda: models.resnet50(), layers=_resnet50_layers(), content=("res4f",),
        style=("conv1_relu", "res2c", "res3d", "res4f", "res5c"), load=_loader("resnet50", "torchvision")),
    "googlenet": Architecture(
        build=lambda: models.googlenet(aux_logits=False, transform_input=False, init_weights=False),
        layers=dict(zip(_GOOGLENET, _GOOGLENET_NODES)), content=("inception_4a",),
        style=("conv1", "conv2", "inception_3a", "inception_4a", "inception_5a"),
        load=_loader("googlenet", "inception")),
}


def architecture(arch: str) -> Architecture:
    """The description of ``arch``; an unknown name is a `ParameterError` listing the known ones."""
    if arch not in ARCHITECTURES:
        raise ParameterError(f"unknown architecture {arch!r}; choose one of {', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[arch]


def prepare(network: nn.Module, pooling: Pooling) -> nn.Module:
    """``network`` with average pooling in place of max pooling if ``pooling`` is 'avg', and no in-place ReLU (it
    would overwrite a convolution's output that was asked for)."""
    if pooling not in ("max", "avg"):
        raise ParameterError(f"unknown pooling {pooling!r}; use 'max' or 'avg'")
    for module in list(network.modules()):
        if isinstance(module, nn.ReLU):
            module.inplace = False
        for name, child in module.named_children():
            if pooling == "avg" and isinstance(child, nn.MaxPool2d):
                setattr(module, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding, child.ceil_mode,
                                                   count_include_pad=False))
    return network


def _first(value: int | tuple[int, ...]) -> int:
    return value[0] if isinstance(value, tuple) else value  # square kernels and strides: one side says it all


def receptive_fields(graph_module: fx.GraphModule) -> dict[str, tuple[int, int]]:
    """(receptive field, stride) in input px of every node of a traced network. A convolution or pooling widens the
    field by (kernel - 1) x dilation x stride and multiplies the stride by its own; a node with several inputs (a
    residual sum, an inception module's concatenation) sees what the widest of them sees."""
    geometry: dict[str, tuple[int, int]] = {}
    for node in graph_module.graph.nodes:
        inputs = [geometry[n.name] for n in node.all_input_nodes if n.name in geometry]
        field, stride = max(inputs) if inputs else (1, 1)
        if node.op == "call_module":
            module = graph_module.get_submodule(node.target)
            if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                kernel, step, dilation = (_first(getattr(module, k, 1)) for k in ("kernel_size", "stride", "dilation"))
                field, stride = field + (kernel - 1) * dilation * stride, stride * step
        geometry[node.name] = (field, stride)
    return geometry


class _Count(fx.Interpreter):
    """Runs a traced network and counts the elements of every intermediate result."""

    elements = 0

    def run_node(self, node: fx.Node) -> object:
        out = super().run_node(node)
        self.elements += out.numel() if isinstance(out, torch.Tensor) else 0
        return out


class Backbone(nn.Module):
    """A frozen network that returns the feature maps of named layers, stopping at the deepest one asked for.

    >>> net = Backbone("resnet50", weights="random", pooling="avg")
    >>> feats = net(image, ["res3d", "res4f"])   # image: RGB in [0, 1], (B, 3, H, W)

    ``softmax``, a temperature, replaces each feature map F by softmax(F / T) over all its entries, Wang et al.'s
    (CVPR 2021) remedy for ResNet's peaky, low-entropy features.
    """

    def __init__(
        self,
        arch: str = "vgg19",
        weights: str | Path = "torchvision",
        pooling: Pooling = "avg",
        device: str | torch.device | None = None,
        preprocessing: str | None = None,
        seed: int = 0,
        softmax: float | None = None,
    ) -> None:
        super().__init__()
        spec = architecture(arch)
        self.arch, self.pooling, self.weights, self.softmax = arch, pooling, str(weights), softmax
        self.layer_names = list(spec.layers)
        self.content_layers, self.style_layers = spec.content, spec.style  # this network's defaults
        self.network = prepare(spec.build(), pooling)
        if weights == "random":
            randomize(self.network, seed)
            default_preprocessing = "torchvision"  # inputs of about unit scale, as Kaiming's initialisation assumes
        else:
            state, default_preprocessing = spec.load(weights)
            try:
                self.network.load_state_dict(state)
            except RuntimeError:
                raise WeightsError(f"weights {str(weights)!r} do not fit {arch} "
                                   f"(wrong architecture or not a {arch} state dict)") from None
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
        self._extractors: dict[frozenset[str], tuple[fx.GraphModule, dict[str, tuple[int, int]]]] = {}  # not submodules
        self._elements: dict[frozenset[str], float] = {}

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> what the weights were trained on."""
        x = image.flip(1) if self.bgr else image
        return (x * self.scale - self.mean) / self.std

    def mean_color(self) -> torch.Tensor:
        """The input that preprocesses to zero, the mean colour of the weights' training set, as an RGB image in
        [0, 1] of shape (1, 3, 1, 1): the paper's start, `init='noise'`, is this plus faint noise."""
        rgb = self.mean / self.scale  # the input that preprocesses to zero
        return (rgb.flip(1) if self.bgr else rgb).clamp(0, 1)

    def check_layers(self, layers: Iterable[str]) -> list[str]:
        """The layer names as a list; an unknown name raises a `LayerError` listing the valid ones."""
        layers = [layers] if isinstance(layers, str) else list(layers)
        if not layers:
            raise LayerError(f"no layers given; name at least one, e.g. {self.content_layers[0]!r}")
        unknown = [name for name in layers if name not in self.layer_names]
        if unknown:
            raise LayerError(f"unknown layer {unknown[0]!r} for {self.arch}; "
                             f"valid layers: {', '.join(self.layer_names)}")
        return layers

    def _extractor(self, layers: list[str]) -> tuple[fx.GraphModule, dict[str, tuple[int, int]]]:
        """The network cut after the deepest of ``layers``, returning them (built once per set of layers), and the
        receptive field and stride of each (the stride is the smallest image side for which it has one pixel)."""
        key = frozenset(layers)
        if key not in self._extractors:
            nodes = architecture(self.arch).layers
            with FX_LOCK:
                extractor = create_feature_extractor(self.network, {nodes[name]: name for name in key})
            geometry = receptive_fields(extractor)
            outputs = next(node for node in extractor.graph.nodes if node.op == "output").args[0]
            self._extractors[key] = extractor, {name: geometry[node.name] for name, node in outputs.items()}
        return self._extractors[key]

    def min_size(self, layers: Iterable[str]) -> int:
        """The smallest image side (px) for which every requested layer has at least one pixel."""
        return max(stride for _, stride in self._extractor(self.check_layers(layers))[1].values())

    def estimate_bytes(self, height: int, width: int, layers: Iterable[str]) -> int:
        """Rough memory of one loss + gradient evaluation: every intermediate result up to the deepest layer, kept
        for the backward pass and matched by its gradient (x 2), plus the weights. The results are counted once,
        at a small size, and scaled with the pixel count."""
        layers = self.check_layers(layers)
        key = frozenset(layers)
        if key not in self._elements:
            side = 4 * self.min_size(layers)
            counter = _Count(self._extractor(layers)[0])
            with torch.no_grad(), FX_LOCK:
                counter.run(torch.zeros(1, 3, side, side, device=self.device, dtype=self.mean.dtype))
            self._elements[key] = counter.elements / side**2
        weights = sum(p.numel() for p in self.parameters())
        return int(self.mean.element_size() * (2 * self._elements[key] * height * width + weights))

    def layer_table(self, size: int = 224) -> list[LayerInfo]:
        """Every layer for a ``size`` x ``size`` input, in order: channels, output side, stride, receptive field."""
        geometry = self._extractor(self.layer_names)[1]
        with torch.no_grad():
            feats = self(torch.zeros(1, 3, size, size, device=self.device, dtype=self.mean.dtype), self.layer_names)
        return [LayerInfo(name, feats[name].shape[1], feats[name].shape[-1], geometry[name][1], geometry[name][0])
                for name in self.layer_names]

    def __call__(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        # The whole call under FX_LOCK: while another thread traces, nn.Module.__call__ itself is patched.
        with FX_LOCK:
            return super().__call__(image, layers)

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Feature maps of ``layers`` for ``image``; the pass stops at the deepest layer asked for."""
        layers = self.check_layers(layers)
        extractor, geometry = self._extractor(layers)
        deepest = max(layers, key=self.layer_names.index)
        needed = max(stride for _, stride in geometry.values())
        if min(image.shape[-2:]) < needed:
            h, w = image.shape[-2:]
            raise LayerError(f"image is {w}x{h} px but layer {deepest!r} needs at least {needed} px on each side")
        out = extractor(self.preprocess(image.to(self.device)))
        if self.softmax:
            out = {k: torch.softmax(f.flatten(1) / self.softmax, dim=1).view_as(f) for k, f in out.items()}
        return {name: out[name] for name in layers}

    def extra_repr(self) -> str:
        softmax = f", softmax={self.softmax}" if self.softmax else ""
        return (f"arch={self.arch!r}, weights={self.weights!r}, pooling={self.pooling!r}, "
                f"preprocessing={self.preprocessing!r}{softmax}")
