"""The explorers, driven without a browser: set controls, run at tiny sizes, check what the learner would see."""

import tempfile
import time
from datetime import datetime

import pytest

from nst_helpers import default_style_weight, images_dir
from nst_helpers.explore import base as widgets
from nst_helpers.explore import content_explorer, feature_explorer, style_explorer, transfer_explorer

TIMEOUT = 120  # seconds for any one run here; the runs themselves take a second or two


@pytest.fixture(autouse=True)
def shared_network(vgg):
    """Every explorer uses the session's VGG19 (average pooling): loaded once for the whole test run."""
    widgets._NETWORKS.setdefault("avg", vgg)


def run_to_end(explorer):
    before = explorer.preview.value, explorer.loss_plot.value
    assert explorer.run(), explorer.message_text
    assert explorer.wait(TIMEOUT), "the run did not finish"
    assert explorer.error is None, explorer.error
    assert explorer.preview.value != before[0], "the preview did not change"
    assert explorer.loss_plot.value != before[1], "the loss plot did not change"
    assert bytes(explorer.preview.value).startswith(b"\x89PNG") and bytes(explorer.loss_plot.value).startswith(b"\x89PNG")
    return explorer


def wait_for(condition, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def upload(picker, name, data):
    picker.upload.value = ({"name": name, "type": "", "size": len(data), "content": memoryview(data), "last_modified": datetime.now()},)


def test_explorer_builds_without_running(quick):
    explorer = transfer_explorer()
    assert not explorer.running and explorer.runs == [] and explorer.image is None
    assert explorer.size.value == quick.size and explorer.steps.value == quick.steps  # defaults from the profile
    assert "press Run" in explorer.status.value
    bundle = explorer._repr_mimebundle_()  # a cell ending in an explorer displays it
    assert "application/vnd.jupyter.widget-view+json" in bundle and "run the notebook in Jupyter" in bundle["text/plain"]


def test_transfer_explorer_runs_with_its_controls_set(tmp_path):
    explorer = transfer_explorer()
    explorer.content.dropdown.value = "coffee.png"
    explorer.style.dropdown.value = "mosaic.png"
    explorer.ratio.value = 1e-2
    explorer.content_layer.value = "relu3_2"
    explorer.style_checks["relu5_1"].value = False
    explorer.style_weights["relu1_1"].value = 0.5
    explorer.init.value, explorer.optimizer.value, explorer.pooling.value = "noise", "adam", "avg"
    explorer.size.value, explorer.steps.value = 32, 4
    run_to_end(explorer)
    assert explorer.step == 4 and explorer.previews >= 2  # step 1, then the last step
    assert set(explorer.history) >= {"content", "style", "total"} and len(explorer.history["total"]) == 4
    assert explorer.style_layer_weights() == pytest.approx({"relu1_1": 0.5 / 3.5, "relu2_1": 1 / 3.5, "relu3_1": 1 / 3.5, "relu4_1": 1 / 3.5})
    assert max(explorer.image.shape[-2:]) == 32  # the size slider sets the long side
    assert "Done" in explorer.message_text
    # a second run with other settings: both kept, newest first, with their settings
    explorer.optimizer.value, explorer.init.value = "lbfgs", "content"
    run_to_end(explorer)
    assert len(explorer.runs) == 2 and len(explorer.compare.children) == 2
    assert "lbfgs" in explorer.runs[0].caption and "adam" in explorer.runs[1].caption and "relu3_2" in explorer.runs[1].caption
    # only the ratio changes: the objective (its targets) is reused, with the new style weight
    objective = explorer.objective(explorer._settings())
    explorer.ratio.value = 1e-4
    again = explorer.objective(explorer._settings())
    assert again is objective and again.style_weight == pytest.approx(default_style_weight(*again.shape[-2:]) * 10)
    explorer.size.value = 48
    assert explorer.objective(explorer._settings()) is not objective
    # save
    explorer.output_dir = tmp_path
    path = explorer.save()
    assert path is not None and path.exists() and path.parent == tmp_path and "Saved" in explorer.message_text
    assert path.name.startswith("transfer_coffee_mosaic_") and path.suffix == ".png"


def test_stop_ends_the_run_within_one_step():
    explorer = transfer_explorer()
    explorer.size.value, explorer.steps.value = 32, 1000
    assert explorer.run()
    wait_for(lambda: explorer.step >= 2)
    explorer.stop()
    asked_at = explorer.step
    assert explorer.wait(TIMEOUT)
    assert explorer.step <= asked_at + 1, f"stop asked at step {asked_at}, run went on to {explorer.step}"
    assert explorer.runs[0].stopped and "Stopped at step" in explorer.message_text
    assert explorer.image is not None and not explorer.save_button.disabled and explorer.stop_button.disabled


def test_a_second_run_while_one_is_going_is_refused_politely():
    explorer = transfer_explorer()
    explorer.size.value, explorer.steps.value = 32, 1000
    assert explorer.run()
    try:
        assert explorer.run() is False
        assert "already going" in explorer.message_text
        wait_for(lambda: explorer.step >= 1)
    finally:
        explorer.stop()
        assert explorer.wait(TIMEOUT)
    assert len(explorer.runs) == 1


def test_stop_before_the_first_step_keeps_nothing():
    explorer = transfer_explorer()
    explorer.size.value, explorer.steps.value = 32, 1000
    assert explorer.run()
    explorer.stop()  # while the images load
    assert explorer.wait(TIMEOUT)
    assert explorer.step <= 1 and explorer.error is None
    if explorer.step == 0:
        assert explorer.runs == [] and explorer.message_text == "Stopped before the first step."


def test_a_bad_url_shows_one_line_and_no_traceback():
    explorer = transfer_explorer()
    explorer.size.value, explorer.steps.value = 32, 2
    explorer.style.url.value = "http://127.0.0.1:9/missing.png"  # nothing listens on port 9: refused at once
    assert explorer.style.source.kind == "url"
    assert explorer.run()
    assert explorer.wait(TIMEOUT)
    assert explorer.error is None and explorer.runs == []
    assert explorer.message_text.startswith("could not download http://127.0.0.1:9/missing.png")
    assert "\n" not in explorer.message_text and "Traceback" not in explorer.message.value
    # not a URL at all: said at once, and Run refuses
    explorer.style.url.value = "www.example.org/cat.png"
    assert "is not a URL" in explorer.message_text
    assert explorer.run() is False and "is not a URL" in explorer.message_text
    # clearing the URL goes back to the shipped image
    explorer.style.url.value = ""
    assert explorer.style.source.kind == "shipped"


def test_a_bad_file_shows_one_line_and_no_traceback():
    explorer = transfer_explorer()
    explorer.size.value, explorer.steps.value = 32, 2
    upload(explorer.content, "notes.png", b"these are not pixels")
    assert explorer.message_text.startswith("notes.png is not an image file Pillow can read")  # said on upload
    explorer.say("")
    assert explorer.run() and explorer.wait(TIMEOUT)
    assert explorer.error is None and explorer.runs == []
    assert explorer.message_text.startswith("notes.png is not an image file Pillow can read")


def test_an_uploaded_image_is_used(tmp_path):
    explorer = transfer_explorer()
    explorer.size.value, explorer.steps.value = 32, 2
    data = (images_dir() / "content" / "rocket.png").read_bytes()
    upload(explorer.content, "my_rocket.png", data)
    assert explorer.content.source.kind == "upload" and explorer.message_text == ""
    assert explorer.content.dropdown.value is None  # blank: the upload is in use
    run_to_end(explorer)
    assert "my_rocket.png" in explorer.runs[0].caption
    explorer.content.dropdown.value = "astronaut.png"  # back to a shipped image
    assert explorer.content.source.name == "astronaut.png"


def test_no_style_layer_ticked_is_refused_with_a_message():
    explorer = transfer_explorer()
    for box in explorer.style_checks.values():
        box.value = False
    assert explorer.run() is False and "tick at least one style layer" in explorer.message_text


def test_save_before_any_run_says_so():
    explorer = transfer_explorer()
    assert explorer.save() is None and "press Run first" in explorer.message_text


def test_content_explorer():
    explorer = content_explorer()
    explorer.layer.value = "relu2_2"
    explorer.size.value, explorer.steps.value = 32, 3
    run_to_end(explorer)
    assert list(explorer.history["content"]) and explorer.history["content"][-1] < explorer.history["content"][0]
    assert "relu2_2" in explorer.runs[0].caption


def test_style_explorer():
    explorer = style_explorer()
    for name, box in explorer.layers.items():
        box.value = name in ("relu1_1", "relu2_1")
    explorer.size.value, explorer.steps.value = 32, 3
    run_to_end(explorer)
    assert "relu1_1 + relu2_1" in explorer.runs[0].caption
    for box in explorer.layers.values():
        box.value = False
    assert explorer.run() is False and "tick at least one" in explorer.message_text


def test_feature_explorer_activation_map_and_maximising_image():
    explorer = feature_explorer()
    explorer.update_activation().join(TIMEOUT)
    first = explorer.activation.value
    explorer.layer.value = "conv2_1"
    assert explorer.channel.max == 127
    explorer.channel.value = 5
    explorer.update_activation().join(TIMEOUT)
    assert explorer.activation.value != first and "conv2_1 #5" in explorer.activation_caption.value
    explorer.steps.value = 3
    run_to_end(explorer)
    assert len(explorer.history["activation"]) == 3
    explorer.picker.url.value = "http://127.0.0.1:9/missing.png"  # the download fails in the background, said in one line
    explorer.update_activation().join(TIMEOUT)
    assert explorer.message_text.startswith("could not download")


def test_two_explorers_run_at_once(monkeypatch):
    monkeypatch.setattr(widgets, "PREVIEW_SECONDS", 0.0)  # draw the loss plot at every step, in both threads
    explorers = [content_explorer(), transfer_explorer()]
    for explorer in explorers:
        explorer.size.value, explorer.steps.value = 32, 6
        assert explorer.run()
    for explorer in explorers:
        assert explorer.wait(TIMEOUT) and explorer.error is None, explorer.message_text
        assert explorer.previews == 7  # every step, and the final image


# --- the fast mode: a shipped network, the preview following the controls ---------------------------------------------


def test_fast_explorer_follows_the_photo_network_and_size(tmp_path, monkeypatch):
    from nst_helpers.explore import fast_explorer

    explorer = fast_explorer()
    assert {"starry_night", "night_cafe", "wheat_field", "grande_jatte", "mosaic"} <= set(explorer.network.options)
    assert explorer.wait(TIMEOUT) and explorer.updates == 1 and explorer.message_text == ""
    assert bytes(explorer.preview.value).startswith(b"\x89PNG") and " ms" in explorer.status.value
    assert explorer.picker.source.name == "chelsea.png" and "starry_night" in explorer.status.value
    first = explorer.preview.value
    explorer.size.value = 48  # each control updates the preview, no Run needed
    assert explorer.wait(TIMEOUT) and explorer.updates == 2 and max(explorer.image.shape[-2:]) == 48
    assert explorer.preview.value != first
    explorer.network.value = "night_cafe"
    assert explorer.wait(TIMEOUT) and explorer.updates == 3 and "night_cafe" in explorer.status.value
    explorer.picker.dropdown.value = "coffee.png"
    assert explorer.wait(TIMEOUT) and explorer.updates == 4
    explorer.output_dir = tmp_path
    path = explorer.save()
    assert path.parent == tmp_path and path.name.startswith("fast_coffee_night_cafe_") and "Saved" in explorer.message_text
    (tmp_path / "file").write_text("a file, where a folder cannot be made")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    explorer.output_dir = tmp_path / "file" / "outputs"
    elsewhere = explorer.save()  # was None: "could not save"
    assert elsewhere.parent == tmp_path / "tmp" and elsewhere.name.startswith("fast_coffee_night_cafe_")
    assert explorer.message_text.endswith(f"; saved {elsewhere} instead") and "cannot save" in explorer.message_text


def test_fast_explorer_shows_a_bad_upload_in_one_line():
    from nst_helpers.explore import fast_explorer

    explorer = fast_explorer()
    assert explorer.wait(TIMEOUT)
    upload(explorer.picker, "notes.png", b"these are not pixels")
    assert explorer.wait(TIMEOUT)
    assert explorer.message_text.startswith("notes.png is not an image file Pillow can read")
    assert "\n" not in explorer.message_text and explorer.updates == 1  # the last good picture stays
