"""Fast style transfer: the transformation network, the crops, the training loop, saving and the shipped networks."""

import math
import os
import warnings

import pytest
import torch

from nst_helpers import (
    STYLE_LAYERS,
    Objective,
    ParameterError,
    ResourceError,
    WeightsError,
    images_dir,
    initial_image,
    load_image,
    optimize_image,
)
from nst_helpers import objective as objective_module
from nst_helpers.color import match_color
from nst_helpers.fast import (
    HELD_OUT,
    Crops,
    TrainingSettings,
    TransformNet,
    against_optimization,
    comparison_table,
    fast_objective,
    load_network,
    network_path,
    parameter_count,
    per_image,
    save_network,
    shipped_networks,
    style_image_path,
    stylize,
    train,
    training_photos,
    training_vgg,
)
from nst_helpers.fast import compare as compare_module
from nst_helpers.fast import network as network_module
from nst_helpers.fast.train import LAYERS, check_training_memory
from nst_helpers.folders import shipped_images


@pytest.fixture(scope="module")
def vgg():
    """The network the fast networks train on and are measured with (the normalised VGG19), in place of conftest's."""
    return training_vgg()

TINY = TrainingSettings(size=32, crop=16, batch=1, steps=3, lr=1e-2)


@pytest.fixture(scope="module")
def photos():
    return [load_image(p, size=TINY.size) for p in training_photos()[:2]]


@pytest.fixture(scope="module")
def style():
    return load_image(images_dir() / "style" / "mosaic.png", size=TINY.size)


def test_network_has_the_issues_size_and_keeps_any_image_size():
    net = TransformNet()
    assert parameter_count(net) == 276_675  # 9x9 conv, two stride-2 convs, 3 residual blocks at 64, two upsamplings
    for h, w in [(37, 50), (16, 16), (5, 7), (3, 100), (1, 1), (4, 4)]:  # below 5 px: reflection padding failed
        with torch.no_grad():
            out = net(torch.rand(2, 3, h, w))
        assert out.shape == (2, 3, h, w) and 0 <= out.min() and out.max() <= 1


def test_training_photos_leave_the_held_out_ones_out():
    names = [p.name for p in training_photos()]
    assert len(names) >= 8 and not set(HELD_OUT) & set(names)
    assert "astronaut.png" in names and "sea3.jpg" in names  # the shipped content photos and images/train


def test_every_shipped_network_has_its_style_image_and_an_unknown_style_is_one_line():
    for name in shipped_networks():
        assert style_image_path(name).stem == name and style_image_path(name).parent.name == "style"
    with pytest.raises(ParameterError, match="no shipped style image 'nowhere'; the shipped ones: .*starry_night"):
        style_image_path("nowhere")


def test_crops_are_seeded_squares_of_the_photos(photos):
    a, b = Crops(photos, 16, seed=3).batch(4), Crops(photos, 16, seed=3).batch(4)
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)
    assert not torch.equal(a, Crops(photos, 16, seed=4).batch(4))
    with pytest.raises(ParameterError, match="at least that large"):
        Crops(photos, 64)
    h, w = photos[1].shape[-2:]  # one line however many photos: how many are too small, and the smallest
    with pytest.raises(ParameterError, match=rf"; 1 of 2 are smaller \(the smallest {w}x{h} px\)"):
        Crops([photos[1], torch.zeros(1, 3, 64, 64)], min(h, w) + 1)


def test_crops_without_zoom_are_windows_of_the_photos_as_they_are(photos):
    def is_window(crop):  # the crop's pixels, unresized, somewhere in a photo or its mirror image
        for photo in photos:
            for p in (photo[0], photo[0].flip(-1)):
                windows = p.unfold(1, 16, 1).unfold(2, 16, 1)  # (3, rows, cols, 16, 16)
                if (windows == crop[:, None, None]).flatten(3).all(-1).all(0).any():
                    return True
        return False

    assert all(is_window(c) for c in Crops(photos, 16, seed=5, zoom=False).batch(8))
    assert not all(is_window(c) for c in Crops(photos, 16, seed=5).batch(8))  # zoomed crops are resized


def test_set_content_keeps_the_style_targets_and_the_size(vgg, photos, style):
    objective = Objective(vgg, photos[0][..., :16, :16], style)
    grams = objective.style_targets
    batch = torch.rand(3, 3, 16, 16)
    objective.set_content(batch)
    assert objective.style_targets is grams and objective.content_targets["relu4_2"].shape[0] == 3
    with pytest.raises(ParameterError, match="16, 16"):
        objective.set_content(torch.rand(1, 3, 32, 32))


def test_training_lowers_the_loss_and_keeps_the_best_weights(vgg, photos, style):
    seen = []
    result = train(vgg, style, photos, TrainingSettings(32, 16, 2, 12, 5e-3), ratio=1e-3, check_every=4, progress=False,
                   callback=lambda step, net, losses: seen.append((step, losses["total"])))
    assert result.steps == 12 and result.crops == 24 and result.photos == 2 and result.stopped is None
    assert [s for s, _ in seen] == list(range(1, 13)) and len(result.history["style"]) == 12
    assert [s for s, _ in result.checks] == [0, 4, 8, 12]
    best = min(result.checks, key=lambda c: c[1])
    assert best[1] < result.checks[0][1] and result.best_step == best[0]  # the loss fell, and the best is kept


def test_an_interrupt_keeps_the_best_weights_and_says_so(vgg, photos, style):
    def interrupt(step, net, losses):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted at step 2: kept the best weights so far"):
        result = train(vgg, style, photos, TINY, check_every=1, progress=False, callback=interrupt)
    assert result.steps == 2 and result.stopped.startswith("interrupted at step 2")
    checked = dict(result.checks)
    assert result.best_step in checked and min(checked.values()) == checked[result.best_step]


def test_an_interrupt_measures_the_last_steps_weights(vgg, photos, style):
    def interrupt(step, net, losses):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted at step 2"):
        result = train(vgg, style, photos, TINY, check_every=20, progress=False, callback=interrupt)
    assert [step for step, _ in result.checks] == [0, 2]  # not only the untrained weights


def test_a_training_step_that_cannot_fit_is_refused_before_any_work(vgg, photos, style, monkeypatch):
    settings = TrainingSettings(32, 16, 4, 3, 1e-3)
    net = TransformNet()
    own = net.estimate_bytes(16, 16, 4, training=True)
    assert own > 2 * parameter_count(net) * 4  # the network's layers count, not only its weights
    free = (vgg.estimate_bytes(16 * 4, 16, LAYERS) + own // 2) / 0.8  # enough for VGG's part, not for the network's
    monkeypatch.setattr(objective_module, "free_memory", lambda device: free)
    monkeypatch.setattr(Crops, "__init__", lambda *a: pytest.fail("crops were drawn"))
    with pytest.raises(ResourceError, match=r"training on 4 crops of 16 px a step needs about .* use a batch of [123] "):
        train(vgg, style, photos, settings, net=net, progress=False)
    monkeypatch.setattr(objective_module, "free_memory", lambda device: 2**20)
    with pytest.raises(ResourceError, match="use crops of|free memory"):
        check_training_memory(vgg, net, 256, 1)


def test_a_non_finite_loss_stops_with_the_best_weights(vgg, photos, style):
    with pytest.warns(RuntimeWarning, match="loss became inf at step 1: kept the best weights"):
        result = train(vgg, style, photos, TINY, ratio=1e-300, progress=False)
    assert result.steps == 0 and result.best_step == 0


def test_callback_and_time_limit_stop_the_run(vgg, photos, style):
    result = train(vgg, style, photos, TINY, progress=False, callback=lambda step, net, losses: step == 2)
    assert result.steps == 2 and result.stopped == "stopped at step 2" and result.checks[-1][0] == 2
    result = train(vgg, style, photos, TINY, progress=False, max_seconds=0)
    assert result.steps == 1 and result.stopped == "stopped at step 1"


def test_save_and_load_in_fp16(tmp_path):
    net = TransformNet()
    path = save_network(net, tmp_path / "net.pt", style="mosaic.png", steps=3)
    assert path.stat().st_size < 700_000  # fp16: about 0.55 MB
    loaded = load_network(path)
    assert loaded.info == {"style": "mosaic.png", "steps": 3} and not loaded.training
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        assert torch.allclose(net(x), loaded(x), atol=2e-3)


def test_a_network_is_saved_with_the_mode_the_umask_gives_and_any_failure_is_one_line(tmp_path, monkeypatch):
    previous = os.umask(0o027)
    try:
        path = save_network(TransformNet(), tmp_path / "net.pt")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o640

    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64\nC++ frames")

    monkeypatch.setattr(torch, "save", full)  # torch.save raised this through save_network
    with pytest.raises(WeightsError, match=r"cannot save .*net.pt: \[enforce fail at .*unexpected pos 64$"):
        save_network(TransformNet(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["net.pt"]  # the earlier file, and no temporary file


@pytest.mark.parametrize("path", [None, 3])
def test_a_network_path_of_the_wrong_kind_is_one_line(path):
    with pytest.raises(WeightsError, match="give a file"):  # was a raw TypeError
        load_network(path)
    with pytest.raises(WeightsError, match="give a file name"):
        save_network(TransformNet(), path)


@pytest.mark.parametrize("content,message", [
    (None, "network file not found"),
    (b"not a torch file", "could not read"),
    ({"0.weight": torch.zeros(3)}, "is not a fast style network"),
    ({"format": "nst-fast-network", "channels": [16, 32, 64], "blocks": 3, "state_dict": {}}, "does not hold a complete"),
])
def test_a_bad_network_file_is_one_line(tmp_path, content, message):
    path = tmp_path / "net.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(WeightsError, match=message) as err:
        load_network(path)
    assert "\n" not in str(err.value)


WEIGHTS = {k: v.half() for k, v in TransformNet().state_dict().items()}


@pytest.mark.parametrize("changes,message", [
    ({"blocks": 10**9}, "records channels \\[16, 32, 64\\] and 1000000000 blocks, but its weights are of .* 3 blocks"),
    ({"channels": [16, 32, 10**6]}, "but its weights are of channels \\[16, 32, 64\\]"),
    ({"info": [1, 2]}, "its info is a list"),
    ({"info": {"size": -3}}, "training size -3 is not a whole number"),
    ({"state_dict": {**WEIGHTS, "layers.0.1.bias": torch.full((16,), math.nan).half()}}, "NaN or infinite"),
])
def test_what_a_network_file_says_is_checked_before_a_network_is_built(tmp_path, monkeypatch, changes, message):
    record = {"format": "nst-fast-network", "channels": [16, 32, 64], "blocks": 3, "state_dict": WEIGHTS, "info": {}}
    torch.save({**record, **changes}, tmp_path / "net.pt")

    def build(channels, blocks):
        if (tuple(channels), blocks) != ((16, 32, 64), 3):
            pytest.fail(f"a network of {channels} and {blocks} blocks was built from the file's word")
        return TransformNet(channels, blocks)

    monkeypatch.setattr(network_module, "TransformNet", build)
    with pytest.raises(WeightsError, match=message) as err:
        load_network(tmp_path / "net.pt")
    assert "\n" not in str(err.value) and "train it again" in str(err.value)


def test_a_network_is_shipped_for_every_generated_style_and_four_paintings_each_measured_against_lbfgs():
    styles = {path.stem: path.name for path in shipped_images("style").values()}
    generated = {p.stem for p in (images_dir() / "style").glob("*.png")}
    paintings = {p.stem for p in (images_dir() / "style").glob("*.jpg")}
    networks = shipped_networks()
    assert generated <= set(networks) <= set(styles) and len(paintings & set(networks)) >= 4
    for name, path in networks.items():
        assert network_path(name) == path and path.stat().st_size < 700_000
        net = load_network(path)
        assert net.info["style"] == styles[name] and net.info["steps"] > 0
        assert not set(HELD_OUT) & set(net.info.get("trained_on", []))
        table = net.info["against_lbfgs"]  # tools/train_fast_networks.py's measure, which notebook 6 shows
        assert list(table) == list(HELD_OUT)
        assert all(list(rows) == ["network", "L-BFGS 25", "L-BFGS 50", "L-BFGS 100", "L-BFGS 200"] for rows in table.values())


def test_stylize_returns_an_image_of_the_photos_size():
    net = load_network(network_path("mosaic"))
    photo = load_image(images_dir() / "content" / "chelsea.png", size=40)
    out = stylize(net, photo)
    assert out.shape == photo.shape and out.device.type == "cpu" and 0 <= out.min() and out.max() <= 1


def test_stylize_takes_what_load_image_and_objective_take(vgg):
    net = load_network(network_path("mosaic"))
    photo = torch.rand(3, 20, 30)
    assert torch.equal(stylize(net, photo), stylize(net, photo[None])[0])  # (3, H, W): converted, shape kept
    for image, message in [
        (torch.rand(1, 4, 20, 30), "must be RGB, \\(3, H, W\\) or \\(B, 3, H, W\\), got \\(1, 4, 20, 30\\)"),
        (torch.full((1, 3, 20, 30), math.nan), "NaN or infinite"),
        (torch.zeros(1, 3, 20, 30, dtype=torch.uint8), "float tensor in \\[0, 1\\], got torch.uint8; use load_image"),
    ]:
        with pytest.raises(ParameterError, match=message) as err:
            stylize(net, image)
        assert "\n" not in str(err.value)
        with pytest.raises(ParameterError, match=message):  # the objective says the same
            Objective(vgg, content=image, content_layers=["relu1_1"])


def test_a_pass_that_cannot_fit_is_refused(monkeypatch):
    net = load_network(network_path("mosaic"))
    monkeypatch.setattr(objective_module, "free_memory", lambda device: 10 * 2**20)
    with pytest.raises(ResourceError, match=r"a 256x256 px pass through the network needs about .* size of \d+ px"):
        stylize(net, torch.rand(1, 3, 256, 256))
    assert stylize(net, torch.rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_no_warning_from_a_clean_run(vgg, photos, style):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(vgg, style, photos, TINY, progress=False)


def _gains(vgg, net, size, style_name="mosaic"):
    """Per held-out photo: the photo's style loss over the network's, the painting's content loss over the network's."""
    style = load_image(images_dir() / "style" / f"{style_name}.png", size=size)
    gains = []
    for name in HELD_OUT:
        photo = load_image(images_dir() / "content" / name, size=size)
        objective = fast_objective(vgg, photo, style)
        with torch.no_grad():
            out, own, painting = (objective(x) for x in (net(photo), photo, initial_image(objective, "style")))
        gains.append(((own["style"] / out["style"]).item(), (painting["content"] / out["content"]).item()))
    return gains


@pytest.mark.parametrize("size", [64, 256])  # quick's and lab's photos
def test_the_notebooks_style_claim_fails_for_an_untrained_network(vgg, size):
    # notebook 6 claims above 3 for the trained network (worst over make variants at quick: 4.1); an untrained one
    # gives 0.07-0.81 at 64 px and 0.96-2.6 at 256 px over seeds 0-4: each would fail it
    for seed in range(5):
        torch.manual_seed(seed)
        for style_gain, _ in _gains(vgg, TransformNet().eval(), size):
            assert style_gain < 3, (seed, style_gain)


def test_the_shipped_mosaic_network_passes_the_notebooks_claims(vgg):
    for style_gain, content_gain in _gains(vgg, load_network(network_path("mosaic")), 256):  # its training size
        assert style_gain > 3 and content_gain > 1.1


def test_the_comparison_with_the_optimisation_measures_both_with_the_same_objective(vgg, style):
    photo, net = load_image(images_dir() / "content" / HELD_OUT[0], size=32), TransformNet().eval()
    rows = against_optimization(vgg, net, photo, style, ratio=2e-3, steps=(1, 3))
    objective = fast_objective(vgg, photo, style, 2e-3, precision="fp32")
    with torch.no_grad():
        terms = objective(net(photo))
    run = optimize_image(objective, init="noise", steps=5, progress=False)
    assert list(rows) == ["network", "L-BFGS 1", "L-BFGS 3"]
    assert rows["network"]["style"] == pytest.approx(terms["style"].item(), rel=1e-5)
    assert rows["network"]["total"] == pytest.approx(sum(t.item() for t in terms.values()), rel=1e-5)
    assert rows["L-BFGS 3"]["total"] == pytest.approx(run.history["total"][3], rel=1e-4)  # after 3 steps, not 4
    assert rows["L-BFGS 3"]["total"] != pytest.approx(run.history["total"][4], rel=1e-4)
    assert rows["L-BFGS 1"]["total"] == pytest.approx(run.history["total"][1], rel=1e-4)
    rows["L-BFGS 50"] = rows["L-BFGS 3"]  # the table divides by the 50-step optimisation's loss
    table = comparison_table({"cat": rows}).splitlines()
    assert table[0] == "| | network | L-BFGS 1 | L-BFGS 3 | L-BFGS 50 | network / L-BFGS 50 |" and len(table) == 3
    ratio = rows["network"]["total"] / rows["L-BFGS 3"]["total"]
    assert table[2].startswith(f"| cat | {rows['network']['total']:.3g} | ") and table[2].endswith(f" {ratio:.2f}x |")


def test_the_optimisation_rows_are_cached_and_read_back(vgg, style, tmp_path, monkeypatch):
    photo, net = load_image(images_dir() / "content" / HELD_OUT[0], size=32), TransformNet().eval()
    cache = tmp_path / "rows.json"
    rows = against_optimization(vgg, net, photo, style, steps=(1, 2), cache=cache)
    monkeypatch.setattr(compare_module, "optimize_image", lambda *a, **k: pytest.fail("ran L-BFGS again"))
    assert against_optimization(vgg, net, photo, style, steps=(1, 2), cache=cache) == rows


def test_a_batchs_terms_per_image_are_one_images_terms(vgg, photos, style):
    # the content term (a mean) is already per image; the style term adds up each image's Gram losses
    crop = photos[0][..., :32, :32]
    one = fast_objective(vgg, crop, style)
    two = fast_objective(vgg, torch.cat([crop, crop]), style)
    with torch.no_grad():
        single, batch = one(crop * 0.9), per_image(two(torch.cat([crop, crop]) * 0.9), 2)
    for term in ("content", "style"):
        assert batch[term].item() == pytest.approx(single[term].item(), rel=1e-4)


def test_the_fast_objective_is_the_papers_style_with_johnsons_content_layer(vgg, style):
    objective = fast_objective(vgg, style, style)
    assert objective.content_layers == ["relu2_2"] and objective.style_layers == list(STYLE_LAYERS)
    assert objective.normalization == "paper-mean" and objective.style_weight == pytest.approx(1 / 5e-3)


@pytest.mark.parametrize("name", ["starry_night", "night_cafe", "wheat_field", "grande_jatte"])
def test_each_painting_network_beats_the_photo_a_tint_and_a_copy_of_the_painting(vgg, name):
    # On the measure the networks are trained and chosen by (docs/design.md, "The fast networks"): a network that only
    # recolours the photo scores as the tint does, one that paints the painting over the photo as its copy does. At
    # the measure's 256 px, the size the networks paint at (at 128 px their strokes are twice as large against the
    # photo, and the Night Café's loses to the tint on the cup). Margins there: 1.28x (Grande Jatte, cup) to 2.5x.
    net, painting = load_network(network_path(name)), load_image(style_image_path(name), size=256)
    for photo_name in HELD_OUT:
        photo = load_image(images_dir() / "content" / photo_name, size=256)
        objective = fast_objective(vgg, photo, painting, precision="fp32")
        copy = torch.nn.functional.interpolate(painting, size=photo.shape[-2:], mode="bilinear", antialias=True)
        with torch.no_grad():
            score = {k: sum(objective(x).values()).item()
                     for k, x in {"network": net(photo), "photo": photo, "tint": match_color(photo, painting),
                                  "copy": copy}.items()}
        assert score["network"] < min(score["photo"], score["tint"], score["copy"]), (photo_name, score)


def test_training_tool_says_in_one_line_which_start_or_size_is_wrong(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "train_fast_networks.py"
    spec = importlib.util.spec_from_file_location("train_fast_networks", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for argv, message in [(["grande_jatte", "--from-shipped", "nope"], "no shipped network 'nope'; choose from"),
                          (["grande_jatte", "--style-size", "0"], "--style-size and --channels must be positive")]:
        with pytest.raises(SystemExit):
            tool.main(argv)
        assert message in capsys.readouterr().err
