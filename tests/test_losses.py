"""The losses against values worked out by hand on tiny tensors, for every normalisation.

Notation as in nst_helpers.losses: a layer has N feature maps of M pixels; F is the generated
feature map, P the content target, G = F F^T and A the target Gram matrix.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_helpers import ParameterError, content_loss, gram_matrix, style_layer_loss, style_loss, total_variation

# F: a 1x2x2x2 feature map (N = 2 maps of M = 4 pixels).
#   map 0 = [[1, 2], [3, 4]]    map 1 = [[0, 1], [0, 1]]
F2 = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])
# P: map 0 all ones, map 1 all zeros.
P2 = torch.tensor([[[[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]]])
# F - P: map 0 = [0, 1, 2, 3], map 1 = [0, 1, 0, 1]
# sum (F - P)^2 = (0 + 1 + 4 + 9) + (0 + 1 + 0 + 1) = 16 over 8 elements.
CONTENT_EXPECTED = {"paper": 0.5 * 16, "mean": 16 / 8, "sum": 16.0}

# G = F F^T for F2:
#   G00 = 1 + 4 + 9 + 16 = 30, G01 = 1*0 + 2*1 + 3*0 + 4*1 = 6, G11 = 0 + 1 + 0 + 1 = 2
G2 = torch.tensor([[[30.0, 6.0], [6.0, 2.0]]])
# A = gram of P2: A00 = 4, everything else 0.
A2 = torch.tensor([[[4.0, 0.0], [0.0, 0.0]]])
# G - A = [[26, 6], [6, 2]];  sum (G - A)^2 = 676 + 36 + 36 + 4 = 752
#   paper: 752 / (4 N^2 M^2) = 752 / (4 * 4 * 16) = 2.9375
#   mean:  mean(((G - A) / (N M))^2) = 752 / 8^2 / 4 = 2.9375   (equal to 'paper' only because N^2 = 4)
#   sum:   752
STYLE2_EXPECTED = {"paper": 2.9375, "mean": 2.9375, "sum": 752.0}

# A 1x3x1x2 feature map (N = 3 maps of M = 2 pixels), so that 'paper' and 'mean' differ.
#   map 0 = [1, 2], map 1 = [0, 1], map 2 = [1, 0]
F3 = torch.tensor([[[[1.0, 2.0]], [[0.0, 1.0]], [[1.0, 0.0]]]])
# G = [[5, 2, 1], [2, 1, 0], [1, 0, 1]]
G3 = torch.tensor([[[5.0, 2.0, 1.0], [2.0, 1.0, 0.0], [1.0, 0.0, 1.0]]])
# A = identity: G - A = [[4, 2, 1], [2, 0, 0], [1, 0, 0]];  sum (G - A)^2 = 16 + 4 + 1 + 4 + 1 = 26
A3 = torch.eye(3).unsqueeze(0)
#   paper: 26 / (4 * 9 * 4) = 26 / 144
#   mean:  26 / (3 * 2)^2 / 9 = 26 / 324
#   sum:   26
STYLE3_EXPECTED = {"paper": 26 / 144, "mean": 26 / 324, "sum": 26.0}

NORMS = ("paper", "mean", "sum")


@pytest.mark.parametrize("normalization", NORMS)
def test_content_loss_by_hand(normalization):
    loss = content_loss(F2, P2, normalization)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(CONTENT_EXPECTED[normalization])


def test_content_loss_default_is_paper():
    assert content_loss(F2, P2).item() == pytest.approx(8.0)


@pytest.mark.parametrize("normalization", NORMS)
def test_content_loss_gradient_by_hand(normalization):
    # d/dF of 1/2 sum (F-P)^2 is F - P; of sum (F-P)^2 is 2 (F-P); of mean (F-P)^2 is 2 (F-P) / 8.
    f = F2.clone().requires_grad_(True)
    content_loss(f, P2, normalization).backward()
    factor = {"paper": 1.0, "sum": 2.0, "mean": 2.0 / 8}[normalization]
    torch.testing.assert_close(f.grad, factor * (F2 - P2))


def test_gram_matrix_by_hand():
    torch.testing.assert_close(gram_matrix(F2), G2)
    torch.testing.assert_close(gram_matrix(P2), A2)
    torch.testing.assert_close(gram_matrix(F3), G3)


def test_gram_matrix_is_per_image_in_a_batch():
    batch = torch.cat([F2, P2])
    gram = gram_matrix(batch)
    assert gram.shape == (2, 2, 2)
    torch.testing.assert_close(gram, torch.cat([G2, A2]))


def test_gram_matrix_gradient_matches_autograd():
    # The custom backward ((dG + dG^T) F) must agree with finite differences (double precision).
    f = torch.randn(2, 3, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert torch.autograd.gradcheck(gram_matrix, (f,))
    # and, by hand, for a weighted sum: d/dF sum(W * F F^T) = (W + W^T) F
    w = torch.tensor([[[1.0, 2.0], [0.0, 3.0]]])
    f2 = F2.clone().requires_grad_(True)
    (gram_matrix(f2) * w).sum().backward()
    expected = ((w + w.transpose(1, 2)) @ F2.reshape(1, 2, 4)).reshape(1, 2, 2, 2)
    torch.testing.assert_close(f2.grad, expected)


def test_gram_matrix_of_channels_last_maps_is_read_in_place():
    # The fast path's feature maps are channels_last (precision.py): the same G and gradient, gradcheck included, and
    # the gradient in the maps' layout, so that no pass transposes them
    f = torch.randn(2, 3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    last = f.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    assert torch.autograd.gradcheck(gram_matrix, (last,))
    plain = f.clone().requires_grad_(True)
    w = torch.randn(2, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (grad_plain,) = torch.autograd.grad((gram_matrix(plain) * w).sum(), plain)
    (grad_last,) = torch.autograd.grad((gram_matrix(last) * w).sum(), last)  # not .grad: it is copied to the leaf's layout
    torch.testing.assert_close(gram_matrix(last), gram_matrix(plain))
    torch.testing.assert_close(grad_last, grad_plain)
    assert grad_last.is_contiguous(memory_format=torch.channels_last) and not grad_last.is_contiguous()


@pytest.mark.parametrize("normalization", NORMS)
def test_style_layer_loss_by_hand(normalization):
    loss = style_layer_loss(G2, A2, n=2, m=4, normalization=normalization)
    assert loss.item() == pytest.approx(STYLE2_EXPECTED[normalization])
    loss3 = style_layer_loss(G3, A3, n=3, m=2, normalization=normalization)
    assert loss3.item() == pytest.approx(STYLE3_EXPECTED[normalization])


def test_style_layer_loss_paper_and_mean_differ_when_n_is_not_2():
    paper = style_layer_loss(G3, A3, 3, 2, "paper").item()
    mean = style_layer_loss(G3, A3, 3, 2, "mean").item()
    assert paper == pytest.approx(26 / 144)
    assert mean == pytest.approx(26 / 324)
    assert paper != pytest.approx(mean)


@pytest.mark.parametrize("normalization", NORMS)
def test_style_loss_default_weights_are_one_over_layers(normalization):
    features = {"a": F2, "b": F3}
    targets = {"a": A2, "b": A3}
    loss = style_loss(features, targets, normalization=normalization)
    expected = (STYLE2_EXPECTED[normalization] + STYLE3_EXPECTED[normalization]) / 2
    assert loss.item() == pytest.approx(expected)


def test_style_loss_explicit_weights():
    features = {"a": F2, "b": F3}
    targets = {"a": A2, "b": A3}
    # 'sum': 2 * 752 + 0.5 * 26 = 1517
    loss = style_loss(features, targets, {"a": 2.0, "b": 0.5}, normalization="sum")
    assert loss.item() == pytest.approx(1517.0)
    # 'paper': 2 * 2.9375 + 0.5 * 26 / 144
    loss = style_loss(features, targets, {"a": 2.0, "b": 0.5})
    assert loss.item() == pytest.approx(5.875 + 13 / 144)


def test_style_loss_only_uses_the_target_layers():
    # features may hold more layers than the targets (e.g. the content layer): they are ignored.
    features = {"a": F2, "b": F3, "content": torch.ones(1, 4, 2, 2)}
    loss = style_loss(features, {"b": A3}, normalization="sum")
    assert loss.item() == pytest.approx(26.0)


def test_style_loss_single_layer_equals_layer_loss():
    loss = style_loss({"a": F3}, {"a": A3})
    torch.testing.assert_close(loss, style_layer_loss(gram_matrix(F3), A3, 3, 2))


# Total variation of the 1x1x2x3 image [[1, 2, 4], [0, 2, 1]]:
#   horizontal squared differences: (2-1)^2, (4-2)^2, (2-0)^2, (1-2)^2 = 1, 4, 4, 1 -> sum 10, mean 10/4
#   vertical squared differences:   (0-1)^2, (2-2)^2, (1-4)^2       = 1, 0, 9    -> sum 10, mean 10/3
TV_IMAGE = torch.tensor([[[[1.0, 2.0, 4.0], [0.0, 2.0, 1.0]]]])


def test_total_variation_by_hand():
    assert total_variation(TV_IMAGE, "sum").item() == pytest.approx(20.0)
    assert total_variation(TV_IMAGE, "mean").item() == pytest.approx(10 / 4 + 10 / 3)
    assert total_variation(TV_IMAGE).item() == pytest.approx(10 / 4 + 10 / 3)  # default: mean


def test_total_variation_of_constant_image_is_zero():
    assert total_variation(torch.full((1, 3, 5, 4), 0.7), "sum").item() == 0.0


def test_total_variation_mean_of_one_pixel_wide_image_is_finite():
    # A 1x5 image has no vertical neighbours: that term should contribute 0, not NaN.
    # Horizontal squared differences of [0, 1, 3, 3, 5]: 1, 4, 0, 4 -> mean 9/4.
    image = torch.tensor([[[[0.0, 1.0, 3.0, 3.0, 5.0]]]])
    assert total_variation(image, "sum").item() == pytest.approx(9.0)
    assert total_variation(image, "mean").item() == pytest.approx(9 / 4)


def test_total_variation_gradient_by_hand():
    # 'sum' on the 1x1x1x2 image [a, b]: TV = (b - a)^2, so dTV/da = -2 (b - a), dTV/db = 2 (b - a).
    image = torch.tensor([[[[1.0, 4.0]]]], requires_grad=True)
    total_variation(image, "sum").backward()
    torch.testing.assert_close(image.grad, torch.tensor([[[[-6.0, 6.0]]]]))


@pytest.mark.parametrize("normalization", NORMS)
def test_losses_zero_on_identical_inputs(normalization):
    assert content_loss(F2, F2.clone(), normalization).item() == 0.0
    assert style_layer_loss(G3, G3.clone(), 3, 2, normalization).item() == 0.0
    assert style_loss({"a": F2, "b": F3}, {"a": G2, "b": G3}, normalization=normalization).item() == 0.0


@pytest.mark.parametrize("normalization", NORMS)
def test_style_loss_gradient_flows_to_features(normalization):
    f2 = F2.clone().requires_grad_(True)
    f3 = F3.clone().requires_grad_(True)
    style_loss({"a": f2, "b": f3}, {"a": A2, "b": A3}, normalization=normalization).backward()
    for f in (f2, f3):
        assert f.grad is not None
        assert torch.isfinite(f.grad).all()
        assert f.grad.abs().sum() > 0


def test_style_loss_gradient_matches_finite_differences():
    f = F3.double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: style_loss({"a": x}, {"a": A3.double()}), (f,))


@pytest.mark.parametrize("bad", ["Paper", "l2", "", None])
def test_unknown_normalization_raises(bad):
    with pytest.raises(ParameterError, match="normalization"):
        content_loss(F2, P2, bad)
    with pytest.raises(ParameterError, match="normalization"):
        style_layer_loss(G2, A2, 2, 4, bad)
    with pytest.raises(ParameterError, match="normalization"):
        style_loss({"a": F2}, {"a": A2}, normalization=bad)


def test_total_variation_rejects_paper_normalization():
    with pytest.raises(ParameterError, match="'mean' or 'sum'"):
        total_variation(TV_IMAGE, "paper")


def test_content_loss_shape_mismatch_raises():
    with pytest.raises(ParameterError, match=r"\(1, 2, 2, 2\).*\(1, 3, 1, 2\)"):
        content_loss(F2, F3)


def test_style_layer_loss_shape_mismatch_raises():
    with pytest.raises(ParameterError, match="differ in shape"):
        style_layer_loss(G2, A3, 2, 4)


def test_style_loss_shape_mismatch_raises():
    # F2 has 2 maps, A3 is a 3x3 Gram matrix
    with pytest.raises(ParameterError, match="differ in shape"):
        style_loss({"a": F2}, {"a": A3})


def test_style_loss_without_layers_raises():
    with pytest.raises(ParameterError, match="no style layers"):
        style_loss({"a": F2}, {})


def test_errors_are_value_errors_too():
    # ParameterError is also a ValueError, so generic handlers catch it.
    with pytest.raises(ValueError):
        content_loss(F2, P2, "bogus")


# --- properties ---------------------------------------------------------------------------------

small_floats = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def feature_maps(draw, pairs=False):
    n, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    size = n * h * w
    values = draw(st.lists(small_floats, min_size=size, max_size=size))
    f = torch.tensor(values, dtype=torch.float32).reshape(1, n, h, w)
    if not pairs:
        return f
    other = draw(st.lists(small_floats, min_size=size, max_size=size))
    return f, torch.tensor(other, dtype=torch.float32).reshape(1, n, h, w)


@settings(max_examples=40, deadline=None)
@given(feature_maps(pairs=True), st.sampled_from(NORMS))
def test_property_losses_non_negative(pair, normalization):
    f, p = pair
    _, n, h, w = f.shape
    assert content_loss(f, p, normalization).item() >= 0
    assert style_layer_loss(gram_matrix(f), gram_matrix(p), n, h * w, normalization).item() >= 0
    assert style_loss({"x": f}, {"x": gram_matrix(p)}, normalization=normalization).item() >= 0
    assert total_variation(f, "sum").item() >= 0
    assert total_variation(f, "mean").item() >= 0


@settings(max_examples=40, deadline=None)
@given(feature_maps(), st.sampled_from(NORMS))
def test_property_losses_zero_on_identical_inputs(f, normalization):
    _, n, h, w = f.shape
    assert content_loss(f, f.clone(), normalization).item() == 0.0
    assert style_layer_loss(gram_matrix(f), gram_matrix(f.clone()), n, h * w, normalization).item() == 0.0
    assert style_loss({"x": f}, {"x": gram_matrix(f)}, normalization=normalization).item() == 0.0


@settings(max_examples=40, deadline=None)
@given(feature_maps())
def test_property_gram_symmetric_with_non_negative_diagonal(f):
    g = gram_matrix(f)
    n = f.shape[1]
    assert g.shape == (1, n, n)
    torch.testing.assert_close(g, g.transpose(1, 2))
    # the diagonal is the squared norm of each feature map
    torch.testing.assert_close(torch.diagonal(g, dim1=1, dim2=2), f.reshape(1, n, -1).pow(2).sum(-1))
    assert (torch.diagonal(g, dim1=1, dim2=2) >= 0).all()


@settings(max_examples=25, deadline=None)
@given(feature_maps(pairs=True))
def test_property_normalizations_are_fixed_multiples(pair):
    # 'paper' = 'sum' / 2 for content; 'paper' = 'sum' / (4 N^2 M^2) for style: the conventions differ by constants.
    f, p = pair
    _, n, h, w = f.shape
    m = h * w
    c_sum, c_paper = content_loss(f, p, "sum").item(), content_loss(f, p, "paper").item()
    assert c_paper == pytest.approx(c_sum / 2, rel=1e-5, abs=1e-6)
    gf, gp = gram_matrix(f), gram_matrix(p)
    s_sum, s_paper = style_layer_loss(gf, gp, n, m, "sum").item(), style_layer_loss(gf, gp, n, m, "paper").item()
    assert math.isclose(s_paper, s_sum / (4 * n**2 * m**2), rel_tol=1e-4, abs_tol=1e-6)
