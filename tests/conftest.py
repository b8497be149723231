"""Shared fixtures: the bundled VGG19 (loaded once) and the shipped images at the quick profile's size.

The networks are on ``$NST_TEST_DEVICE`` (default cpu; tools/gpu_check.sh runs some of the tests with cuda).
"""

import contextlib
import os
import signal
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from nst_helpers import VGG, load_image, profile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "images" / "content" / "astronaut.png"
STYLE = ROOT / "images" / "style" / "swirls.png"
DEVICE = os.environ.get("NST_TEST_DEVICE", "cpu")


@contextlib.contextmanager
def guard_against_hanging(seconds=30):
    """Fail instead of waiting forever, if the code under test blocks."""

    def hang(signum, frame):
        raise AssertionError("the code under test hung")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def quick():
    return profile("quick", device=DEVICE)


@pytest.fixture(scope="session")
def vgg():
    """The paper's synthesis network, the package's default: the bundled Caffe VGG19, normalised, average pooling."""
    return VGG("vgg19", weights="caffe", pooling="avg", device=DEVICE)


@pytest.fixture(scope="session")
def vgg_original():
    """The same weights as trained (not normalised), average pooling."""
    return VGG("vgg19", weights="caffe", pooling="avg", device=DEVICE, normalized=False)


@pytest.fixture(scope="session")
def vgg_max():
    """The weights as trained, with max pooling, as VGG19 was trained."""
    return VGG("vgg19", weights="caffe", pooling="max", device=DEVICE, normalized=False)


@pytest.fixture(scope="session")
def content_image(quick):
    return load_image(CONTENT, size=quick.size)


@pytest.fixture(scope="session")
def style_image(quick):
    return load_image(STYLE, size=quick.size)
