"""Bad inputs get one clear error; unusual but valid inputs work; runs that cannot fit stop early."""

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from nst_helpers import (
    STYLE_LAYERS,
    VGG,
    ImageError,
    LayerError,
    Objective,
    ResourceError,
    check_memory,
    content_loss,
    gram_matrix,
    load_image,
    optimize_image,
    style_layer_loss,
)
from nst_helpers import images as images_module
from nst_helpers import objective as objective_module


def png_bytes(size=(20, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.path == "/ok.png":
            self._send(200, "image/png", png_bytes())
        elif self.path == "/page.html":
            self._send(200, "text/html", b"<html>not an image</html>")
        elif self.path == "/slow.png":
            self.send_response(200)
            self.end_headers()
            for _ in range(40):  # trickles forever as far as the client's deadline is concerned
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self._send(404, "text/plain", b"missing")

    def _send(self, code, kind, body):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_url_that_works(server):
    assert load_image(f"{server}/ok.png").shape == (1, 3, 10, 20)


@pytest.mark.parametrize(
    "path,message",
    [("/missing.png", "HTTP 404"), ("/page.html", "not an image file")],
)
def test_url_errors_are_one_line(server, path, message):
    with pytest.raises(ImageError, match=message) as err:
        load_image(server + path)
    assert "\n" not in str(err.value)


def test_slow_url_times_out_within_the_bound(server, monkeypatch):
    monkeypatch.setattr(images_module, "URL_TIMEOUT", 1)
    start = time.monotonic()
    with pytest.raises(ImageError, match="timed out"):
        load_image(f"{server}/slow.png")
    assert time.monotonic() - start < 3


def test_unreachable_url_says_offline():
    with pytest.raises(ImageError, match="offline"):
        load_image("http://127.0.0.1:9/none.png")


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(path, quality=50)
    image = load_image(path, size=64)
    assert image.shape == (1, 3, 48, 64)


@pytest.mark.parametrize("side", [1, 8])
def test_too_small_for_the_layers_names_the_minimum(vgg, side):
    image = load_image(np.zeros((side, side, 3), np.uint8))
    with pytest.raises(LayerError, match="at least 16 px"):
        Objective(vgg, content=image, content_layers=["conv5_1"])


def test_very_wide_panorama_keeps_its_aspect(tmp_path):
    path = tmp_path / "pano.png"
    Image.new("RGB", (1200, 100)).save(path)
    assert load_image(path, size=240).shape == (1, 3, 20, 240)


def test_memory_guard_names_a_size_that_fits(vgg, monkeypatch):
    monkeypatch.setattr(objective_module, "free_memory", lambda device: 300 * 2**20)  # 300 MiB free
    objective = Objective(vgg, style=torch.rand(1, 3, 32, 32), style_layers=STYLE_LAYERS)
    objective.shape = (1, 3, 1024, 1024)  # as if the image were 1024 px
    with pytest.raises(ResourceError, match=r"use a size of \d+ px or less") as err:
        optimize_image(objective, steps=1, progress=False)
    fits = int(str(err.value).split("size of ")[1].split(" px")[0])
    assert 0 < fits < 1024
    assert vgg.estimate_bytes(fits, fits, STYLE_LAYERS) < 0.8 * 300 * 2**20


def test_memory_guard_says_when_no_size_fits(vgg, monkeypatch):
    monkeypatch.setattr(objective_module, "free_memory", lambda device: 2**20)  # 1 MiB free: less than the weights
    with pytest.raises(ResourceError, match="no size fits: even 16 px") as err:
        check_memory(vgg, 512, 512, STYLE_LAYERS)
    assert "px or less" not in str(err.value)


@pytest.mark.parametrize("free_mib", [100, 120, 200, 400])
def test_memory_guard_names_a_size_that_fits_a_panorama_and_its_layers(vgg, monkeypatch, free_mib):
    free = free_mib * 2**20
    monkeypatch.setattr(objective_module, "free_memory", lambda device: free)
    with pytest.raises(ResourceError, match=r"no size fits|use a size of \d+ px") as err:
        check_memory(vgg, 256, 4096, STYLE_LAYERS)  # 16:1; relu5_1 needs 16 px on the short side
    if "no size fits" in str(err.value):  # then even the smallest size the layers allow does not fit
        assert vgg.estimate_bytes(16, 256, STYLE_LAYERS) > 0.8 * free
        return
    fits = int(str(err.value).split("size of ")[1].split(" px")[0])
    short = round(256 * fits / 4096)
    assert short >= vgg.min_size(STYLE_LAYERS)
    assert vgg.estimate_bytes(short, fits, STYLE_LAYERS) <= 0.8 * free


def test_memory_guard_runs_before_the_objectives_first_forward_pass(vgg, monkeypatch):
    monkeypatch.setattr(objective_module, "free_memory", lambda device: 200 * 2**20)

    def forward(*args, **kwargs):
        raise AssertionError("a forward pass ran before the memory check")

    monkeypatch.setattr(VGG, "forward", forward)
    with pytest.raises(ResourceError, match="1024x1024 px run needs about"):
        Objective(vgg, content=torch.rand(1, 3, 1024, 1024), style=torch.rand(1, 3, 32, 32))


def test_out_of_memory_during_a_run_gives_the_guards_message(vgg):
    def objective(image):
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(ResourceError, match="out of memory at 16x16 px .* use a size of 8 px or less"):
        optimize_image(objective, init=torch.rand(1, 3, 16, 16), steps=2, progress=False)


def test_other_runtime_errors_are_not_hidden():
    def objective(image):
        raise RuntimeError("a bug in the objective")

    with pytest.raises(RuntimeError, match="a bug"):
        optimize_image(objective, init=torch.rand(1, 3, 8, 8), steps=1, progress=False)


# Property tests: loading and resizing never crash and keep the aspect; losses are >= 0 and 0 on a match.


@settings(max_examples=40, deadline=None)
@given(
    w=st.integers(1, 300),
    h=st.integers(1, 300),
    size=st.integers(1, 128),
    mode=st.sampled_from(["L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16"]),
)
def test_any_mode_and_size_loads_as_rgb_with_the_long_side_asked_for(w, h, size, mode):
    image = load_image(Image.new(mode, (w, h)), size=size)
    assert image.shape[:2] == (1, 3) and max(image.shape[-2:]) == size
    assert abs(image.shape[-1] / image.shape[-2] - w / h) <= max(w / h, h / w) * 2 / min(image.shape[-2:])
    assert 0 <= image.min() and image.max() <= 1


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    hw=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    normalization=st.sampled_from(["paper", "mean", "sum"]),
)
def test_losses_are_nonnegative_and_zero_on_a_match(n, hw, seed, normalization):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(1, n, hw, hw, generator=g), torch.randn(1, n, hw, hw, generator=g)
    assert content_loss(a, b, normalization) >= 0
    assert content_loss(a, a.clone(), normalization) == 0
    ga, gb = gram_matrix(a), gram_matrix(b)
    assert style_layer_loss(ga, gb, n, hw * hw, normalization) >= 0
    assert style_layer_loss(ga, ga.clone(), n, hw * hw, normalization) == 0


def test_truncated_jpeg_is_one_clear_error(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.new("RGB", (64, 64), (10, 200, 30)).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ImageError, match="cut.jpg is damaged or truncated"):
        load_image(path)


def test_10000_px_jpeg_is_downscaled_while_decoding(tmp_path):
    path = tmp_path / "scan.jpg"
    Image.new("L", (10000, 10000), 128).save(path, quality=20)  # grayscale keeps the test's own memory low
    image = load_image(path, size=64)  # 1e8 px: Pillow warns (decompression-bomb check) but loads
    assert image.shape == (1, 3, 64, 64)
