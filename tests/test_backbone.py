"""Backbone: the four architectures offline (random weights, through state-dict files and a fake torch.hub cache),
their layer tables, the truncated forward, preprocessing, a short transfer each, and the one-line errors."""

import threading

import pytest
import torch

from nst_helpers import VGG, Backbone, LayerError, Objective, WeightsError, featviz, initial_image, optimize_image
from nst_helpers.cli import main
from nst_helpers.weights import PREPROCESSING, hub_file

from .conftest import CONTENT, STYLE

ARCHS = ["vgg16", "vgg19", "resnet50", "googlenet"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions run far faster on one thread than on two contended ones; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def nets():
    """One randomly initialised network per architecture (seed 0), with max pooling, as trained."""
    return {arch: Backbone(arch, weights="random", pooling="max", device="cpu") for arch in ARCHS}


@pytest.fixture(scope="module")
def image():
    return torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def run_count(net, layers, image):
    """How many calls of the network's leaf modules run when ``layers`` are asked for, and whether its last module
    (VGG's pool5, the classifier of the others) ran."""
    calls = []
    leaves = [m for m in net.network.modules() if not list(m.children())]
    handles = [m.register_forward_hook(lambda m, *_: calls.append(m)) for m in leaves]
    try:
        with torch.no_grad():
            net(image, layers)
    finally:
        for handle in handles:
            handle.remove()
    return len(calls), leaves[-1] in calls


# --- layer tables -------------------------------------------------------------------------------


def test_layer_names(nets):
    assert nets["vgg19"].layer_names[:2] == ["conv1_1", "relu1_1"] and nets["vgg19"].layer_names[-1] == "pool5"
    assert len(nets["vgg16"].layer_names) == 31
    resnet = nets["resnet50"].layer_names
    assert resnet[:2] == ["conv1_relu", "pool1"]
    assert [n for n in resnet if n.startswith("res")] == (
        ["res2a", "res2b", "res2c"] + [f"res3{c}" for c in "abcd"] + [f"res4{c}" for c in "abcdef"]
        + ["res5a", "res5b", "res5c"])
    googlenet = nets["googlenet"].layer_names
    assert googlenet[:5] == ["conv1", "pool1", "conv2_reduce", "conv2", "pool2"]
    assert [n for n in googlenet if n.startswith("inception")] == [
        "inception_3a", "inception_3b", "inception_4a", "inception_4b", "inception_4c", "inception_4d",
        "inception_4e", "inception_5a", "inception_5b"]
    for net in nets.values():
        assert set(net.content_layers) | set(net.style_layers) <= set(net.layer_names)


def test_layer_tables_channels_sizes_and_receptive_fields(nets):
    for arch in ("vgg16", "vgg19"):  # from the graph, the same as notebook 1's table, worked out by hand
        assert nets[arch].layer_table(224) == featviz.layer_table(arch, 224)
    resnet = {row.name: row for row in nets["resnet50"].layer_table(224)}
    assert (resnet["conv1_relu"].channels, resnet["conv1_relu"].size, resnet["conv1_relu"].receptive_field) == (64, 112, 7)
    assert (resnet["res2c"].channels, resnet["res2c"].stride) == (256, 4)
    assert (resnet["res5c"].channels, resnet["res5c"].size, resnet["res5c"].stride) == (2048, 7, 32)
    assert resnet["res5c"].receptive_field == 427  # ResNet-50's well-known theoretical receptive field
    googlenet = {row.name: row for row in nets["googlenet"].layer_table(224)}
    assert (googlenet["inception_3a"].channels, googlenet["inception_3a"].size) == (256, 28)
    assert (googlenet["inception_5b"].channels, googlenet["inception_5b"].stride) == (1024, 32)
    fields = [row.receptive_field for row in googlenet.values()]
    assert fields == sorted(fields)


def test_unknown_layer_lists_this_networks_layers(nets, image):
    with pytest.raises(LayerError, match="unknown layer 'relu4_2' for resnet50") as info:
        nets["resnet50"](image, ["relu4_2"])
    assert "res4f" in str(info.value) and "\n" not in str(info.value)


# --- the truncated forward ----------------------------------------------------------------------


@pytest.mark.parametrize("arch,shallow,deep", [("vgg19", "relu2_1", "relu5_1"), ("resnet50", "res2a", "res5c"),
                                               ("googlenet", "conv2", "inception_5b")])
def test_a_deeper_layer_runs_more_of_the_network(nets, image, arch, shallow, deep):
    net = nets[arch]
    (few, _), (many, last_ran) = run_count(net, [shallow], image), run_count(net, [deep], image)
    assert 0 < few < many
    assert not last_ran
    assert run_count(net, [shallow, deep], image) == (many, False)  # the shallow one comes on the way


def test_features_shapes_and_batch(nets):
    x = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    feats = nets["resnet50"](x, ["res3d", "conv1_relu"])
    assert list(feats) == ["res3d", "conv1_relu"]  # in the order asked for
    assert feats["res3d"].shape == (2, 512, 8, 12) and feats["conv1_relu"].shape == (2, 64, 32, 48)
    assert (feats["res3d"] >= 0).all()  # a block's output is after its ReLU


def test_image_too_small_names_the_minimum(nets):
    net = nets["googlenet"]
    assert net.min_size(["conv1"]) == 2 and net.min_size(["inception_5a", "conv1"]) == 32
    with pytest.raises(LayerError, match="inception_5a.*at least 32 px"):
        net(torch.rand(1, 3, 16, 40), ["conv1", "inception_5a"])


def test_memory_estimate_grows_with_depth_and_size(nets):
    net = nets["resnet50"]
    assert net.estimate_bytes(64, 64, ["res2c"]) < net.estimate_bytes(64, 64, ["res5c"])
    weights = 4 * sum(p.numel() for p in net.parameters())
    activations = [net.estimate_bytes(side, side, ["res5c"]) - weights for side in (64, 128)]
    assert activations[1] == pytest.approx(4 * activations[0], rel=0.01)  # the pixel count


# --- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_random_weights_through_a_state_dict_file(nets, image, arch, tmp_path):
    path = tmp_path / f"{arch}.pth"
    torch.save(nets[arch].network.state_dict(), path)
    loaded = Backbone(arch, weights=path, pooling="max", device="cpu")
    assert loaded.weights == str(path)
    assert loaded.preprocessing == ("inception" if arch == "googlenet" else "torchvision")  # as torchvision's weights
    layers = list(loaded.style_layers)
    same = Backbone(arch, weights=path, pooling="max", device="cpu", preprocessing="torchvision")  # as random ones
    a, b = nets[arch](image, layers), same(image, layers)
    assert all(torch.equal(a[k], b[k]) for k in layers)


def test_random_weights_are_seeded_kaiming(nets):
    again = Backbone("resnet50", weights="random", pooling="max", device="cpu")
    other = Backbone("resnet50", weights="random", pooling="max", seed=1, device="cpu")
    conv = nets["resnet50"].network.layer3[0].conv2.weight  # 256 filters of 256 x 3 x 3
    assert torch.equal(conv, again.network.layer3[0].conv2.weight)
    assert not torch.equal(conv, other.network.layer3[0].conv2.weight)
    assert conv.std().item() == pytest.approx((2 / (256 * 9)) ** 0.5, rel=0.02)  # Kaiming: sqrt(2 / fan_in)
    assert nets["vgg19"].preprocessing == "torchvision" and nets["vgg19"].weights == "random"


def test_vgg_is_the_vgg_case_of_backbone(nets, image):
    vgg = VGG("vgg19", weights="random", pooling="max", device="cpu")
    assert isinstance(vgg, Backbone) and vgg.features is vgg.network
    a, b = vgg(image, ["conv3_1"]), nets["vgg19"](image, ["conv3_1"])
    assert torch.equal(a["conv3_1"], b["conv3_1"])


def test_weights_of_another_network_do_not_fit(nets, tmp_path):
    path = tmp_path / "googlenet.pth"
    torch.save(nets["googlenet"].network.state_dict(), path)
    with pytest.raises(WeightsError, match="do not fit resnet50"):
        Backbone("resnet50", weights=path, device="cpu")
    with pytest.raises(WeightsError, match="neither 'torchvision', 'random'"):
        Backbone("googlenet", weights="caffe", device="cpu")


@pytest.mark.parametrize("arch", ["resnet50", "googlenet", "vgg16"])
def test_torchvision_weights_not_cached_is_one_line_naming_the_file(monkeypatch, tmp_path, arch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty torch.hub cache
    with pytest.raises(WeightsError) as info:
        Backbone(arch, weights="torchvision", device="cpu")
    message = str(info.value)
    assert str(hub_file(arch)) in message and str(tmp_path) in message
    assert f"nst weights fetch {arch}" in message and "'random'" in message and "\n" not in message


def test_torchvision_weights_from_the_cache(monkeypatch, tmp_path, nets, image):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = hub_file("googlenet")
    path.parent.mkdir(parents=True)
    torch.save(nets["googlenet"].network.state_dict(), path)  # stands in for the download
    net = Backbone("googlenet", weights="torchvision", pooling="max", device="cpu")
    assert net.preprocessing == "inception"  # not the random weights' own
    torch.testing.assert_close(net.network.conv1.conv.weight, nets["googlenet"].network.conv1.conv.weight)


# --- preprocessing ------------------------------------------------------------------------------


def test_torchvision_preprocessing_by_hand(nets):
    rgb = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    expected = torch.tensor([(0.2 - 0.485) / 0.229, (0.4 - 0.456) / 0.224, (0.6 - 0.406) / 0.225])
    torch.testing.assert_close(nets["resnet50"].preprocess(rgb).flatten(), expected)


def test_googlenet_preprocessing_is_torchvisions_transform_input():
    from torchvision import models

    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    imagenet = PREPROCESSING["torchvision"]
    normalized = (x - torch.tensor(imagenet["mean"]).view(1, 3, 1, 1)) / torch.tensor(imagenet["std"]).view(1, 3, 1, 1)
    theirs = models.googlenet(aux_logits=False, transform_input=True, init_weights=False)._transform_input(normalized)
    inception = PREPROCESSING["inception"]
    ours = (x - torch.tensor(inception["mean"]).view(1, 3, 1, 1)) / torch.tensor(inception["std"]).view(1, 3, 1, 1)
    torch.testing.assert_close(ours, theirs)


def test_softmax_features_sum_to_one(image):
    net = Backbone("googlenet", weights="random", device="cpu", softmax=1.0)
    feats = net(image, ["inception_3a", "conv2"])
    for f in feats.values():
        # softmax's fp32 normalising sum of n terms may be off by up to n eps (AMD Zen 3, 49152 terms: 3e-5); a softmax
        # over the wrong dimensions sums to the channel or pixel count instead
        tolerance = f[0].numel() * torch.finfo(torch.float32).eps
        torch.testing.assert_close(f.sum(dim=(1, 2, 3)), torch.ones(1), rtol=0, atol=tolerance)
        assert (f > 0).all()
    assert "softmax=1.0" in net.extra_repr()


# --- a transfer with each, and the command line -------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_two_step_transfer_at_64_px(nets, content_image, style_image, arch):
    net = nets[arch]
    objective = Objective(net, content_image, style_image, net.content_layers, net.style_layers)
    result = optimize_image(objective, init="content", steps=2, progress=False)
    assert result.stopped is None and result.steps == 2
    assert result.image.shape == content_image.shape
    assert torch.isfinite(torch.tensor(result.history["total"])).all()
    assert (result.image - content_image).abs().max() > 1e-4  # the gradient reached the pixels


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_transfer_with_a_random_resnet(capsys, tmp_path):
    code, out, err = run(capsys, "transfer", CONTENT, STYLE, "--arch", "resnet50", "--weights", "random",
                         "--size", "64", "--steps", "2", "-o", tmp_path / "out.png")
    assert code == 0, err
    assert "wrote" in out and (tmp_path / "out.png").stat().st_size > 0


def test_cli_resnet_without_cached_weights_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    code, _, err = run(capsys, "transfer", CONTENT, STYLE, "--arch", "resnet50", "-o", tmp_path / "out.png")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nst weights fetch resnet50" in err


def test_cli_weights_fetch_offline_is_one_line_per_network(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(arch):
        raise OSError("no network")

    monkeypatch.setattr("nst_helpers.cli.command.fetch", offline)
    code, _, err = run(capsys, "weights", "fetch", "vgg16", "resnet50", "googlenet")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 3
    for line, arch in zip(lines, ["vgg16", "resnet50", "googlenet"]):
        assert arch in line and str(hub_file(arch)) in line and "OSError" in line


def test_cli_doctor_lists_what_runs_offline(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    code, out, _ = run(capsys, "doctor", "--device", "cpu")
    assert code == 0
    for arch in ARCHS:
        assert f"network {arch}: weights 'random', 'torchvision' not cached (`nst weights fetch {arch}`" in out


@pytest.mark.parametrize("arch", ARCHS)
def test_the_papers_start_for_every_network(nets, content_image, arch):
    """init='noise' is the weights' mean colour (the input that preprocesses to zero) plus faint noise, on any network."""
    net = nets[arch]
    torch.testing.assert_close(net.preprocess(net.mean_color()), torch.zeros(1, 3, 1, 1), atol=1e-6, rtol=0)
    start = initial_image(Objective(net, content=content_image, content_layers=net.content_layers), "noise", seed=0)
    torch.testing.assert_close(start.mean((0, 2, 3)), net.mean_color().flatten(), atol=5e-4, rtol=0)
    assert start.std((0, 2, 3)).max() < 1.1 / 255


def test_tracing_while_another_thread_runs_the_network(image):
    """torch.fx's tracing patches nn.Module.__call__ process-wide: without FX_LOCK, a forward pass in another thread
    (an explorer's) during a trace fails with "module is not installed as a submodule"."""
    net = Backbone("resnet50", weights="random", device="cpu")
    errors, done = [], threading.Event()

    def forward_until_done() -> None:
        try:
            while not done.is_set():
                with torch.no_grad():
                    net(image, ["res2a"])
        except Exception as err:  # what the main thread checks
            errors.append(err)

    worker = threading.Thread(target=forward_until_done)
    worker.start()
    try:
        for layers in (["res3a"], ["res3b"], ["res4a"], ["res4b"], ["res5a"]):  # each a new trace
            net._extractor(layers)
    finally:
        done.set()
        worker.join()
    assert not errors, errors[0]
