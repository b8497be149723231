"""Checks of the science at the quick profile: what a wrong implementation would fail."""

import pytest
import torch

from nst_helpers import (
    STYLE_LAYERS,
    Objective,
    content_loss,
    default_style_weight,
    gram_matrix,
    optimize_image,
    style_loss,
)
from nst_helpers.checks import claim

LAYERS = ["conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return (10 * torch.log10(1 / (a - b).pow(2).mean())).item()


def test_content_reconstruction_gets_worse_with_depth(vgg, content_image, quick):
    scores, drops = [], []
    for layer in LAYERS:
        result = optimize_image(Objective(vgg, content=content_image, content_layers=[layer]), steps=quick.steps, progress=False)
        scores.append(psnr(result.image, content_image))
        drops.append(result.history["total"][0] / result.history["total"][-1])
    claim("PSNR falls at every step in depth (smallest fall, dB)", min(a - b for a, b in zip(scores, scores[1:])), above=0)
    claim("conv1_2 keeps the pixels (PSNR, dB)", scores[0], above=15)
    claim("every run lowers its loss at least fivefold (times)", min(drops), above=5)  # a broken loop: about 1


def _losses(vgg, image, content, style):
    feats = vgg(image, ["conv4_2", *STYLE_LAYERS])
    target_c = vgg(content, ["conv4_2"])["conv4_2"]
    grams = {k: gram_matrix(f) for k, f in vgg(style, STYLE_LAYERS).items()}
    return content_loss(feats["conv4_2"], target_c).item(), style_loss(feats, grams).item()


@pytest.fixture(scope="module")
def transfer(vgg, content_image, style_image, quick):
    # alpha/beta = 0.1: at 64 px the paper's 1e-3 is all style (relu4_2 has 8 x 8 positions to hold the photo; the
    # output's content loss is the painting's), so the content term's hold is tested where it has one
    objective = Objective(vgg, content_image, style_image, style_weight=10.0)
    return optimize_image(objective, init="content", steps=quick.steps, progress=False)


def test_transfer_matches_style_far_better_than_the_content_image(vgg, transfer, content_image, style_image):
    _, style_of_output = _losses(vgg, transfer.image, content_image, style_image)
    _, style_of_content = _losses(vgg, content_image, content_image, style_image)
    claim("the output's style loss is far below the photo's (times)", style_of_content / style_of_output, above=8)


def test_transfer_keeps_content_far_better_than_the_style_image(vgg, transfer, content_image, style_image):
    # conv4_2 of a painted image is far from the photo's, yet still a fraction of the painting's (3.6x at 20 steps
    # here); with the content term ignored (content_weight=0) about 1x.
    content_of_output, _ = _losses(vgg, transfer.image, content_image, style_image)
    content_of_style, _ = _losses(vgg, style_image, content_image, style_image)
    claim("the output's content loss is below the painting's (times)", content_of_style / content_of_output, above=1.6)


def _ratio_sweep_ends(vgg, content, style, steps, swapped=False):
    """(content loss, style loss) of the runs at alpha/beta = 1 and 1e-3: three decades, as notebook 4's ratio
    experiment spans (at 64 px the trade-off sits there: from 1e-2 down, the style term holds the picture)."""
    ends = []
    for ratio in (1.0, 1e-3):
        alpha, beta = 1.0, default_style_weight(*content.shape[-2:]) * 1e-3 / ratio
        if swapped:  # the wrong implementation: alpha weighs the style, beta the content
            alpha, beta = beta, alpha
        objective = Objective(vgg, content, style, content_weight=alpha, style_weight=beta)
        ends.append(_losses(vgg, optimize_image(objective, init="content", steps=steps, progress=False).image, content, style))
    return ends


@pytest.mark.parametrize("swapped", [False, True], ids=["paper", "alpha and beta swapped"])
def test_a_larger_style_weight_lowers_the_style_loss(vgg, content_image, style_image, quick, swapped):
    (content_low, style_low), (content_high, style_high) = _ratio_sweep_ends(vgg, content_image, style_image, quick.steps // 2,
                                                                           swapped)
    if not swapped:
        claim("a 1000x larger style weight gives a far lower style loss (times)", style_low / style_high, above=2)
        claim("a 1000x larger style weight gives a higher content loss (times)", content_high / content_low, above=1.5)
    else:  # notebook 4's check (the same thresholds) must catch it
        assert style_low / style_high < 2 or content_high / content_low < 1.5, (style_low / style_high, content_high / content_low)


@pytest.mark.parametrize("pair", [("astronaut.png", "swirls.png"), ("coffee.png", "wheat_field.jpg")])
def test_the_papers_ratio_balances_style_and_content_with_the_defaults(vgg, quick, pair):
    # Figure 4's middle: at alpha/beta = 1e-3, from white noise, the style term leads but does not swamp the content
    # term (30-1300x over shipped pairs at 48-224 px), so 1e-5 ... 1e-2 spans the trade-off. The text's formulas on
    # the same normalised network put the content term 10^3-10^5 times above (every result is the photo): the wrong
    # implementation this guards against.
    from nst_helpers import images_dir, initial_image, load_image

    assert vgg.normalized, "the defaults are the paper's network"
    content, style = (load_image(images_dir() / kind / name, size=quick.size) for kind, name in zip(("content", "style"), pair))

    def balance(normalization: str) -> float:
        objective = Objective(vgg, content, style, normalization=normalization, precision="fp32")
        with torch.no_grad():
            terms = objective(initial_image(objective, "noise"))
        return terms["style"].item() / terms["content"].item()

    claim("at the paper's ratio the style term leads at the start (times)", balance("paper-mean"), above=10)
    claim("at the paper's ratio the style term does not swamp the content term (times)", balance("paper-mean"), below=1e4)
    claim("the text's formulas put the content term far above (style / content)", balance("paper"), below=1e-2)
