"""Feature visualisation: layer table, parameterisations, transforms, and activation maximisation (tiny sizes)."""

import pytest
import torch

from nst_helpers.errors import ParameterError
from nst_helpers.featviz import (
    COLOR_CORRELATION,
    STANDARD_TRANSFORMS,
    channel_activation,
    compose,
    decorrelate_colors,
    fourier_image,
    image_param,
    jitter,
    layer_table,
    pad,
    pixel_image,
    random_affine,
    receptive_field,
    render,
)

# --- layer table ---


@pytest.mark.parametrize("layer, field", [("conv1_1", 3), ("relu1_1", 3), ("conv1_2", 5), ("pool1", 6), ("conv2_1", 10), ("pool5", 268)])
def test_receptive_field_known_values(layer, field):
    assert receptive_field(layer) == field


def test_receptive_field_vgg16_and_unknown_layer():
    assert receptive_field("pool5", "vgg16") == 212  # the well-known value for VGG16
    with pytest.raises(ParameterError, match="conv1_1"):
        receptive_field("conv6_1")


def test_layer_table_vgg19_224():
    rows = {row.name: row for row in layer_table("vgg19", 224)}
    assert len(rows) == 16 * 2 + 5
    assert (rows["conv1_1"].channels, rows["conv1_1"].size, rows["conv1_1"].stride) == (64, 224, 1)
    assert (rows["conv3_1"].channels, rows["conv3_1"].size, rows["conv3_1"].stride) == (256, 56, 4)
    assert (rows["pool5"].channels, rows["pool5"].size, rows["pool5"].stride) == (512, 7, 32)
    fields = [row.receptive_field for row in layer_table("vgg19", 224) if not row.name.startswith("relu")]
    assert all(a < b for a, b in zip(fields, fields[1:]))


def test_layer_table_sizes_match_the_network(vgg):
    x = torch.rand(1, 3, 48, 48)
    names = ["conv1_1", "pool1", "conv2_1", "pool2", "conv3_4", "pool3", "conv4_1", "pool4", "conv5_1", "pool5"]
    feats = vgg(x, names)
    rows = {row.name: row for row in layer_table("vgg19", 48)}
    for name in names:
        assert feats[name].shape[1:] == (rows[name].channels, rows[name].size, rows[name].size), name


# --- parameterisations ---


@pytest.mark.parametrize("fft", [True, False])
def test_image_param_shape_range_and_gradient(fft):
    params, image = image_param(20, batch=2, fft=fft, seed=1)
    x = image()
    assert x.shape == (2, 3, 20, 20)
    assert 0 <= x.min() and x.max() <= 1
    x.sum().backward()
    assert params[0].grad is not None and params[0].grad.abs().sum() > 0


def test_image_param_is_seeded():
    assert torch.equal(image_param(16, seed=3)[1](), image_param(16, seed=3)[1]())
    assert not torch.equal(image_param(16, seed=3)[1](), image_param(16, seed=4)[1]())


def test_fourier_image_odd_size_and_low_frequencies_dominate():
    _, image = fourier_image((1, 3, 33, 31), sd=1.0)
    x = image().detach()
    assert x.shape == (1, 3, 33, 31)
    # The 1/f scaling makes neighbouring pixels alike: relative to its spread, the image changes far less from
    # one pixel to the next than white noise does (for which the ratio is sqrt(2)).
    _, pixels = pixel_image((1, 3, 33, 31), sd=1.0)
    white = pixels().detach()
    assert (white.diff(dim=-1).std() / white.std()) == pytest.approx(2**0.5, rel=0.1)
    assert (x.diff(dim=-1).std() / x.std()) < 0.7 * 2**0.5


def test_decorrelate_colors_luminance_is_grey():
    lum = torch.zeros(1, 3, 4, 4)
    lum[:, 0] = 1.0
    rgb = decorrelate_colors(lum)
    assert torch.allclose(rgb[:, 0], rgb[:, 1], atol=0.05) and torch.allclose(rgb[:, 1], rgb[:, 2], atol=0.05)
    assert rgb.min() > 0
    assert COLOR_CORRELATION.norm(dim=0).max() == pytest.approx(1.0)


# --- transforms ---


def test_transforms_shapes_and_identity():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 20, 20)
    assert pad(3)(x, g).shape == (2, 3, 26, 26)
    assert pad(3)(x, g)[0, :, 0, 0].eq(0.5).all()
    y = jitter(4)(x, g)
    assert y.shape == (2, 3, 17, 17)
    assert any(torch.equal(y, x[..., i : i + 17, j : j + 17]) for i in range(4) for j in range(4))
    assert torch.allclose(random_affine([1.0], [0])(x, g), x, atol=1e-5)
    assert not torch.allclose(random_affine([1.0], [10])(x, g), x, atol=1e-2)
    assert compose(STANDARD_TRANSFORMS)(x, g).shape == (2, 3, 20 + 24 - 7 - 3, 20 + 24 - 7 - 3)


def test_transforms_are_reproducible():
    x = torch.rand(1, 3, 24, 24)
    t = compose(STANDARD_TRANSFORMS)
    a = t(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, t(x, torch.Generator().manual_seed(5)))


# --- objective and ascent ---


def test_channel_activation(vgg_max):
    x = torch.rand(2, 3, 16, 16)
    a = channel_activation(vgg_max, x, "conv1_1", [0, 5])
    assert a.shape == (2,) and (a >= 0).all()
    relu = vgg_max(x, ["relu1_1"])["relu1_1"]
    assert torch.allclose(a, torch.stack([relu[0, 0].mean(), relu[1, 5].mean()]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ParameterError, match="one channel per image"):
        channel_activation(vgg_max, x, "conv1_1", [0])
    with pytest.raises(ParameterError, match="0 .. 63"):
        channel_activation(vgg_max, x, "conv1_1", [0, 64])


def test_render_raises_activation_far_above_noise(vgg_max):
    channels = [3, 10, 40]
    result = render(vgg_max, "conv5_1", channels, size=32, steps=30, seed=0)
    assert result.images.shape == (3, 3, 32, 32) and 0 <= result.images.min() and result.images.max() <= 1
    assert len(result.history) == 30 and result.channels == channels
    noise = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    optimised = channel_activation(vgg_max, result.images, "conv5_1", channels)
    baseline = channel_activation(vgg_max, noise, "conv5_1", channels)
    assert (optimised > 5 * baseline.clamp(min=1e-3)).all(), (optimised, baseline)


def test_render_is_seeded_and_checks_arguments(vgg_max):
    a = render(vgg_max, "conv1_1", [0], size=16, steps=3, seed=2).images
    assert torch.equal(a, render(vgg_max, "conv1_1", [0], size=16, steps=3, seed=2).images)
    with pytest.raises(ParameterError):
        render(vgg_max, "conv1_1", [0], size=16, steps=0)


def test_render_callback_sees_each_step_and_can_stop(vgg_max):
    seen = []

    def callback(step, images, losses):
        seen.append((step, images.shape, losses["activation"]))
        return step == 2

    result = render(vgg_max, "conv1_1", [0, 1], size=16, steps=5, callback=callback)
    assert [s for s, _, _ in seen] == [1, 2] and len(result.history) == 2
    assert seen[0][1] == (2, 3, 16, 16) and seen[0][2] == pytest.approx(sum(result.history[0]), rel=1e-5)
