"""Figures: image grids and loss curves (drawn with the Agg backend, never shown)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nst_helpers import plot_losses, show_as_jpeg, show_images  # noqa: E402
from nst_helpers.plotting import plot_terms  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images(n, size=8):
    g = torch.Generator().manual_seed(0)
    return [torch.rand(1, 3, size, size + 2, generator=g) for _ in range(n)]


def drawn(fig):
    """The axes of ``fig`` that show an image."""
    return [ax for ax in fig.axes if ax.images]


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


def test_show_images_list():
    fig = show_images(images(3), titles=["a", "b", "c"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert len(drawn(fig)) == 3
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert fig.axes[0].images[0].get_array().shape == (8, 10, 3)  # height x width x RGB
    assert all(not ax.axison for ax in fig.axes)


def test_show_images_dict_uses_keys_as_titles():
    fig = show_images(dict(zip(["content", "style"], images(2))), suptitle="inputs")
    assert len(drawn(fig)) == 2
    assert [ax.get_title() for ax in drawn(fig)] == ["content", "style"]
    assert fig.get_suptitle() == "inputs"


def test_show_images_grid_wraps_at_five_columns():
    fig = show_images(images(7))
    assert len(fig.axes) == 10  # 2 rows of 5
    assert len(drawn(fig)) == 7
    assert [ax.get_title() for ax in fig.axes] == [""] * 10


def test_show_images_explicit_columns():
    fig = show_images(images(4), ncols=2, size=2.0)
    assert len(fig.axes) == 4
    assert len(drawn(fig)) == 4
    assert tuple(fig.get_size_inches()) == pytest.approx((4.0, 2 * 2.0 * 8 / 10))  # rows as tall as the 8x10 images


def test_show_images_leaves_room_for_two_line_titles():
    fig = show_images(images(2), titles=["one", "two\nlines"], ncols=2, size=2.0)
    assert fig.get_size_inches()[1] == pytest.approx(2.0 * 8 / 10 + 2 * 0.2)


def test_show_images_shows_the_pixels():
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 1
    fig = show_images([red])
    array = fig.axes[0].images[0].get_array()
    assert array[..., 0].min() == 255 and array[..., 1].max() == 0


HISTORIES = {
    "lbfgs": {"total": [100.0, 10.0, 1.0], "content": [90.0, 9.0, 0.9], "time": [0.5, 1.0, 1.5]},
    "adam": {"total": [100.0, 50.0, 20.0, 10.0], "content": [80.0, 40.0, 16.0, 8.0], "time": [0.1, 0.2, 0.3, 0.4]},
}


def test_plot_losses_by_step():
    ax = plot_losses(HISTORIES)
    lines = ax.get_lines()
    assert len(lines) == 2
    assert [line.get_label() for line in lines] == ["lbfgs", "adam"]
    assert list(lines[0].get_xdata()) == [1, 2, 3]
    assert list(lines[1].get_ydata()) == [100.0, 50.0, 20.0, 10.0]
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "step"
    assert ax.get_ylabel() == "total loss"
    assert ax.get_legend() is not None


def test_plot_losses_by_time_and_term():
    ax = plot_losses(HISTORIES, term="content", x="time")
    lines = ax.get_lines()
    assert len(lines) == 2
    assert list(lines[0].get_xdata()) == [0.5, 1.0, 1.5]
    assert list(lines[1].get_xdata()) == [0.1, 0.2, 0.3, 0.4]
    assert list(lines[0].get_ydata()) == [90.0, 9.0, 0.9]
    assert ax.get_xlabel() == "seconds"
    assert ax.get_ylabel() == "content loss"


def test_plot_losses_on_given_axes():
    fig, ax = plt.subplots()
    out = plot_losses({"run": HISTORIES["adam"]}, ax=ax)
    assert out is ax
    assert len(ax.get_lines()) == 1
    assert len(fig.axes) == 1



def test_plot_terms_draws_each_term_but_time_and_leaves_out_zeros_on_a_log_scale():
    _, ax = plt.subplots()
    plot_terms({"content": [0.0, 4.0, 2.0], "style": [9.0, 3.0, 1.0], "total": [9.0, 7.0, 3.0], "time": [0.1, 0.2, 0.3]}, ax)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["content", "style", "total"] and ax.get_yscale() == "log"
    assert lines["total"].get_linewidth() > lines["style"].get_linewidth()
    content = lines["content"].get_ydata()
    assert math.isnan(content[0]) and list(content[1:]) == [4.0, 2.0]


def test_plot_terms_without_terms_shows_a_hint():
    _, ax = plt.subplots()
    plot_terms({}, ax)
    assert not ax.get_lines() and "appears here" in ax.texts[0].get_text()


def test_show_as_jpeg_shows_a_jpeg_in_a_notebook_and_leaves_the_figure_alone_elsewhere(monkeypatch):
    import IPython.display

    fig = show_images(images(2), size=1)
    assert show_as_jpeg(fig) is fig and plt.fignum_exists(fig.number)  # Agg: nothing shown, the figure stays open
    shown = []
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline")
    monkeypatch.setattr(IPython.display, "display", shown.append)
    assert show_as_jpeg(fig) is fig
    assert [type(x).__name__ for x in shown] == ["Image"] and shown[0].format == "jpeg"
    assert shown[0].data[:3] == b"\xff\xd8\xff"  # a JPEG's first bytes
    assert not plt.fignum_exists(fig.number)  # closed: the inline backend does not show it again as a PNG
