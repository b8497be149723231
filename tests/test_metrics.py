"""PSNR and SSIM: exact values where they can be worked out by hand, and the orderings they must give."""

import math

import numpy as np
import pytest
import torch

from nst_helpers.errors import ParameterError
from nst_helpers.metrics import C1, gaussian_window, psnr, ssim


def photo(size: int = 48) -> torch.Tensor:
    """A smooth, structured test image (1, 3, size, size) in [0, 1]: gradients and a bright square."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    square = ((x - 0.5).abs() < 0.2) & ((y - 0.5).abs() < 0.2)
    image = torch.stack([x, y, 0.5 + 0.4 * torch.sin(6 * x) * torch.cos(4 * y)])
    image[:, square] = torch.tensor([0.9, 0.8, 0.1])[:, None]
    return image.unsqueeze(0).clamp(0, 1)


def noisy(image: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    noise = torch.randn(image.shape, generator=torch.Generator().manual_seed(seed))
    return (image + sigma * noise).clamp(0, 1)


def test_identical_images_have_infinite_psnr_and_ssim_one():
    image = photo()
    assert psnr(image, image.clone()) == math.inf
    assert ssim(image, image.clone()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("offset", "expected_db"), [(0.1, 20.0), (0.01, 40.0), (0.5, 10 * math.log10(4))])
def test_psnr_of_a_uniform_offset_is_known(offset, expected_db):
    # Every pixel differs by `offset`: MSE = offset^2, so PSNR = 10 log10(1 / offset^2) = -20 log10(offset).
    a = torch.full((1, 3, 16, 16), 0.25, dtype=torch.float64)  # float64: exact to 1e-6 dB
    assert psnr(a, a + offset) == pytest.approx(expected_db, abs=1e-6)


def test_psnr_when_only_some_pixels_differ():
    # A quarter of the values off by 0.4: MSE = 0.4^2 / 4 = 0.04, PSNR = 10 log10(25) = 13.979 dB.
    a = torch.zeros(1, 3, 8, 8)
    b = a.clone()
    b[..., :4, :4] = 0.4
    assert psnr(a, b) == pytest.approx(10 * math.log10(25), abs=1e-6)
    assert psnr(a, b) == psnr(b, a)


def test_ssim_of_two_flat_images_is_the_luminance_term():
    # No variance and no covariance: SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1), worked out by hand.
    a, b = torch.full((1, 3, 16, 16), 0.5, dtype=torch.float64), torch.full((1, 3, 16, 16), 0.6, dtype=torch.float64)
    expected = (2 * 0.5 * 0.6 + C1) / (0.5**2 + 0.6**2 + C1)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-9)


def test_window_is_the_standard_gaussian():
    w = gaussian_window()[0, 0]
    assert w.shape == (11, 11)
    assert w.sum().item() == pytest.approx(1.0)
    assert w[5, 5] == w.max() and w[5, 0] / w[5, 5] == pytest.approx(math.exp(-25 / (2 * 1.5**2)))


def test_ssim_falls_as_noise_grows():
    image = photo()
    scores = [ssim(image, noisy(image, sigma)) for sigma in (0.02, 0.05, 0.1, 0.2, 0.4)]
    assert scores == sorted(scores, reverse=True), scores
    assert scores[0] > 0.8 and scores[-1] < 0.3, scores
    psnrs = [psnr(image, noisy(image, sigma)) for sigma in (0.02, 0.05, 0.1, 0.2, 0.4)]
    assert psnrs == sorted(psnrs, reverse=True), psnrs


def test_ssim_of_an_image_and_its_negative_is_low():
    image = photo()
    assert ssim(image, 1 - image) < 0.1
    assert ssim(image, 1 - image) < ssim(image, noisy(image, 0.2))


def test_metrics_are_symmetric():
    a, b = photo(), noisy(photo(), 0.1)
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-12)


def test_ssim_agrees_with_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    a, b = photo(40), noisy(photo(40), 0.1)
    ref = metrics.structural_similarity(
        a[0].permute(1, 2, 0).numpy(), b[0].permute(1, 2, 0).numpy(),
        channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    )
    assert ssim(a, b) == pytest.approx(ref, abs=1e-4)


@pytest.mark.parametrize("metric", [psnr, ssim])
@pytest.mark.parametrize("image,message", [(np.zeros((1, 3, 16, 16)), "float tensor .*got ndarray"),
                                           (torch.full((1, 3, 16, 16), math.nan), "NaN")])
def test_an_image_of_the_wrong_kind_is_one_line(metric, image, message):
    with pytest.raises(ParameterError, match=message):  # an array was a raw AttributeError
        metric(image, torch.rand(1, 3, 16, 16))


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_shape_mismatch_raises(metric):
    with pytest.raises(ParameterError, match="differ in shape"):
        metric(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 30))
    with pytest.raises(ParameterError):
        metric(torch.zeros(3, 32, 32), torch.zeros(3, 32, 32))


def test_ssim_needs_at_least_one_window():
    with pytest.raises(ParameterError, match="at least 11 px"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
