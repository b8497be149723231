"""Colour preservation (Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color in Neural Artistic Style
Transfer").

Two ways to keep the photo's colours while taking the painting's brush work:

* **Colour histogram matching** (before the transfer): `match_color` linearly transforms the style
  image's RGB pixels so that their mean and 3 x 3 covariance equal the content image's; then run the
  ordinary transfer with the recoloured style image.
* **Luminance-only transfer** (around the transfer): run the transfer on luminance images
  (`luminance`, `match_luminance`), then put the content image's colour channels back
  (`luminance_transfer`). Luminance and colour are separated in the YIQ colour space
  (`rgb_to_yiq`, `yiq_to_rgb`).

Images are tensors (B, 3, H, W) or (3, H, W), RGB in [0, 1], as everywhere in the package.
"""

from __future__ import annotations

from typing import Literal

import torch

from .errors import ParameterError

# NTSC RGB -> YIQ. Row 0 is the luminance Y; rows 1 and 2 the chroma I and Q (zero for greys).
RGB_TO_YIQ = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=torch.float64,
)
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)  # the exact inverse, so that a round trip is the identity

ColorMethod = Literal["sqrt", "cholesky"]


def _check_image(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or image.dim() not in (3, 4) or image.shape[-3] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ParameterError(f"{name} must be an RGB tensor (3, H, W) or (B, 3, H, W), got {shape}")
    return image


def _mix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Apply a 3 x 3 colour matrix to every pixel of a (..., 3, H, W) image."""
    return torch.einsum("ij,...jhw->...ihw", matrix.to(image.device, image.dtype), image)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """RGB -> YIQ, channel by channel: Y (luminance) in [0, 1]; I, Q (chroma) about [-0.6, 0.6]."""
    return _mix(RGB_TO_YIQ, _check_image(image))


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """YIQ -> RGB, the exact inverse of `rgb_to_yiq` (not clamped: out-of-gamut colours fall outside [0, 1])."""
    return _mix(YIQ_TO_RGB, _check_image(image))


def _mean_cov(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image channel mean (B, 3, 1) and covariance (B, 3, 3) of the pixels, in float64."""
    x = image.reshape(image.shape[0], 3, -1).double()
    mean = x.mean(dim=2, keepdim=True)
    centred = x - mean
    return mean, centred @ centred.transpose(1, 2) / x.shape[2]


def _sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Symmetric square root (or inverse square root) of covariance matrices, by eigendecomposition."""
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(1e-12)
    root = values.rsqrt() if inverse else values.sqrt()
    return vectors @ torch.diag_embed(root) @ vectors.transpose(-1, -2)


def match_color(
    style: torch.Tensor, content: torch.Tensor, method: ColorMethod = "sqrt", eps: float = 1e-5, clamp: bool = True
) -> torch.Tensor:
    """The style image recoloured so that its pixels' RGB mean and covariance equal the content image's.

    Each pixel x becomes A (x - mu_S) + mu_C with A Sigma_S A^T = Sigma_C. ``method`` picks A:
    ``"sqrt"`` uses symmetric matrix square roots, A = Sigma_C^(1/2) Sigma_S^(-1/2) (the paper's choice,
    from Image Analogies); ``"cholesky"`` uses A = L_C L_S^(-1) with Sigma = L L^T. ``eps`` is added to
    the diagonals (a flat-coloured image has a singular covariance). The two images may differ in size.
    With ``clamp`` the result is clipped to [0, 1], which moves the statistics slightly where colours
    fall out of gamut.
    """
    style, content = _check_image(style, "style"), _check_image(content, "content")
    squeeze = style.dim() == 3
    s, c = (style.unsqueeze(0), content.unsqueeze(0)) if squeeze else (style, content)
    if c.shape[0] not in (1, s.shape[0]):
        raise ParameterError(f"content batch {c.shape[0]} does not match style batch {s.shape[0]}")
    mu_s, cov_s = _mean_cov(s)
    mu_c, cov_c = _mean_cov(c)
    eye = eps * torch.eye(3, dtype=torch.float64, device=s.device)
    cov_s, cov_c = cov_s + eye, cov_c + eye
    if method == "sqrt":
        a = _sqrtm(cov_c) @ _sqrtm(cov_s, inverse=True)
    elif method == "cholesky":
        a = torch.linalg.cholesky(cov_c) @ torch.linalg.inv(torch.linalg.cholesky(cov_s))
    else:
        raise ParameterError(f"unknown method {method!r}; use 'sqrt' or 'cholesky'")
    x = s.reshape(s.shape[0], 3, -1).double()
    out = (a @ (x - mu_s) + mu_c).reshape(s.shape).to(style.dtype)
    out = out.clamp(0, 1) if clamp else out
    return out[0] if squeeze else out


def luminance(image: torch.Tensor) -> torch.Tensor:
    """The luminance Y as a grey RGB image (Y in all three channels), ready for the VGG."""
    y = rgb_to_yiq(image)[..., :1, :, :]
    return y.expand_as(image).clone()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style image's luminance, shifted and scaled to the content's mean and standard deviation, as a grey RGB
    image.

    L_S' = sigma_C / sigma_S * (L_S - mu_S) + mu_C (the paper's equation), so that the two luminance
    images the transfer compares have the same overall brightness and contrast. Not clamped.
    """
    y_s = rgb_to_yiq(style)[..., :1, :, :]
    y_c = rgb_to_yiq(content)[..., :1, :, :]
    dims = (-3, -2, -1)
    scale = y_c.std(dim=dims, keepdim=True) / y_s.std(dim=dims, keepdim=True).clamp_min(1e-8)
    y = scale * (y_s - y_s.mean(dim=dims, keepdim=True)) + y_c.mean(dim=dims, keepdim=True)
    return y.expand_as(style).clone()


def luminance_transfer(stylised: torch.Tensor, content: torch.Tensor, clamp: bool = True) -> torch.Tensor:
    """Combine the luminance of ``stylised`` with the colour channels (I, Q) of ``content``.

    ``stylised`` is usually the result of a transfer run on luminance images (grey, so its Y is any of
    its channels); it may also be an ordinary colour result, which gives a quick colour-preserving
    variant. Both images must have the same size. With ``clamp`` the result is clipped to [0, 1].
    """
    stylised, content = _check_image(stylised, "stylised"), _check_image(content, "content")
    if stylised.shape[-2:] != content.shape[-2:]:
        raise ParameterError(f"stylised {tuple(stylised.shape[-2:])} and content {tuple(content.shape[-2:])} "
                             "differ in size")
    y = rgb_to_yiq(stylised)[..., :1, :, :]
    iq = rgb_to_yiq(content.to(stylised.device, stylised.dtype))[..., 1:, :, :]
    out = yiq_to_rgb(torch.cat([y, iq.expand(*y.shape[:-3], 2, *y.shape[-2:])], dim=-3))
    return out.clamp(0, 1) if clamp else out
