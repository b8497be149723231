"""Explorers: sliders and buttons on the same functions the notebooks call.

In a notebook cell::

    from nst_helpers.widgets import transfer_explorer
    transfer_explorer()

One explorer per notebook: `feature_explorer` (1: activation maps and maximising images),
`content_explorer` (2: reconstruction from one layer), `style_explorer` (3: texture from Gram matrices)
and `transfer_explorer` (4: the whole transfer). Each runs its optimisation in a background thread, so
the kernel stays responsive: the preview and the loss curve update on step 1 and then every second or
so, Stop ends the run within one step, a second Run while one is going is refused with a message, and a
problem (a bad URL, a file that is not an image) shows as one line in the explorer, not a traceback.

Every explorer has ``.widget`` (what the notebook displays; the explorer displays itself too), its
controls as attributes, ``run()``, ``stop()``, ``wait()``, ``save()``, the ``preview`` and ``loss_plot``
images (PNG bytes), the ``message`` line and the last few ``runs``: tests drive them without a browser.
"""

from __future__ import annotations

import html
import io
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image, UnidentifiedImageError

from . import featviz
from .errors import ImageError, NSTError, ParameterError
from .images import load_image, save_image, to_pil
from .optimize import Objective, default_style_weight, optimize_image
from .profiles import profile
from .vgg import CHANNELS, CONTENT_LAYERS, STYLE_LAYERS, VGG, layer_names

Callback = Callable[[int, torch.Tensor, dict[str, float]], bool]

PREVIEW_SECONDS = 1.0  # the preview updates on step 1, on the last step, and at most this often in between
KEEP_RUNS = 4  # runs kept side by side for comparison
PREVIEW_PX = 256  # displayed width of the preview and the loss plot
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


# --- where things are -----------------------------------------------------------------------------------------------


def images_dir() -> Path | None:
    """The shipped ``images/`` folder: beside the package (a checkout), else under or above the working directory."""
    for folder in (PACKAGE_ROOT / "images", Path.cwd() / "images", Path.cwd().parent / "images"):
        if (folder / "content").is_dir() or (folder / "style").is_dir():
            return folder
    return None


def shipped_images(*kinds: str) -> dict[str, Path]:
    """Name -> path of the shipped images of ``kinds`` ('content', 'style'); empty if there are none."""
    folder = images_dir()
    return {p.name: p for kind in kinds for p in sorted((folder / kind).glob("*.png"))} if folder else {}


def default_output_dir() -> Path:
    """``outputs/`` of the checkout (beside ``images/``), else of the working directory."""
    folder = images_dir()
    return (folder.parent if folder else Path.cwd()) / "outputs"


_NETWORKS: dict[str, VGG] = {}
_NETWORKS_LOCK = threading.Lock()


def network(pooling: str = "avg") -> VGG:
    """The bundled VGG19 with ``pooling``, loaded once and shared by every explorer."""
    with _NETWORKS_LOCK:
        if pooling not in _NETWORKS:
            _NETWORKS[pooling] = VGG("vgg19", weights="caffe", pooling=pooling)
        return _NETWORKS[pooling]


def preload(pooling: str = "avg") -> None:
    """Load the network in a background thread, so that the first Run does not wait for it."""
    if pooling not in _NETWORKS:
        threading.Thread(target=network, args=(pooling,), name="nst-preload", daemon=True).start()


# --- pictures as PNG bytes ------------------------------------------------------------------------------------------


def png(image: torch.Tensor | Image.Image) -> bytes:
    """An image tensor (RGB in [0, 1]) or PIL image as PNG bytes."""
    buffer = io.BytesIO()
    (image if isinstance(image, Image.Image) else to_pil(image)).save(buffer, "PNG")
    return buffer.getvalue()


def placeholder(width: int = 64, height: int = 64) -> bytes:
    """A light grey PNG, shown before the first run."""
    return png(Image.new("RGB", (width, height), (238, 238, 238)))


def heatmap(values: torch.Tensor, size: int = 160) -> bytes:
    """A 2-D map (H, W) in viridis, scaled to its own range and enlarged to ``size`` px (nearest), as PNG."""
    array = values.detach().cpu().float().numpy()
    span = float(array.max() - array.min())
    rgb = colormaps["viridis"]((array - array.min()) / span if span > 0 else np.zeros_like(array))[..., :3]
    picture = Image.fromarray((rgb * 255).astype(np.uint8))
    scale = size / max(picture.size)
    return png(picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))), Image.Resampling.NEAREST))


def loss_plot(history: Mapping[str, Sequence[float]], log: bool = True, title: str = "") -> bytes:
    """A small figure of every curve in ``history`` (except 'time') over the steps, as PNG bytes.

    Drawn on a bare matplotlib Figure (no pyplot), so it is safe in a background thread and never
    shows up in the notebook by itself.
    """
    with _PLOT_LOCK:  # matplotlib is not thread-safe (its mathtext parser is shared): one figure at a time
        return _loss_plot(history, log, title)


_PLOT_LOCK = threading.Lock()


def _loss_plot(history: Mapping[str, Sequence[float]], log: bool, title: str) -> bytes:
    fig = Figure(figsize=(3.6, 2.7), dpi=80)
    ax = fig.add_subplot()
    curves = {name: np.asarray(values, dtype=float) for name, values in history.items() if name != "time" and len(values)}
    for name, values in curves.items():
        shown = np.where(values > 0, values, np.nan) if log else values  # a zero (content loss at step 1 from the content image) has no log
        ax.plot(np.arange(1, len(values) + 1), shown, label=name, lw=2 if name == "total" else 1.2)
    if curves:
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "the loss curve\nappears here", ha="center", va="center", color="grey", transform=ax.transAxes)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step", fontsize=9)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


# --- image sources: shipped, uploaded, URL --------------------------------------------------------------------------


def decode(name: str, data: bytes, size: int | None = None) -> torch.Tensor:
    """Uploaded bytes as an image tensor, with the same one-line errors as `load_image`."""
    if not data:
        raise ImageError(f"{name} is an empty file")
    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image file Pillow can read (PNG, JPEG, GIF, BMP, TIFF, WebP ...)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name} is too large to load safely; shrink it first") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{name} is damaged or truncated ({err})") from None
    return load_image(picture, size=size)


@dataclass(frozen=True)
class Source:
    """One chosen image: ``kind`` is 'shipped', 'upload' or 'url'; ``data`` is a path, bytes or a URL."""

    kind: str
    name: str
    data: Any

    def load(self, size: int) -> torch.Tensor:
        """The image, ``size`` px on its long side; raises an `NSTError` with a one-line message."""
        if self.kind == "upload":
            return decode(self.name, self.data, size)
        return load_image(self.data, size=size)


class ImagePicker:
    """Choose an image: a shipped one (dropdown), a file (upload) or a URL. The last one touched is used."""

    def __init__(self, label: str, kinds: Sequence[str], default: str | None = None, on_error: Callable[[str], None] | None = None) -> None:
        self.label, self.on_error = label, on_error or (lambda text: None)
        self.choices = shipped_images(*kinds)
        names = list(self.choices)
        self.dropdown = W.Dropdown(options=names, value=default if default in names else (names[0] if names else None),
                                   layout=W.Layout(width="150px"))  # blank while a file or a URL is in use
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="file", layout=W.Layout(width="150px"))
        self.url = W.Text(placeholder="or an image URL", continuous_update=False, layout=W.Layout(width="150px"))
        self.thumbnail = W.Image(value=placeholder(), format="png", layout=W.Layout(width="64px", height="64px", object_fit="contain"))
        self.using = W.HTML(layout=W.Layout(width="220px"))
        self.source: Source | None = None
        self._last_shipped: str | None = None
        self.dropdown.observe(lambda _: self._use_shipped(), "value")
        self.upload.observe(lambda _: self._use_upload(), "value")
        self.url.observe(lambda _: self._use_url(), "value")
        self._use_shipped()
        title = W.HTML(f"<b>{html.escape(label)}</b>", layout=W.Layout(width="64px"))
        self.widget = W.HBox([W.VBox([title, self.thumbnail]), W.VBox([self.dropdown, self.upload, self.url, self.using])])

    def _set(self, source: Source | None) -> None:
        self.source = source
        self.using.value = f"<small>using: {html.escape(source.name)}</small>" if source else "<small>no image chosen</small>"

    def show(self, image: torch.Tensor) -> None:
        """Show ``image`` as this picker's thumbnail."""
        self.thumbnail.value = png(image)

    def _show_file(self, source: Source) -> None:
        try:
            self.show(source.load(64))
        except NSTError as err:
            self.on_error(str(err))

    def _use_shipped(self) -> None:
        name = self.dropdown.value
        if name is None:  # blanked because a file or a URL is in use
            return
        self._last_shipped = name
        self._set(Source("shipped", name, self.choices[name]))
        self.url.value = ""
        self._show_file(self.source)

    def _use_upload(self) -> None:
        if not self.upload.value:
            return
        entry = self.upload.value[0]
        self._set(Source("upload", entry["name"], bytes(entry["content"])))
        self.dropdown.value = None
        self._show_file(self.source)

    def _use_url(self) -> None:
        url = self.url.value.strip()
        if not url:  # cleared: back to the shipped image
            if self.source is not None and self.source.kind == "url":
                if self.dropdown.value is None and self._last_shipped is not None:
                    self.dropdown.value = self._last_shipped  # -> _use_shipped
                else:
                    self._set(None)
            return
        self._set(Source("url", url, url))
        self.dropdown.value = None
        if not url.startswith(("http://", "https://")):
            self.on_error(f"{url} is not a URL: it should start with http:// or https://")

    def choice(self) -> Source:
        """The image to use, checked as far as can be without loading it (that happens in the run)."""
        if self.source is None:
            raise ImageError(f"no {self.label} image: pick one, upload a file or give a URL")
        if self.source.kind == "url" and not self.source.data.startswith(("http://", "https://")):
            raise ImageError(f"{self.source.data} is not a URL: it should start with http:// or https://")
        return self.source


# --- the explorer machinery, shared by all four ---------------------------------------------------------------------


@dataclass
class Run:
    """A finished (or stopped) run, kept for comparison."""

    image: torch.Tensor
    history: dict[str, list[float]]
    caption: str
    slug: str  # the settings in a file name
    steps: int
    stopped: str | None = None


def _box(title: str, children: Sequence[W.Widget], width: str = "auto") -> W.VBox:
    return W.VBox([W.HTML(f"<b>{html.escape(title)}</b>"), *children],
                  layout=W.Layout(width=width, padding="4px 8px", border="1px solid #ddd", margin="0 6px 6px 0"))


def _labelled(label: str, widget: W.Widget) -> W.HBox:
    """A widget with a label at the left, aligned with the sliders' descriptions."""
    text = W.HTML(f"<div style='text-align:right;padding-right:8px'>{html.escape(label)}</div>", layout=W.Layout(width="78px"))
    return W.HBox([text, widget], layout=W.Layout(align_items="center"))


def _slider(cls: type, description: str, **kwargs: Any) -> W.Widget:
    return cls(description=description, continuous_update=False, style={"description_width": "70px"}, layout=W.Layout(width="280px"), **kwargs)


class Explorer:
    """Run / Stop / Save, a live preview and loss curve, a one-line message, and the last runs side by side.

    A subclass builds its controls, then calls `_assemble`; it implements `_settings` (read the controls,
    in the kernel's thread) and `_optimise` (do the run, in a background thread, calling ``callback``
    after every step).
    """

    name = "explorer"
    log_loss = True

    def __init__(self, title: str, vgg: VGG | None = None) -> None:
        self.title, self.profile = title, profile()
        if vgg is not None:
            _NETWORKS.setdefault(vgg.pooling, vgg)
        self.output_dir = default_output_dir()
        self.preview = W.Image(value=placeholder(), format="png", layout=W.Layout(width=f"{PREVIEW_PX}px", object_fit="contain"))
        self.loss_plot = W.Image(value=loss_plot({}), format="png", layout=W.Layout(width=f"{PREVIEW_PX + 32}px"))
        self.preview.add_class("nst-preview")
        self.loss_plot.add_class("nst-loss")
        self.status = W.HTML("<small>press Run</small>")
        self.message = W.HTML()
        self.message_text = ""  # the message line as plain text
        self.message.add_class("nst-message")
        self.run_button = W.Button(description="Run", icon="play", button_style="success", layout=W.Layout(width="90px"))
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="danger", disabled=True, layout=W.Layout(width="90px"))
        self.save_button = W.Button(description="Save", icon="save", disabled=True, layout=W.Layout(width="90px"))
        for button, action in ((self.run_button, self.run), (self.stop_button, self.stop), (self.save_button, self.save)):
            button.add_class(f"nst-{button.description.lower()}")
            button.on_click(lambda _, action=action: action())
        self.compare = W.HBox(layout=W.Layout(flex_flow="row wrap"))
        self.runs: list[Run] = []
        self.image: torch.Tensor | None = None
        self.history: dict[str, list[float]] = {}
        self.step, self.total, self.previews = 0, 0, 0  # step reached, steps asked for, preview updates
        self.error: BaseException | None = None  # an unexpected error of the last run, for debugging
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last_preview = self._started = 0.0
        self.widget: W.VBox = W.VBox()

    def _assemble(self, controls: Sequence[W.Widget], views: Sequence[W.Widget] = ()) -> None:
        header = W.HTML(f"<h3 style='margin:4px 0'>{html.escape(self.title)}</h3><small>{html.escape(str(self.profile))}</small>")
        buttons = W.HBox([self.run_button, self.stop_button, self.save_button, self.status], layout=W.Layout(align_items="center"))
        shown = W.HBox([*views, self.preview, self.loss_plot], layout=W.Layout(align_items="flex-start", grid_gap="12px"))
        last = W.VBox([W.HTML("<b>last runs</b> (newest first)"), self.compare])
        self.widget = W.VBox([header, W.HBox(list(controls), layout=W.Layout(flex_flow="row wrap")), buttons, self.message, shown, last])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """A cell ending in an explorer displays it; where widgets cannot show (a rendered page), one line says so."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{self.title} (interactive: run the notebook in Jupyter to use it)"
        return bundle

    # -- messages --

    def say(self, text: str, kind: str = "info") -> None:
        """Show one line (the first line of ``text``) under the buttons; kind: 'info', 'warning' or 'error'."""
        line = text.strip().splitlines()[0] if text.strip() else ""
        self.message_text = line
        colour = {"info": "#333", "warning": "#a15c00", "error": "#b00020"}[kind]
        self.message.value = f"<span style='color:{colour}'>{html.escape(line)}</span>" if line else ""

    def _error(self, text: str) -> None:
        self.say(text, "error")

    # -- running --

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> bool:
        """Start a run in a background thread with the current settings; False (and a message) if one is going."""
        with self._lock:
            if self.running:
                self.say("A run is already going: wait for it to finish, or press Stop first.", "warning")
                return False
            try:
                settings = self._settings()
            except NSTError as err:
                self._error(str(err))
                return False
            self._stop.clear()
            self.error, self.history, self.step, self.total = None, {}, 0, settings["steps"]
            self._set_running(True)
            self.say("")
            self.status.value = "<small>starting ...</small>"
            self._thread = threading.Thread(target=self._work, args=(settings,), name=f"nst-{self.name}", daemon=True)
            self._thread.start()
            return True

    def stop(self) -> None:
        """Ask the run to stop: it ends after the step it is on, keeping that image."""
        if self.running:
            self._stop.set()
            self.status.value = "<small>stopping ...</small>"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end (at most ``timeout`` seconds); True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _set_running(self, running: bool) -> None:
        self.stop_button.disabled = not running
        self.save_button.disabled = running or self.image is None

    def _callback(self, step: int, image: torch.Tensor, losses: Mapping[str, float]) -> bool:
        """After every step: record the losses, update the preview now and then, and say whether to stop."""
        self.step = step
        for key, value in losses.items():
            self.history.setdefault(key, []).append(float(value))
        now = time.perf_counter()
        if step == 1 or step == self.total or now - self._last_preview >= PREVIEW_SECONDS:
            self._show(step, image)
            self._last_preview = time.perf_counter()
        return self._stop.is_set()

    def _show(self, step: int, image: torch.Tensor) -> None:
        self.preview.value = png(image)
        self.loss_plot.value = loss_plot(self.history, log=self.log_loss)
        self.previews += 1
        seconds = time.perf_counter() - self._started
        values = {k: v[-1] for k, v in self.history.items() if k != "time"}
        shown = "total" if "total" in values else next(iter(values), None)
        loss = f" · {shown} {values[shown]:.3g}" if shown else ""
        self.status.value = f"<small>step {step} / {self.total}{loss} · {seconds:.1f} s</small>"

    def _work(self, settings: dict[str, Any]) -> None:
        self._started = time.perf_counter()
        try:
            image, stopped = self._optimise(settings, self._callback)
            if self.step == 0:  # stopped before the first step: nothing to show or keep
                self.say("Stopped before the first step.")
                return
            self.image = image.detach().cpu()
            self._show(self.step, self.image)
            self._keep(Run(self.image, dict(self.history), settings["caption"], settings["slug"], self.step, stopped))
            if stopped:
                self.say(f"Stopped at step {self.step} of {self.total}: the image so far is kept.")
            else:
                self.say(f"Done: {self.step} steps in {time.perf_counter() - self._started:.1f} s.")
        except NSTError as err:
            self._error(str(err))
        except Exception as err:  # a bug rather than a bad input: one line too, the exception kept in .error
            self.error = err
            first = next((line for line in str(err).splitlines() if line.strip()), "")
            self._error(f"unexpected {type(err).__name__}: {first} (details in .error)")
        finally:
            self._set_running(False)
            if self.error is not None or not self.history:
                self.status.value = ""

    def _keep(self, run: Run) -> None:
        self.runs = [run, *self.runs][:KEEP_RUNS]
        self.compare.children = [self._card(r) for r in self.runs]

    @staticmethod
    def _card(run: Run) -> W.VBox:
        """A thumbnail of a run with its settings and final loss."""
        final = {k: v[-1] for k, v in run.history.items() if k != "time" and v}
        name = "total" if "total" in final else next(iter(final), None)
        loss = f"<br>{name} {final[name]:.3g}" if name else ""
        stopped = f" (stopped at step {run.steps})" if run.stopped else ""
        caption = f"<div style='font-size:11px;line-height:1.3'>{html.escape(run.caption)}{stopped}{loss}</div>"
        return W.VBox([W.Image(value=png(run.image), format="png", layout=W.Layout(width="128px", object_fit="contain")),
                       W.HTML(caption, layout=W.Layout(width="170px"))], layout=W.Layout(margin="0 10px 0 0"))

    def save(self) -> Path | None:
        """Write the last result to ``output_dir`` (``outputs/``) as PNG; returns the path."""
        if self.image is None:
            self.say("Nothing to save yet: press Run first.", "warning")
            return None
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            path = save_image(self.image, self.output_dir / f"{self.name}_{self.runs[0].slug}_{stamp}.png")
        except (NSTError, OSError) as err:
            self._error(f"could not save: {err}")
            return None
        self.say(f"Saved {path}")
        return path

    def _settings(self) -> dict[str, Any]:  # pragma: no cover - each explorer has its own
        raise NotImplementedError

    def _optimise(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:  # pragma: no cover
        raise NotImplementedError


def _stem(source: Source) -> str:
    """A short, file-name-safe name for an image source."""
    stem = Path(source.name.split("?")[0].rstrip("/")).stem or "image"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:40]


def _steps_slider(default: int) -> W.IntSlider:
    slider = _slider(W.IntSlider, "steps", value=default, min=1, max=max(100, 5 * default))
    slider.add_class("nst-steps")
    return slider


def _size_slider(default: int) -> W.IntSlider:
    return _slider(W.IntSlider, "size (px)", value=default, min=32, max=max(512, default), step=16)


def _layer_dropdown(default: str, description: str = "layer") -> W.Dropdown:
    """The VGG19 layers of the default's kind: convolutions (conv3_1), or convolutions after their ReLU (relu4_2)."""
    kind = default.rstrip("_0123456789")
    options = [name for name in layer_names("vgg19") if name.startswith(kind)]
    return W.Dropdown(options=options, value=default, description=description, style={"description_width": "70px"},
                      layout=W.Layout(width="200px"))


def _optimise_objective(objective: Objective, settings: Mapping[str, Any], callback: Callback, stop: threading.Event,
                        **options: Any) -> tuple[torch.Tensor, str | None]:
    """`optimize_image` under the explorer: no progress bar, the explorer's callback, and Stop honoured before step 1."""
    if stop.is_set():
        return objective.content_image if objective.content_image is not None else objective.style_image, "stopped before step 1"
    result = optimize_image(objective, steps=settings["steps"], progress=False, callback=callback, **options)
    return result.image, result.stopped


# --- notebook 1: activation maps and maximising images --------------------------------------------------------------


class FeatureExplorer(Explorer):
    """Pick an image, a layer and a channel: its activation map, and (Run) the image that excites it most."""

    name = "feature"
    log_loss = False

    def __init__(self, vgg: VGG | None = None) -> None:
        super().__init__("Feature explorer: what one channel responds to", vgg)
        self.picker = ImagePicker("image", ("content", "style"), "chelsea.png", on_error=self._error)
        self.layer = _layer_dropdown("conv3_1")
        self.channel = _slider(W.IntSlider, "channel", value=0, min=0, max=255)
        self.steps = _steps_slider(self.profile.steps)
        self.activation = W.Image(value=placeholder(), format="png", layout=W.Layout(width="160px", object_fit="contain"))
        self.activation_caption = W.HTML()
        self._request = 0  # activation-map requests so far
        self.layer.observe(lambda _: self._layer_changed(), "value")
        for control in (self.picker.dropdown, self.picker.upload, self.picker.url, self.channel):
            control.observe(lambda _: self.update_activation(), "value")
        self._layer_changed()
        self._assemble(
            [_box("image", [self.picker.widget]), _box("unit", [self.layer, self.channel]), _box("maximise", [self.steps])],
            [W.VBox([self.activation, self.activation_caption])],
        )

    def _layer_changed(self) -> None:
        self.channel.max = CHANNELS[int(self.layer.value[4]) - 1] - 1  # may clamp the channel (and so update the map)
        self.update_activation()

    def update_activation(self) -> threading.Thread:
        """Show the chosen channel's activation map for the chosen image. The image load (maybe a download) and the
        forward pass run in a background thread, returned; only the latest request updates the map."""
        self._request += 1
        thread = threading.Thread(target=self._activation, args=(self._request,), name="nst-activation", daemon=True)
        thread.start()
        return thread

    def _activation(self, request: int) -> None:
        try:
            source, layer, channel = self.picker.choice(), self.layer.value, self.channel.value
            image = source.load(self.profile.size)
            with torch.no_grad():
                features = network("max")(image, [layer])[layer][0, channel].clamp(min=0)  # rectified, as its ReLU would
        except NSTError as err:
            return self._error(str(err)) if request == self._request else None
        if request == self._request:
            self.picker.show(image)
            self.activation.value = heatmap(features)
            self.activation_caption.value = (f"<small>{layer} #{channel} on this image<br>"
                                             f"{features.shape[-1]}x{features.shape[-2]} positions, mean {features.mean():.3g}</small>")

    def _settings(self) -> dict[str, Any]:
        layer, channel = self.layer.value, self.channel.value
        return {"layer": layer, "channel": channel, "steps": self.steps.value, "size": min(self.profile.size, 128),
                "caption": f"{layer} #{channel} · {self.steps.value} steps", "slug": f"{layer}_{channel}"}

    def _optimise(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:
        """Activation maximisation with `featviz.render`, the preview following each step."""
        if self._stop.is_set():
            return torch.full((1, 3, settings["size"], settings["size"]), 0.5), "stopped before step 1"
        result = featviz.render(network("max"), settings["layer"], settings["channel"], size=settings["size"],
                                steps=settings["steps"], callback=callback)
        done = len(result.history)
        return result.images, (f"stopped at step {done}" if done < settings["steps"] else None)


# --- notebook 2: content reconstruction ----------------------------------------------------------------------------


class ContentExplorer(Explorer):
    """Pick a content layer and a step count: watch an image form from noise to match that layer's features."""

    name = "content"

    def __init__(self, vgg: VGG | None = None) -> None:
        super().__init__("Content explorer: an image rebuilt from one layer's features", vgg)
        preload("avg")
        self.picker = ImagePicker("photo", ("content",), "chelsea.png", on_error=self._error)
        self.layer = _layer_dropdown(CONTENT_LAYERS[0], "layer")
        self.steps = _steps_slider(self.profile.steps)
        self.size = _size_slider(self.profile.size)
        self._assemble([_box("image", [self.picker.widget]), _box("reconstruction", [self.layer, self.steps, self.size])])

    def _settings(self) -> dict[str, Any]:
        source = self.picker.choice()
        return {"source": source, "layer": self.layer.value, "steps": self.steps.value, "size": self.size.value,
                "caption": f"{source.name} · from {self.layer.value} · {self.steps.value} steps · {self.size.value} px",
                "slug": f"{_stem(source)}_{self.layer.value}"}

    def _optimise(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:
        photo = settings["source"].load(settings["size"])
        self.picker.show(photo)
        objective = Objective(network("avg"), content=photo, content_layers=[settings["layer"]])
        return _optimise_objective(objective, settings, callback, self._stop, init="noise", optimizer="lbfgs")


# --- notebook 3: style reconstruction ------------------------------------------------------------------------------


class StyleExplorer(Explorer):
    """Tick style layers: watch a texture form from noise to match their Gram matrices."""

    name = "style"

    def __init__(self, vgg: VGG | None = None) -> None:
        super().__init__("Style explorer: texture from Gram matrices", vgg)
        preload("avg")
        self.picker = ImagePicker("style", ("style",), "swirls.png", on_error=self._error)
        self.layers = {name: W.Checkbox(value=True, description=name, indent=False, layout=W.Layout(width="90px")) for name in STYLE_LAYERS}
        self.steps = _steps_slider(self.profile.steps)
        self.size = _size_slider(self.profile.size)
        ticks = W.GridBox(list(self.layers.values()), layout=W.Layout(grid_template_columns="repeat(3, 95px)"))
        self._assemble([_box("image", [self.picker.widget]), _box("style layers", [ticks]), _box("optimisation", [self.steps, self.size])])

    def _settings(self) -> dict[str, Any]:
        source, layers = self.picker.choice(), [name for name, box in self.layers.items() if box.value]
        if not layers:
            raise ParameterError("tick at least one style layer")
        label = layers[0] if len(layers) == 1 else f"{layers[0]} ... {layers[-1]}" if len(layers) > 2 else " + ".join(layers)
        return {"source": source, "layers": layers, "steps": self.steps.value, "size": self.size.value,
                "caption": f"{source.name} · {label} · {self.steps.value} steps · {self.size.value} px",
                "slug": f"{_stem(source)}_{layers[-1]}"}

    def _optimise(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:
        texture = settings["source"].load(settings["size"])
        self.picker.show(texture)
        objective = Objective(network("avg"), style=texture, style_layers=settings["layers"])
        return _optimise_objective(objective, settings, callback, self._stop, init="noise", optimizer="adam", lr=0.1)  # as notebook 3


# --- notebook 4 and explorer.ipynb: style transfer -----------------------------------------------------------------


class TransferExplorer(Explorer):
    """The whole transfer: images, the content/style ratio, layers and their weights, init, optimiser, pooling, size, steps."""

    name = "transfer"

    def __init__(self, vgg: VGG | None = None) -> None:
        super().__init__("Style transfer explorer", vgg)
        preload("avg")
        self.content = ImagePicker("content", ("content",), "astronaut.png", on_error=self._error)
        self.style = ImagePicker("style", ("style",), "swirls.png", on_error=self._error)
        self.ratio = _slider(W.FloatLogSlider, "α/β", value=1e-3, base=10, min=-6, max=0, step=0.25, readout_format=".0e")
        self.content_layer = _layer_dropdown(CONTENT_LAYERS[0], "content at")
        self.style_checks = {name: W.Checkbox(value=True, description=name, indent=False, layout=W.Layout(width="80px")) for name in STYLE_LAYERS}
        self.style_weights = {name: W.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, continuous_update=False, readout_format=".2f",
                                                  layout=W.Layout(width="190px")) for name in STYLE_LAYERS}
        self.init = W.Dropdown(options=["content", "style", "noise"], value="content", description="init",
                               style={"description_width": "70px"}, layout=W.Layout(width="200px"))
        self.optimizer = W.ToggleButtons(options=["lbfgs", "adam"], value="lbfgs", style={"button_width": "64px"})
        self.pooling = W.ToggleButtons(options=["avg", "max"], value="avg", style={"button_width": "64px"})
        self.size = _size_slider(self.profile.size)
        self.steps = _steps_slider(self.profile.steps)
        self._objective: tuple[tuple, Objective] | None = None  # the last objective, with the settings it was built for
        style_rows = [W.HBox([self.style_checks[name], self.style_weights[name]]) for name in STYLE_LAYERS]
        self._assemble([
            _box("images", [self.content.widget, self.style.widget]),
            _box("weights and layers", [self.ratio, self.content_layer, W.HTML("<small>style layers, relative weights</small>"), *style_rows]),
            _box("optimisation", [self.init, _labelled("optimizer", self.optimizer), _labelled("pooling", self.pooling), self.size, self.steps]),
        ])

    def style_layer_weights(self) -> dict[str, float]:
        """The ticked style layers and their weights, scaled to sum to 1 (the paper's w_l = 1/5 when all five are ticked)."""
        chosen = {name: self.style_weights[name].value for name, box in self.style_checks.items() if box.value}
        total = sum(chosen.values())
        if not chosen or total <= 0:
            raise ParameterError("tick at least one style layer with a weight above 0")
        return {name: weight / total for name, weight in chosen.items() if weight > 0}

    def _settings(self) -> dict[str, Any]:
        content, style = self.content.choice(), self.style.choice()
        weights = self.style_layer_weights()
        caption = (f"{content.name} + {style.name} · α/β {self.ratio.value:.0e} · content at {self.content_layer.value} · "
                   f"style at {_describe_weights(weights)} · from {self.init.value} · "
                   f"{self.optimizer.value} · {self.pooling.value} pooling · {self.size.value} px · {self.steps.value} steps")
        return {"content": content, "style": style, "weights": weights, "ratio": self.ratio.value, "layer": self.content_layer.value,
                "init": self.init.value, "optimizer": self.optimizer.value, "pooling": self.pooling.value, "size": self.size.value,
                "steps": self.steps.value, "caption": caption, "slug": f"{_stem(content)}_{_stem(style)}"}

    def objective(self, settings: dict[str, Any]) -> Objective:
        """The objective for ``settings``. The last one is reused, targets and all, when only α/β, init, optimiser or steps
        changed: the next Run starts at once."""
        key = tuple(settings[k] for k in ("content", "style", "size", "pooling", "layer")) + tuple(settings["weights"].items())
        if self._objective is None or self._objective[0] != key:
            content, style = settings["content"].load(settings["size"]), settings["style"].load(settings["size"])
            self.content.show(content)
            self.style.show(style)
            objective = Objective(network(settings["pooling"]), content, style, content_layers=[settings["layer"]], style_layers=settings["weights"])
            self._objective = key, objective
        objective = self._objective[1]
        objective.style_weight = default_style_weight(*objective.shape[-2:]) * 1e-3 / settings["ratio"]  # alpha = 1; 1e-3 is the paper's
        return objective

    def _optimise(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:
        return _optimise_objective(self.objective(settings), settings, callback, self._stop, init=settings["init"], optimizer=settings["optimizer"])


def _describe_weights(weights: Mapping[str, float]) -> str:
    """'relu1_1-relu5_1' for equal weights on consecutive style layers, else each layer with its weight."""
    names, values = list(weights), list(weights.values())
    if max(values) - min(values) > 1e-9:
        return ", ".join(f"{name} {weight:.2f}" for name, weight in weights.items())
    first = STYLE_LAYERS.index(names[0]) if names[0] in STYLE_LAYERS else -1
    if len(names) > 2 and first >= 0 and tuple(names) == STYLE_LAYERS[first : first + len(names)]:
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)


def feature_explorer(vgg: VGG | None = None) -> FeatureExplorer:
    """Notebook 1: an image, a layer and a channel; its activation map and its maximising image."""
    return FeatureExplorer(vgg)


def content_explorer(vgg: VGG | None = None) -> ContentExplorer:
    """Notebook 2: the content layer and the steps; watch the reconstruction form."""
    return ContentExplorer(vgg)


def style_explorer(vgg: VGG | None = None) -> StyleExplorer:
    """Notebook 3: tick style layers; watch the texture form."""
    return StyleExplorer(vgg)


def transfer_explorer(vgg: VGG | None = None) -> TransferExplorer:
    """Notebook 4 and explorer.ipynb: the whole style transfer, every setting a control."""
    return TransferExplorer(vgg)
