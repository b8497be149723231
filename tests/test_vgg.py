"""The VGG feature extractor: layer names, bundled weights, truncation, freezing, errors, preprocessing."""

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from nst_helpers import VGG, LayerError, ParameterError, WeightsError, layer_names, load_image
from nst_helpers import vgg as vgg_module
from nst_helpers.normalization import SIZE, load_scales, mean_activations

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions run far faster on one thread than on two contended ones; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def image():
    return torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def vgg16(tmp_path_factory):
    """A VGG16 with random weights, loaded from a state-dict file (so with torchvision's preprocessing)."""
    torch.manual_seed(0)
    state = nn.Sequential(*vgg_module._make_layers("vgg16", "max")).state_dict()
    path = tmp_path_factory.mktemp("weights") / "vgg16.pth"
    torch.save(state, path)
    return VGG("vgg16", weights=path, pooling="max", device="cpu")


def conv_layers(model):
    return [m for m in model.features if isinstance(m, nn.Conv2d)]


# --- layer names --------------------------------------------------------------------------------


def test_layer_names_vgg19():
    names = layer_names("vgg19")
    assert names[0] == "conv1_1"
    assert names[1] == "relu1_1"
    assert names[-1] == "pool5"
    assert [n for n in names if n.startswith("conv")][-1] == "conv5_4"
    assert sum(n.startswith("conv") for n in names) == 16
    assert sum(n.startswith("relu") for n in names) == 16
    assert [n for n in names if n.startswith("pool")] == ["pool1", "pool2", "pool3", "pool4", "pool5"]
    assert len(names) == 37
    assert names.index("conv4_2") == 21  # the index of the paper's content layer in torchvision's features


def test_layer_names_vgg16():
    names = layer_names("vgg16")
    assert names[0] == "conv1_1"
    assert names[-1] == "pool5"
    assert [n for n in names if n.startswith("conv")][-1] == "conv5_3"
    assert sum(n.startswith("conv") for n in names) == 13
    assert len(names) == 31
    assert "conv3_4" not in names


def test_layer_names_default_is_vgg19():
    assert layer_names() == layer_names("vgg19")


def test_layer_names_unknown_arch():
    with pytest.raises(ParameterError, match="vgg16, vgg19"):
        layer_names("vgg11")


def test_layer_names_match_modules(vgg):
    assert len(vgg.features) == len(vgg.layer_names) == 37
    for name, module in zip(vgg.layer_names, vgg.features):
        kind = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.AvgPool2d}[name[:4]]
        assert isinstance(module, kind), name


# --- the bundled weights ------------------------------------------------------------------------


def test_caffe_weights_are_trained_not_random(vgg_original):
    convs = conv_layers(vgg_original)
    assert len(convs) == 16
    torch.manual_seed(0)
    for i, conv in enumerate(convs):
        fresh = nn.Conv2d(conv.in_channels, conv.out_channels, 3, padding=1)
        assert conv.weight.shape == fresh.weight.shape
        assert not torch.equal(conv.weight, fresh.weight), i
        assert not torch.equal(conv.bias, fresh.bias), i
        # torch's default init is uniform within +-1/sqrt(fan_in); trained VGG weights reach far beyond it
        bound = fresh.weight.abs().max().item()
        assert conv.weight.abs().max().item() > 2 * bound, i
        assert conv.bias.abs().max().item() > 2 * fresh.bias.abs().max().item(), i
    # the first layer, where the two differ most plainly: trained std ~0.19, fresh std ~0.11
    first = convs[0]
    fresh = nn.Conv2d(3, 64, 3, padding=1)
    assert abs(first.weight.std().item() - fresh.weight.std().item()) > 0.03


def test_caffe_weights_checksum_matches(vgg):
    assert vgg_module.sha256(vgg_module.caffe_weights_path()) == vgg_module.CAFFE_SHA256
    assert vgg.weights == "caffe"
    assert vgg.preprocessing == "caffe"


# --- forward ------------------------------------------------------------------------------------


def test_forward_returns_requested_layers_with_shapes(vgg):
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    feats = vgg(x, ["conv1_1", "pool2", "relu3_2", "conv5_1"])
    assert set(feats) == {"conv1_1", "pool2", "relu3_2", "conv5_1"}
    assert feats["conv1_1"].shape == (1, 64, 64, 64)
    assert feats["pool2"].shape == (1, 128, 16, 16)
    assert feats["relu3_2"].shape == (1, 256, 16, 16)
    assert feats["conv5_1"].shape == (1, 512, 4, 4)
    assert (feats["relu3_2"] >= 0).all()
    assert (feats["conv1_1"] < 0).any()  # a conv output, not a ReLU output


def test_forward_accepts_a_single_name_and_non_square_images(vgg):
    x = torch.rand(2, 3, 24, 40, generator=torch.Generator().manual_seed(2))
    feats = vgg(x, "conv2_1")
    assert list(feats) == ["conv2_1"]
    assert feats["conv2_1"].shape == (2, 128, 12, 20)


def test_features_are_deterministic(vgg, image):
    a = vgg(image, ["conv1_1", "conv3_1"])
    b = vgg(image, ["conv3_1", "conv1_1"])
    for name in a:
        assert torch.equal(a[name], b[name])
    other = VGG("vgg19", weights="caffe", pooling="avg", device="cpu")  # a second load of the weights: the same numbers
    c = other(image, ["conv1_1", "conv3_1"])
    for name in a:
        assert torch.equal(a[name], c[name])


def test_forward_stops_at_deepest_requested_layer(vgg, image):
    calls = {}

    def record(name):
        def hook(module, inputs, output):
            calls[name] = calls.get(name, 0) + 1

        return hook

    index = vgg.layer_names.index
    handles = [
        vgg.features[index("conv2_1")].register_forward_hook(record("conv2_1")),
        vgg.features[index("relu2_1")].register_forward_hook(record("relu2_1")),
        vgg.features[index("conv5_4")].register_forward_hook(record("conv5_4")),
    ]
    try:
        vgg(image, ["conv1_1", "conv2_1"])
    finally:
        for handle in handles:
            handle.remove()
    assert calls == {"conv2_1": 1}  # the deepest layer asked for ran; nothing after it did


def test_parameters_frozen_but_gradients_reach_the_image(vgg, image):
    assert all(not p.requires_grad for p in vgg.parameters())
    assert not vgg.training
    x = image.clone().requires_grad_(True)
    vgg(x, ["relu2_1"])["relu2_1"].pow(2).sum().backward()
    assert x.grad is not None
    assert x.grad.shape == x.shape
    assert x.grad.abs().sum().item() > 0
    assert all(p.grad is None for p in vgg.parameters())


# --- errors -------------------------------------------------------------------------------------


def test_unknown_layer_lists_valid_names(vgg, image):
    with pytest.raises(LayerError) as info:
        vgg(image, ["conv1_1", "conv6_1"])
    message = str(info.value)
    assert "'conv6_1'" in message
    for name in ("conv1_1", "relu3_4", "conv4_2", "pool5"):
        assert name in message
    assert "\n" not in message


def test_unknown_layer_is_also_a_key_error(vgg, image):
    with pytest.raises(KeyError):
        vgg(image, ["conv_1"])


def test_vgg16_from_a_state_dict(vgg16):
    assert len(conv_layers(vgg16)) == 13
    assert vgg16.preprocessing == "torchvision"  # a state-dict file defaults to torchvision's preprocessing
    feats = vgg16(torch.rand(1, 3, 32, 32), ["conv5_3"])
    assert feats["conv5_3"].shape == (1, 512, 2, 2)
    with pytest.raises(LayerError, match="conv5_3") as info:
        vgg16(torch.rand(1, 3, 32, 32), ["conv5_4"])
    assert "vgg16" in str(info.value)
    assert "conv5_4" not in str(info.value).split("valid layers:")[1]


@pytest.mark.parametrize("layers", [[], (), iter([])])
def test_empty_layer_list_raises(vgg, image, layers):
    with pytest.raises(LayerError, match="no layers"):
        vgg(image, layers)


def test_image_too_small_names_the_minimum(vgg):
    # conv5_1 comes after 4 poolings: it needs at least 2^4 = 16 px; pool5 needs 32.
    with pytest.raises(LayerError, match="16 px") as info:
        vgg(torch.rand(1, 3, 8, 8), ["conv5_1"])
    assert "8x8" in str(info.value)
    with pytest.raises(LayerError, match="32 px"):
        vgg(torch.rand(1, 3, 64, 16), ["pool5"])
    assert vgg.min_size(["conv1_1"]) == 1
    assert vgg.min_size(["conv1_1", "conv5_1"]) == 16
    assert vgg(torch.rand(1, 3, 16, 16), ["conv5_1"])["conv5_1"].shape == (1, 512, 1, 1)


def test_image_too_small_names_the_deepest_layer(vgg):
    with pytest.raises(LayerError, match="conv5_1"):
        vgg(torch.rand(1, 3, 8, 8), ["conv5_1", "conv1_1"])


def test_vgg16_has_no_bundled_weights():
    with pytest.raises(WeightsError, match="only vgg19"):
        VGG("vgg16", weights="caffe", device="cpu")


def test_torchvision_weights_offline_suggest_caffe(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no cached download can be found
    with pytest.raises(WeightsError, match="caffe") as info:
        VGG("vgg19", weights="torchvision", device="cpu")
    assert "torchvision" in str(info.value)


def test_missing_weights_file(tmp_path):
    with pytest.raises(WeightsError, match="neither"):
        VGG(weights=tmp_path / "nope.pth", device="cpu")


def test_corrupted_bundled_weights_fail_the_checksum(monkeypatch, tmp_path):
    original = vgg_module.caffe_weights_path()
    broken = tmp_path / original.name
    with open(original, "rb") as src, open(broken, "wb") as dst:
        dst.write(src.read(1 << 20))  # the first MiB only: a truncated download
    monkeypatch.setattr(vgg_module, "caffe_weights_path", lambda: broken)
    with pytest.raises(WeightsError, match="checksum"):
        VGG("vgg19", weights="caffe", device="cpu")


def test_state_dict_path_round_trip(vgg, image, tmp_path):
    path = tmp_path / "vgg19_features.pth"
    torch.save({f"features.{k}": v for k, v in vgg.features.state_dict().items()}, path)
    loaded = VGG("vgg19", weights=path, preprocessing="caffe", device="cpu")
    assert loaded.preprocessing == "caffe"
    assert loaded.weights == str(path)
    a, b = vgg(image, ["conv1_1", "conv3_1"]), loaded(image, ["conv1_1", "conv3_1"])
    for name in a:
        assert torch.equal(a[name], b[name])


def test_state_dict_of_wrong_architecture(vgg, tmp_path):
    path = tmp_path / "vgg19.pth"
    torch.save(vgg.features.state_dict(), path)
    with pytest.raises(WeightsError, match="do not fit vgg16"):
        VGG("vgg16", weights=path, device="cpu")


def test_state_dict_that_is_not_one(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("not a state dict")
    with pytest.raises(WeightsError, match="could not read"):
        VGG(weights=path, device="cpu")


@pytest.mark.parametrize(
    "content,message",
    [(torch.zeros(3), "holds a Tensor, not a state dict"), ({"epoch": 3, "state_dict": {}}, "entry 'epoch' is not a tensor")],
)
def test_weights_file_that_holds_something_else(tmp_path, content, message):
    path = tmp_path / "weights.pth"
    torch.save(content, path)
    with pytest.raises(WeightsError, match=message) as info:
        VGG(weights=path, device="cpu")
    assert "model.state_dict()" in str(info.value)


# --- pooling and preprocessing ------------------------------------------------------------------


def test_max_and_avg_pooling_differ(vgg_original, vgg_max, image):
    assert isinstance(vgg_max.features[vgg_max.layer_names.index("pool1")], nn.MaxPool2d)
    assert isinstance(vgg_original.features[vgg_original.layer_names.index("pool1")], nn.AvgPool2d)
    a, m = vgg_original(image, ["relu1_2", "conv2_1"]), vgg_max(image, ["relu1_2", "conv2_1"])
    assert torch.equal(a["relu1_2"], m["relu1_2"])  # same weights: identical before the first pooling
    assert a["conv2_1"].shape == m["conv2_1"].shape
    assert not torch.allclose(a["conv2_1"], m["conv2_1"])


def test_unknown_pooling():
    with pytest.raises(ParameterError, match="'max' or 'avg'"):
        VGG(pooling="min", device="cpu")


def test_unknown_preprocessing(vgg, tmp_path):
    path = tmp_path / "w.pth"
    torch.save(vgg.features.state_dict(), path)
    with pytest.raises(ParameterError, match="preprocessing"):
        VGG(weights=path, preprocessing="yuv", device="cpu")


def test_caffe_preprocessing_by_hand(vgg):
    # RGB (0.2, 0.4, 0.6) -> BGR (0.6, 0.4, 0.2) -> x255 (153, 102, 51) -> minus BGR mean (103.939, 116.779, 123.68)
    rgb = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1).expand(1, 3, 2, 3)
    out = vgg.preprocess(rgb)
    assert out.shape == (1, 3, 2, 3)
    expected = torch.tensor([153 - 103.939, 102 - 116.779, 51 - 123.68]).view(1, 3, 1, 1).expand(1, 3, 2, 3)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-4)


def test_torchvision_preprocessing_by_hand(vgg16):
    # RGB stays RGB, scale 1: ((0.2, 0.4, 0.6) - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)
    out = vgg16.preprocess(torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1))
    expected = torch.tensor([(0.2 - 0.485) / 0.229, (0.4 - 0.456) / 0.224, (0.6 - 0.406) / 0.225])
    torch.testing.assert_close(out.flatten(), expected)


# --- the paper's normalised network --------------------------------------------------------------


@pytest.fixture(scope="module")
def normalized():
    return VGG("vgg19", weights="caffe", pooling="avg", device="cpu", normalized=True)


def test_normalized_features_are_the_plain_ones_divided_by_each_filters_mean(vgg_original, normalized, image):
    """ReLU and pooling commute with a positive per-channel factor: the normalised network's feature maps are the
    plain ones divided, channel by channel, by the shipped mean activations."""
    scales = load_scales()
    layers = ["conv1_1", "relu2_2", "relu4_2", "relu5_1"]
    plain, scaled = vgg_original(image, layers), normalized(image, layers)
    for layer in layers:
        expected = plain[layer] / scales["conv" + layer[4:]].view(1, -1, 1, 1)  # conv3_1, relu3_1 -> conv3_1's scale
        torch.testing.assert_close(scaled[layer], expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


def test_normalized_scales_are_recomputed_from_the_shipped_images():
    """tools/normalize_vgg.py measures the scales again: the shipped file is what it writes, and on those images every
    filter of the normalised network (that fires at all) has a mean activation of one."""
    spec = importlib.util.spec_from_file_location("normalize_vgg", ROOT / "tools" / "normalize_vgg.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    measured, shipped = script.measure(), load_scales()
    assert list(measured) == list(shipped) == [n for n in layer_names("vgg19") if n.startswith("conv")]
    for name in shipped:
        torch.testing.assert_close(measured[name], shipped[name], rtol=1e-3, atol=1e-4)
    normalized_max = VGG("vgg19", weights="caffe", pooling="max", device="cpu", normalized=True)
    images = [load_image(path, size=SIZE) for path in script.scale_images()]
    for name, m in mean_activations(normalized_max, images).items():
        fires = shipped[name] >= 1e-3
        torch.testing.assert_close(m[fires], torch.ones_like(m[fires]), rtol=1e-3, atol=0)


def test_normalized_needs_the_caffe_vgg19(vgg16):
    with pytest.raises(WeightsError, match="normalized=True needs the paper's network"):
        VGG("vgg16", weights="torchvision", normalized=True)
