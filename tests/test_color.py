"""Colour preservation: colour matching reproduces the target's statistics; YIQ round-trips; luminance transfer keeps the chroma."""

import pytest
import torch

from nst_helpers import ParameterError
from nst_helpers.color import luminance, luminance_transfer, match_color, match_luminance, rgb_to_yiq, yiq_to_rgb


def mean_cov(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = image.reshape(3, -1).double()
    return x.mean(1), torch.cov(x, correction=0)


@pytest.mark.parametrize("method", ["sqrt", "cholesky"])
def test_match_color_gives_the_contents_mean_and_covariance(content_image, style_image, method):
    matched = match_color(style_image, content_image, method=method, clamp=False)
    assert matched.shape == style_image.shape
    mean, cov = mean_cov(matched)
    target_mean, target_cov = mean_cov(content_image)
    assert torch.allclose(mean, target_mean, atol=1e-4)
    assert torch.allclose(cov, target_cov, atol=1e-4)
    style_mean, style_cov = mean_cov(style_image)
    assert (style_cov - target_cov).abs().max() > 1e-2, "the test images should differ in colour, or this test proves nothing"


def test_match_color_clamped_stays_close_and_in_range(content_image, style_image):
    # Clipping out-of-gamut colours (the astronaut's suit and black background) moves the statistics, but
    # they stay far closer to the content's than the style image's are (measured: 4-10x closer, all 16 pairs).
    matched = match_color(style_image, content_image)
    assert 0 <= matched.min() and matched.max() <= 1
    (mean, cov), (target_mean, target_cov), (style_mean, style_cov) = map(mean_cov, (matched, content_image, style_image))
    assert (mean - target_mean).abs().max() < (style_mean - target_mean).abs().max() / 3
    assert (cov - target_cov).norm() < (style_cov - target_cov).norm() / 3


def test_match_color_keeps_the_style_images_structure(content_image, style_image):
    # A per-pixel affine map: the matched image is the style image with new colours, not the content image.
    matched = match_color(style_image, content_image, clamp=False)
    x, y = style_image.reshape(3, -1).double(), matched.reshape(3, -1).double()
    design = torch.cat([x, torch.ones(1, x.shape[1], dtype=x.dtype)])
    coef = torch.linalg.lstsq(design.T, y.T).solution
    assert torch.allclose(design.T @ coef, y.T, atol=1e-4)


def test_match_color_of_an_image_with_itself_is_the_identity(content_image):
    for method in ("sqrt", "cholesky"):
        assert torch.allclose(match_color(content_image, content_image, method=method), content_image, atol=1e-3)


def test_match_color_works_for_images_of_different_sizes(content_image, style_image):
    small = torch.nn.functional.interpolate(content_image, scale_factor=0.5, mode="bilinear")
    assert match_color(style_image, small).shape == style_image.shape
    assert match_color(style_image[0], content_image[0]).shape == style_image[0].shape


def test_match_color_rejects_bad_input(content_image, style_image):
    with pytest.raises(ParameterError, match="method"):
        match_color(style_image, content_image, method="lab")
    with pytest.raises(ParameterError, match="RGB"):
        match_color(style_image[:, :1], content_image)


def test_yiq_round_trip_is_the_identity():
    image = torch.rand(2, 3, 9, 7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(image)), image, atol=1e-6)
    assert torch.allclose(rgb_to_yiq(yiq_to_rgb(image)), image, atol=1e-6)


def test_yiq_greys_have_no_chroma_and_their_value_as_luminance():
    grey = torch.linspace(0, 1, 5).view(1, 1, 1, 5).expand(1, 3, 2, 5)
    yiq = rgb_to_yiq(grey)
    assert torch.allclose(yiq[:, 0], grey[:, 0], atol=1e-6)
    assert yiq[:, 1:].abs().max() < 1e-6
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert rgb_to_yiq(red)[0, :, 0, 0].tolist() == pytest.approx([0.299, 0.595716, 0.211456], abs=1e-6)


def test_luminance_transfer_keeps_the_contents_chroma_and_the_stylised_luminance(content_image, style_image):
    stylised = luminance(style_image)  # what a luminance-only transfer returns: a grey image
    out = luminance_transfer(stylised, content_image, clamp=False)
    yiq, yiq_content = rgb_to_yiq(out), rgb_to_yiq(content_image)
    assert torch.allclose(yiq[:, 1:], yiq_content[:, 1:], atol=1e-5), "chroma should be the content's"
    assert torch.allclose(yiq[:, :1], stylised[:, :1], atol=1e-5), "luminance should be the stylised image's"
    assert not torch.allclose(out, content_image, atol=0.05)


def test_luminance_transfer_clamped_is_an_image_close_to_the_unclamped_one(content_image, style_image):
    stylised = luminance(style_image)
    out = luminance_transfer(stylised, content_image)
    assert 0 <= out.min() and out.max() <= 1
    assert (out - luminance_transfer(stylised, content_image, clamp=False)).abs().mean() < 0.02


def test_match_luminance_gives_the_contents_brightness_and_contrast(content_image, style_image):
    matched = match_luminance(style_image, content_image)
    assert torch.equal(matched[:, 0], matched[:, 1]) and torch.equal(matched[:, 0], matched[:, 2]), "a grey image"
    y, y_content = matched[:, 0], rgb_to_yiq(content_image)[:, 0]
    assert y.mean().item() == pytest.approx(y_content.mean().item(), abs=1e-5)
    assert y.std().item() == pytest.approx(y_content.std().item(), rel=1e-4)


def test_luminance_transfer_rejects_images_of_different_sizes(content_image, style_image):
    with pytest.raises(ParameterError, match="size"):
        luminance_transfer(style_image[..., :10, :], content_image)
