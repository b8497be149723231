"""The transformation network of Johnson, Alahi & Fei-Fei (2016), with Ulyanov et al.'s instance normalisation.

A photo goes in, a stylised image of the same size comes out, in one forward pass. It is small (about 277k
parameters): a 9x9 convolution, two stride-2 convolutions down to a quarter of the size, residual blocks at
64 channels, two upsampling convolutions and a 9x9 convolution back to RGB. Saved networks are files of fp16
weights with a few facts about their training (`save_network`, `load_network`); the package ships one for each
generated style and for four of the paintings (`shipped_networks`).
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ResourceError, WeightsError
from ..objective import check_image, memory_shortfall
from ..saving import Writer, write_file

FORMAT = "nst-fast-network"  # what a saved network's "format" entry says
NETWORKS_FOLDER = "networks"  # the shipped networks, in this package
MIN_SIDE = 8  # the 9x9 convolutions' reflection padding (4 px) needs more than 4 px, and a quarter of 8 px is 2
CHANNELS, BLOCKS = (16, 32, 64), 3  # the default network: widths at full, half and quarter size; residual blocks


def _padded(side: int) -> int:
    """The side an image is padded to: a multiple of 4 (two stride-2 convolutions), at least MIN_SIDE px."""
    return max(MIN_SIDE, -(-side // 4) * 4)


class ConvLayer(nn.Sequential):
    """Reflection padding (no dark border), a convolution, then instance norm and ReLU unless ``last``."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int = 1, last: bool = False) -> None:
        layers = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(channels_in, channels_out, kernel, stride)]
        if not last:
            layers += [nn.InstanceNorm2d(channels_out, affine=True), nn.ReLU()]
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """x + two 3x3 convolutions of x: the block can leave its input as it is, and learns what to change."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvLayer(channels, channels, 3), ConvLayer(channels, channels, 3, last=True),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Sequential):
    """Twice the size (nearest neighbour), then a convolution: no checkerboard, unlike a transposed convolution."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(channels_in, channels_out, 3))


class TransformNet(nn.Module):
    """Photo in, stylised image out: RGB in [0, 1], (B, 3, H, W), any H and W.

    ``channels`` are the widths at full, half and quarter size; ``blocks`` residual blocks work at a quarter
    size. The last convolution's output goes through a sigmoid, (tanh + 1) / 2 as in Johnson et al., so every
    output is an image in [0, 1].
    """

    def __init__(self, channels: tuple[int, int, int] = CHANNELS, blocks: int = BLOCKS) -> None:
        super().__init__()
        self.channels, self.blocks = tuple(channels), blocks
        c1, c2, c3 = self.channels
        self.layers = nn.Sequential(
            ConvLayer(3, c1, 9), ConvLayer(c1, c2, 3, stride=2), ConvLayer(c2, c3, 3, stride=2),  # down to 1/4
            *(ResidualBlock(c3) for _ in range(blocks)),                                        # work at 1/4
            Upsample(c3, c2), Upsample(c2, c1), ConvLayer(c1, 3, 9, last=True),                 # back up, to RGB
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        pad_h, pad_w = _padded(h) - h, _padded(w) - w  # padded, then cropped back after
        mode = "reflect" if min(h, w) > max(pad_h, pad_w) else "replicate"
        x = F.pad(image, (0, pad_w, 0, pad_h), mode=mode) if pad_h or pad_w else image
        return torch.sigmoid(self.layers(x))[..., :h, :w]

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def estimate_bytes(self, height: int, width: int, batch: int = 1, training: bool = False) -> int:
        """Rough memory of a pass over ``batch`` images of ``height`` x ``width`` px in fp32. Training keeps every
        layer's output for the backward pass, matched by its gradient (x 2), and the weights with their gradients and
        Adam's two moments (x 4); one pass without gradients holds about its two largest outputs, and the weights."""
        every, largest = _elements(self.channels, self.blocks)
        pixels = batch * _padded(height) * _padded(width)
        if training:
            return 4 * int(2 * every * pixels + 4 * parameter_count(self))
        return 4 * int(2 * largest * pixels + parameter_count(self))


@functools.cache
def _elements(channels: tuple[int, int, int], blocks: int) -> tuple[float, float]:
    """Per input pixel: the elements of every layer's output, and of the largest one; counted once on the meta
    device, which computes shapes only."""
    side, sizes = 64, []
    with torch.device("meta"):
        net = TransformNet(channels, blocks)
        for module in net.modules():
            if not list(module.children()):
                module.register_forward_hook(lambda module, inputs, out: sizes.append(out.numel()))
        net.layers(torch.empty(1, 3, side, side))
    return sum(sizes) / side**2, max(sizes) / side**2


def parameter_count(net: nn.Module) -> int:
    """The number of trained numbers in ``net``."""
    return sum(p.numel() for p in net.parameters())


def network_writer(net: TransformNet, **info: Any) -> Writer:
    """What writes ``net``'s weights in fp16 (half the size; the network runs in fp32) with ``info`` (the style, the
    training's settings)."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in net.state_dict().items()}
    record = {"format": FORMAT, "channels": list(net.channels), "blocks": net.blocks, "state_dict": state,
              "info": info}
    return lambda f: torch.save(record, f)


def save_network(net: TransformNet, path: str | os.PathLike, **info: Any) -> Path:
    """Save ``net`` (`network_writer`) by way of `saving.write_file`: nothing is half-written, and the file gets the
    mode the umask gives; a failure of any kind is a `WeightsError` in one line."""
    return write_file(path, network_writer(net, **info), error=WeightsError)


def _architecture(state: dict) -> tuple[list[int], int]:
    """The widths at full, half and quarter size and the number of residual blocks that ``state``'s weights are of."""
    channels = [int(state[f"layers.{i}.1.weight"].shape[0]) for i in range(3)]
    return channels, sum(key.endswith(".body.0.1.weight") for key in state)


def load_network(path: str | os.PathLike, device: str | torch.device = "cpu") -> TransformNet:
    """A network saved by `save_network` (or `nst train`), in fp32 and eval mode, with its ``info`` as ``.info``;
    a `WeightsError` in one line for a missing file or one that is not such a network. What the file says is checked
    against its weights before a network is built (a wrong number of blocks could ask for any amount of memory)."""
    if not isinstance(path, (str, os.PathLike)):
        raise WeightsError(f"cannot load a network from a {type(path).__name__}: give a file or a shipped style's name")
    path = Path(path).expanduser()
    if not path.is_file():
        shipped = ", ".join(shipped_networks()) or "none"
        raise WeightsError(f"network file not found: {path} (shipped networks: {shipped})")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        problem = type(err).__name__
        raise WeightsError(f"could not read {path}: {problem}; is it a network saved by `nst train`?") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a fast style network saved by `nst train` or save_network")
    state, info = record.get("state_dict"), record.get("info", {})
    try:
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise TypeError("no weights")
        channels, blocks = _architecture(state)
        if [record.get("channels"), record.get("blocks")] != [channels, blocks]:
            raise ValueError(f"it records channels {record.get('channels')!r} and {record.get('blocks')!r} blocks, but "
                             f"its weights are of channels {channels} and {blocks} blocks")
        if not isinstance(info, dict):
            raise TypeError(f"its info is a {type(info).__name__}, not a dict")
        size = info.get("size", 1)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"its training size {size!r} is not a whole number of px >= 1")
        if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
            raise ValueError("its weights have NaN or infinite values")
        net = TransformNet(tuple(channels), blocks)
        net.load_state_dict({k: v.float() for k, v in state.items()})
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
        problem = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(f"{path} does not hold a complete fast style network ({problem}); train it again") from None
    net.info = dict(info)
    return net.to(device).eval().requires_grad_(False)


def shipped_networks() -> dict[str, Path]:
    """Style name -> file of the networks that come with the package (not every shipped style has one)."""
    folder = Path(str(resources.files(__package__) / NETWORKS_FOLDER))
    return {p.stem: p for p in sorted(folder.glob("*.pt"))}


def network_path(name_or_path: str | os.PathLike) -> Path:
    """A shipped network's file by its style name ('mosaic'), else ``name_or_path`` as a path."""
    return shipped_networks().get(str(name_or_path), Path(name_or_path).expanduser())


def check_pass_memory(net: TransformNet, height: int, width: int, batch: int = 1) -> None:
    """Stop before a pass of ``batch`` photos of ``height`` x ``width`` px through ``net`` that would not fit in 80% of
    the free memory of its device, naming the largest size (long side, rounded down to 16 px) that fits."""
    long = max(height, width)

    def need(side: int) -> int:
        return net.estimate_bytes(round(height * side / long), round(width * side / long), batch)

    shortfall = memory_shortfall(need, long, net.device)
    if shortfall is None:
        return
    fits = shortfall.fits and (shortfall.fits // 16 * 16 or shortfall.fits)
    advice = f"use a size of {fits} px or less" if fits else "free memory"
    raise ResourceError(f"a {width}x{height} px pass through the network {shortfall} on {net.device}; {advice}")


@torch.no_grad()
def stylize(net: TransformNet, image: torch.Tensor) -> torch.Tensor:
    """``image`` (RGB in [0, 1], (1, 3, H, W), a batch of them, or (3, H, W)) through ``net`` in one pass, on the
    network's device; returned on the CPU, in the image's shape. A `ParameterError` for anything else (`check_image`),
    a `ResourceError` if the pass would not fit in memory."""
    batch = check_image(image, "input")
    check_pass_memory(net, *batch.shape[-2:], batch=len(batch))
    out = net(batch.to(net.device, torch.float32)).cpu()
    return out.view(image.shape)
