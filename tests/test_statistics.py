"""The style statistics of nst_helpers.style_statistics: zero on identical inputs, orderless, differentiable, and what each one sees."""

import pytest
import torch

from nst_helpers import Objective, ParameterError, gram_matrix, optimize_image, style_layer_loss
from nst_helpers.style_statistics import (
    FeatureLossObjective,
    blend_style_targets,
    blended_objective,
    gram_loss,
    mean_std_loss,
    mmd_loss,
    sliced_wasserstein_loss,
)

LOSSES = {
    "gram": gram_loss,
    "mean_std": mean_std_loss,
    "mmd_linear": lambda f, t: mmd_loss(f, t, "linear"),
    "mmd_poly2": lambda f, t: mmd_loss(f, t, "poly2"),
    "mmd_gaussian": lambda f, t: mmd_loss(f, t, "gaussian"),
    "sliced_wasserstein": sliced_wasserstein_loss,
}


def features(seed: int, n: int = 8, h: int = 6, w: int = 5, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, n, h, w, generator=g).relu() + shift  # rectified, like a relu layer's output


def shuffle_positions(f: torch.Tensor, seed: int = 0) -> torch.Tensor:
    b, n, h, w = f.shape
    order = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))
    return f.flatten(2)[..., order].reshape(b, n, h, w)


@pytest.mark.parametrize("name", LOSSES)
def test_zero_on_identical_positive_otherwise_and_differentiable(name):
    loss = LOSSES[name]
    a, b = features(0), features(1, h=7, w=4, shift=0.3)  # b has another number of positions
    assert loss(a, a.clone()).abs().item() < 1e-6
    x = a.clone().requires_grad_(True)
    value = loss(x, b)
    assert value.dim() == 0 and value.item() > 1e-4
    value.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", LOSSES)
def test_orderless(name):
    loss = LOSSES[name]
    a, b = features(0), features(1, shift=0.3)
    assert loss(shuffle_positions(a), a).abs().item() < 1e-5
    assert torch.allclose(loss(shuffle_positions(a, seed=3), b), loss(a, b), rtol=1e-4)


def test_poly2_mmd_is_the_gram_loss_up_to_a_constant():
    # MMD^2 from its definition, with kernel matrices: mean k(x, x') + mean k(y, y') - 2 mean k(x, y), k = (x . y)^2
    a, b = features(0), features(1, shift=0.3)
    x, y = a.flatten(2)[0].T, b.flatten(2)[0].T  # (M, N)
    k = lambda p, q: (p @ q.T).pow(2)  # noqa: E731
    by_definition = k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()
    n, m = a.shape[1], a.shape[2] * a.shape[3]
    paper = style_layer_loss(gram_matrix(a), gram_matrix(b), n, m, "paper")
    assert torch.allclose(mmd_loss(a, b, "poly2"), by_definition, rtol=1e-4)
    assert torch.allclose(by_definition, 4 * n**2 * paper, rtol=1e-4)
    assert torch.allclose(gram_loss(a, b), paper, rtol=1e-5)


def test_gaussian_mmd_approximates_the_kernel_matrix_definition():
    a, b = features(0), features(1, shift=0.5)
    x, y = a.flatten(2)[0].T, b.flatten(2)[0].T
    sigma = 1.5
    k = lambda p, q: torch.exp(-torch.cdist(p, q).pow(2) / (2 * sigma**2))  # noqa: E731
    exact = k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()
    approx = mmd_loss(a, b, "gaussian", sigma=sigma, random_features=8192)
    assert abs(approx.item() - exact.item()) < 0.15 * exact.item(), (approx, exact)


def test_linear_mmd_is_the_squared_mean_difference():
    a, b = features(0), features(1, shift=0.3)
    expected = (a.mean((2, 3)) - b.mean((2, 3))).pow(2).sum()
    assert torch.allclose(mmd_loss(a, b, "linear"), expected, rtol=1e-5)


def test_sliced_wasserstein_sees_shape_that_mean_and_std_miss():
    # Per channel: Gaussian samples against uniform ones, both standardised to mean 0 and standard deviation 1.
    g = torch.Generator().manual_seed(0)
    gaussian, uniform = torch.randn(1, 2, 32, 32, generator=g), torch.rand(1, 2, 32, 32, generator=g)

    def standardise(f):
        flat = f.flatten(2)
        return ((flat - flat.mean(2, keepdim=True)) / flat.std(2, unbiased=False, keepdim=True)).reshape(f.shape)

    a, b = standardise(gaussian), standardise(uniform)
    same_moments = mean_std_loss(a, b).item()
    sw = sliced_wasserstein_loss(a, b).item()
    assert same_moments < 1e-8
    assert sw > 1e-3 and sw > 1e4 * same_moments


def test_unknown_kernel_and_bad_shapes_raise():
    with pytest.raises(ParameterError, match="kernel"):
        mmd_loss(features(0), features(1), "cubic")
    with pytest.raises(ParameterError, match="same N"):
        mean_std_loss(features(0, n=4), features(1, n=5))


def test_feature_loss_objective_runs_and_normalises(vgg, content_image, style_image):
    # content_weight 1e-9 balances the raw content loss (sums of squared features, ~1e9 a step away from the photo)
    # against the normalised style term (10 at the photo); with weight 1 the content term pins the image in place.
    objective = FeatureLossObjective(vgg, style_image, mean_std_loss, layers=["relu1_1", "relu2_1"], content=content_image,
                                     content_weight=1e-9, style_weight=10.0, normalize_at=content_image)
    with torch.no_grad():
        terms = objective(content_image)
    assert set(terms) == {"content", "style"}
    assert terms["content"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["style"].item() == pytest.approx(10.0, rel=1e-4)  # normalised: the style term is style_weight at the reference
    result = optimize_image(objective, init="content", steps=5, progress=False)
    assert result.history["style"][-1] < 0.5 * result.history["style"][0]
    style_only = FeatureLossObjective(vgg, style_image, sliced_wasserstein_loss, layers={"relu1_1": 1.0})
    assert optimize_image(style_only, init="noise", steps=2, progress=False).image.shape == style_image.shape


def test_blend_at_zero_and_one_is_each_style(vgg, content_image, style_image):
    other = content_image.flip(-1)  # any second "style"
    single_a, single_b = Objective(vgg, content_image, style_image), Objective(vgg, content_image, other)
    for t, single in [(0.0, single_a), (1.0, single_b)]:
        blended = blended_objective(vgg, content_image, style_image, other, t)
        for k, target in single.style_targets.items():
            assert torch.allclose(blended.style_targets[k], target, rtol=1e-6)
    half = blend_style_targets(single_a.style_targets, single_b.style_targets, 0.5)
    assert all(torch.allclose(half[k], (single_a.style_targets[k] + single_b.style_targets[k]) / 2) for k in half)
    with pytest.raises(ParameterError):
        blend_style_targets(single_a.style_targets, single_b.style_targets, 1.5)
