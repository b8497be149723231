"""Feature visualisation: the layer table, and images optimised to excite one channel.

Activation maximisation after Olah, Mordvintsev & Schubert, "Feature Visualization" (Distill, 2017),
kept small and in the shape of the lucent library (greentfrapp/lucent): a *parameterisation* turns
free parameters into an image, *transforms* jitter, scale and rotate it at every step, and `render`
runs gradient ascent on the parameters so that one channel of one layer fires as much as it can.

    >>> vgg = VGG("vgg19", pooling="max")
    >>> result = render(vgg, "conv4_1", channels=[0, 1, 2], size=128, steps=256)
    >>> show_images(list(result.images))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .backbone import LayerInfo
from .errors import ParameterError
from .vgg import VGG, layer_channels, layer_names

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
ImageFn = Callable[[], torch.Tensor]


# --- the layer table: channels, output size and receptive field of every layer ---------------------------------------


def layer_table(arch: str = "vgg19", size: int = 224) -> list[LayerInfo]:
    """Every layer of ``arch`` for a ``size`` x ``size`` input, in order.

    A 3x3 convolution (stride 1, padding 1) keeps the size and widens the receptive field by 2 strides;
    a 2x2 pooling (stride 2) halves the size, widens the field by 1 stride and doubles the stride:
    ``field += (kernel - 1) * stride; stride *= pool stride``. A ReLU changes neither.
    """
    kernel, pool = 3, 2  # as built in vgg.py: 3x3 convolutions (padding 1), 2x2 pools with stride 2
    rows, channels, field, stride = [], 3, 1, 1
    for name in layer_names(arch):  # checks arch
        if name.startswith("conv"):
            channels = layer_channels(name)
            field += (kernel - 1) * stride
        elif name.startswith("pool"):
            field += (pool - 1) * stride
            stride *= pool
            size //= pool
        rows.append(LayerInfo(name, channels, size, stride, field))
    return rows


def receptive_field(layer: str, arch: str = "vgg19") -> int:
    """Side (px) of the input patch that one output of ``layer`` depends on: conv1_1 -> 3, pool1 -> 6."""
    for row in layer_table(arch):
        if row.name == layer:
            return row.receptive_field
    raise ParameterError(f"unknown layer {layer!r} for {arch}; valid layers: {', '.join(layer_names(arch))}")


# --- parameterisations: free parameters -> an RGB image in [0, 1] ----------------------------------------------------

# The square root of the covariance of natural images' RGB colours (from lucid/lucent), normalised. Its
# columns are colour directions: luminance first, then two colour-opponent directions.
COLOR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_CORRELATION = COLOR_CORRELATION / COLOR_CORRELATION.norm(dim=0).max()


def pixel_image(
    shape: Sequence[int], sd: float = 0.01, seed: int = 0, device: str | torch.device = "cpu"
) -> tuple[list[torch.Tensor], ImageFn]:
    """Plain pixels: the parameters are the image (before the colour and sigmoid steps)."""
    g = torch.Generator().manual_seed(seed)
    pixels = (torch.randn(*shape, generator=g) * sd).to(device).requires_grad_(True)
    return [pixels], lambda: pixels


def fft_frequencies(height: int, width: int) -> torch.Tensor:
    """|f| (cycles per pixel) of each coefficient of a real 2-D FFT of a ``height`` x ``width`` image."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    return (fx**2 + fy**2).sqrt()


def fourier_image(
    shape: Sequence[int], sd: float = 0.01, decay_power: float = 1.0, seed: int = 0, device: str | torch.device = "cpu"
) -> tuple[list[torch.Tensor], ImageFn]:
    """Parameters are Fourier coefficients, scaled by 1/|f|: every frequency gets the same share of each
    gradient step, so the ascent cannot pile its energy into high-frequency noise (the spectrum of a
    natural image already falls as 1/|f|)."""
    batch, channels, h, w = shape
    freqs = fft_frequencies(h, w)
    scale = (1.0 / freqs.clamp(min=1.0 / max(h, w)) ** decay_power).to(device)
    g = torch.Generator().manual_seed(seed)
    spectrum = (torch.randn(batch, channels, *freqs.shape, 2, generator=g) * sd).to(device).requires_grad_(True)

    def image() -> torch.Tensor:
        coefficients = scale * torch.view_as_complex(spectrum)
        return torch.fft.irfft2(coefficients, s=(h, w), norm="ortho") / 4.0  # 4: lucid's constant, tames saturation

    return [spectrum], image


def decorrelate_colors(image: torch.Tensor) -> torch.Tensor:
    """Map decorrelated colour channels (luminance, two opponent colours) to RGB."""
    return torch.einsum("bchw,rc->brhw", image, COLOR_CORRELATION.to(image.device))


def to_valid_rgb(image_fn: ImageFn, decorrelate: bool = True) -> ImageFn:
    """Wrap a parameterisation so that it returns RGB in [0, 1]: colour decorrelation, then a sigmoid."""

    def image() -> torch.Tensor:
        x = image_fn()
        return torch.sigmoid(decorrelate_colors(x) if decorrelate else x)

    return image


def image_param(
    size: int,
    batch: int = 1,
    fft: bool = True,
    decorrelate: bool = True,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[list[torch.Tensor], ImageFn]:
    """The parameters and the image function of ``batch`` square images, in the Fourier basis or as pixels."""
    param = fourier_image if fft else pixel_image
    params, image_fn = param((batch, 3, size, size), seed=seed, device=device)
    return params, to_valid_rgb(image_fn, decorrelate)


# --- transforms: what the image must survive at every step -----------------------------------------------------------


def _choice(values: Sequence, g: torch.Generator):
    return values[int(torch.randint(len(values), (1,), generator=g))]


def pad(width: int, value: float = 0.5) -> Transform:
    """Pad with a constant grey border, so that jitter and rotation do not pull in the opposite edge."""
    return lambda x, g: F.pad(x, [width] * 4, value=value)


def jitter(d: int) -> Transform:
    """Crop at a random offset of 0 .. d-1 px: the pattern must work wherever it lands (size shrinks by d-1)."""

    def transform(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        dy, dx = (int(v) for v in torch.randint(d, (2,), generator=g))
        h, w = x.shape[-2:]
        return x[..., dy : h - (d - 1) + dy, dx : w - (d - 1) + dx]

    return transform


def random_affine(scales: Sequence[float], degrees: Sequence[float]) -> Transform:
    """Scale and rotate about the centre by a random choice of each (bilinear, same output size)."""

    def transform(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        s, a = _choice(scales, g), math.radians(_choice(degrees, g))
        rows = [[math.cos(a) / s, -math.sin(a) / s, 0.0], [math.sin(a) / s, math.cos(a) / s, 0.0]]
        theta = torch.tensor(rows, device=x.device)
        grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    return transform


def compose(transforms: Sequence[Transform]) -> Transform:
    """Apply ``transforms`` in order."""

    def transform(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        for t in transforms:
            x = t(x, g)
        return x

    return transform


# lucent's standard_transforms: pad 12, jitter 8, scale by 0.9 .. 1.1, rotate by -10 .. 10 degrees, jitter 4.
STANDARD_TRANSFORMS: list[Transform] = [
    pad(12),
    jitter(8),
    random_affine(scales=[1 + (i - 5) / 50 for i in range(11)], degrees=list(range(-10, 11)) + 5 * [0]),
    jitter(4),
]


# --- the objective and the ascent ------------------------------------------------------------------------------------


def channel_activation(
    vgg: VGG, images: torch.Tensor, layer: str, channels: Sequence[int] | int, leak: float = 0.0
) -> torch.Tensor:
    """How strongly channel ``channels[i]`` of ``layer`` fires for image ``i``: the mean over positions of
    its rectified output, one number per image.

    A conv layer's output is rectified here (as its ReLU would), with a small slope ``leak`` below zero
    if asked: during the ascent that leak gives a channel that is silent everywhere a gradient to start from.
    """
    channels = [channels] * len(images) if isinstance(channels, int) else list(channels)
    if len(channels) != len(images):
        raise ParameterError(f"{len(images)} images but {len(channels)} channels; give one channel per image")
    features = vgg(images, [layer])[layer]
    if max(channels) >= features.shape[1] or min(channels) < 0:
        raise ParameterError(f"{layer} has channels 0 .. {features.shape[1] - 1}, got {channels}")
    x = features[torch.arange(len(images)), channels]  # (images, height, width)
    return F.leaky_relu(x, leak).mean(dim=(1, 2))


@dataclass
class Rendering:
    """The images that `render` optimised, one per channel, and each step's activations (steps x channels)."""

    images: torch.Tensor
    layer: str
    channels: list[int]
    history: list[list[float]] = field(default_factory=list)


def render(
    vgg: VGG,
    layer: str,
    channels: Sequence[int] | int,
    size: int = 128,
    steps: int = 256,
    lr: float = 0.05,
    transforms: Sequence[Transform] = STANDARD_TRANSFORMS,
    fft: bool = True,
    decorrelate: bool = True,
    leak: float = 0.01,
    seed: int = 0,
    progress: bool = False,
    callback: Callable[[int, torch.Tensor, dict[str, float]], bool] | None = None,
) -> Rendering:
    """Optimise one image per channel so that the channel's mean activation at ``layer`` is as large as it can be.

    Adam on the parameters (Fourier coefficients when ``fft``, else pixels); at every step the image goes
    through ``transforms`` (one random draw for the whole batch) before the network sees it.
    ``callback(step, images, {"activation": total})`` is called after every step; returning True stops early.
    """
    channels = [channels] if isinstance(channels, int) else list(channels)
    if size < 1 or steps < 1:
        raise ParameterError(f"size and steps must be >= 1, got size={size}, steps={steps}")
    params, image_fn = image_param(size, len(channels), fft=fft, decorrelate=decorrelate, seed=seed, device=vgg.device)
    optimizer = torch.optim.Adam(params, lr=lr)
    transform, g = compose(transforms), torch.Generator().manual_seed(seed)
    history = []
    for step in tqdm(range(1, steps + 1), desc=f"{layer} {channels}", disable=not progress, leave=False):
        activation = channel_activation(vgg, transform(image_fn(), g), layer, channels, leak)
        loss = -activation.sum()  # ascent: each image raises its own channel
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(activation.tolist())
        if callback is not None and callback(step, image_fn().detach(), {"activation": -loss.item()}):
            break
    return Rendering(image_fn().detach(), layer, channels, history)
