"""Image fidelity: PSNR and SSIM between two image tensors (1, 3, H, W) with values in [0, 1].

PSNR = 10 log10(1 / MSE) in dB (infinite for identical images). SSIM follows Wang, Bovik, Sheikh &
Simoncelli (2004): local means, variances and covariance under an 11 x 11 Gaussian window (sigma 1.5),
C1 = (0.01)^2 and C2 = (0.03)^2 for a data range of 1, the SSIM map taken over the "valid" window
positions (no padding), averaged over pixels and then over the RGB channels. 1 means identical.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .errors import ParameterError
from .objective import check_image

WINDOW = 11
SIGMA = 1.5
C1 = 0.01**2
C2 = 0.03**2


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    check_image(a, "first")  # a float tensor, RGB, finite: else one line
    check_image(b, "second")
    if a.dim() != 4 or a.shape[1] != 3:
        raise ParameterError(f"images must be shaped (1, 3, H, W), got {tuple(a.shape)}")
    if a.shape != b.shape:
        raise ParameterError(f"images differ in shape: {tuple(a.shape)} and {tuple(b.shape)}; "
                             "resize one to the other's size")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for a data range of 1: 10 log10(1 / MSE); inf if ``a`` equals ``b``."""
    _check_pair(a, b)
    mse = (a.detach().double() - b.detach().double().to(a.device)).pow(2).mean().item()
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> torch.Tensor:
    """A normalised ``size`` x ``size`` Gaussian, shaped (1, 1, size, size) for `conv2d`."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)[None, None]


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Structural similarity (Wang et al. 2004) of two RGB images in [0, 1], averaged over channels; 1 if equal."""
    _check_pair(a, b)
    if min(a.shape[-2:]) < WINDOW:
        raise ParameterError(f"SSIM needs images of at least {WINDOW} px on each side, got {a.shape[-1]}x{a.shape[-2]}")
    x = a.detach().double()
    y = b.detach().double().to(x.device)
    c = x.shape[1]
    window = gaussian_window().to(x.device).expand(c, 1, WINDOW, WINDOW)

    def blur(t: torch.Tensor) -> torch.Tensor:  # local weighted mean, per channel
        return F.conv2d(t, window, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + C1) * (2 * cov + C2)) / ((mu_x**2 + mu_y**2 + C1) * (var_x + var_y + C2))
    return ssim_map.mean(dim=(-2, -1)).mean().item()
