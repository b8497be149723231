"""The machinery every explorer shares: a background thread, Run / Stop / Save, the live preview and loss curve.

`Explorer` runs a subclass's optimisation in a background thread, so the kernel stays responsive: the preview
and the loss curve update on step 1 and then every second or so, Stop ends the run within one step, a second
Run while one is going is refused with a message, and a problem shows as one line, not a traceback. The
explorers share one network per pooling (`network`).
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
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import NSTError
from ..folders import output_dir
from ..images import image_writer
from ..optimize import Result
from ..plotting import plot_terms
from ..profiles import profile
from ..saving import save_new
from ..vgg import VGG
from .controls import placeholder, png

Callback = Callable[[int, torch.Tensor, dict[str, float]], bool]

PREVIEW_SECONDS = 1.0  # the preview updates on step 1, on the last step, and at most this often in between
KEEP_RUNS = 4  # runs kept side by side for comparison
PREVIEW_PX = 256  # displayed width of the preview and the loss plot

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



def loss_plot(history: Mapping[str, Sequence[float]], log: bool = True) -> bytes:
    """A small figure of every loss term in ``history`` over the steps (`plot_terms`), as PNG bytes.

    Drawn on a bare matplotlib Figure (no pyplot), so it is safe in a background thread and never
    shows up in the notebook by itself.
    """
    with _PLOT_LOCK:  # matplotlib is not thread-safe (its mathtext parser is shared): one figure at a time
        fig = Figure(figsize=(3.6, 2.7), dpi=80)
        plot_terms(history, fig.add_subplot(), log)
        fig.tight_layout()
        buffer = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buffer)
        return buffer.getvalue()


_PLOT_LOCK = threading.Lock()


@dataclass(kw_only=True)
class Run(Result):
    """A finished (or stopped) run, kept for comparison: its `Result`, with its settings in words and in a file name."""

    caption: str
    slug: str


class Explorer:
    """Run / Stop / Save, a live preview and loss curve, a one-line message, and the last runs side by side.

    A subclass builds its controls, then calls `_assemble`; it implements `_settings` (read the controls,
    in the kernel's thread) and `_optimize` (do the run, in a background thread, calling ``callback``
    after every step). ``precision`` goes to the objectives it builds (None: `$NST_PRECISION`, else 'auto').
    """

    name = "explorer"
    log_loss = True

    def __init__(self, title: str, vgg: VGG | None = None, precision: str | None = None) -> None:
        self.title, self.profile, self.precision = title, profile(), precision
        if vgg is not None:
            _NETWORKS.setdefault(vgg.pooling, vgg)
        self.output_dir = output_dir()
        self.preview = W.Image(value=placeholder(), format="png",
                               layout=W.Layout(width=f"{PREVIEW_PX}px", object_fit="contain"))
        self.loss_plot = W.Image(value=loss_plot({}), format="png", layout=W.Layout(width=f"{PREVIEW_PX + 32}px"))
        self.preview.add_class("nst-preview")
        self.loss_plot.add_class("nst-loss")
        self.status = W.HTML("<small>press Run</small>")
        self.message = W.HTML()
        self.message_text = ""  # the message line as plain text
        self.message.add_class("nst-message")
        width = W.Layout(width="90px")
        self.run_button = W.Button(description="Run", icon="play", button_style="success", layout=width)
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="danger", disabled=True, layout=width)
        self.save_button = W.Button(description="Save", icon="save", disabled=True, layout=width)
        actions = ((self.run_button, self.run), (self.stop_button, self.stop), (self.save_button, self.save))
        for button, action in actions:
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
        header = W.HTML(f"<h3 style='margin:4px 0'>{html.escape(self.title)}</h3>"
                        f"<small>{html.escape(str(self.profile))}</small>")
        buttons = W.HBox([self.run_button, self.stop_button, self.save_button, self.status],
                         layout=W.Layout(align_items="center"))
        shown = W.HBox([*views, self.preview, self.loss_plot],
                       layout=W.Layout(align_items="flex-start", grid_gap="12px"))
        last = W.VBox([W.HTML("<b>last runs</b> (newest first)"), self.compare])
        panel = W.HBox(list(controls), layout=W.Layout(flex_flow="row wrap"))
        self.widget = W.VBox([header, panel, buttons, self.message, shown, last])

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
        """True while a run's thread is going."""
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
            image, stopped = self._optimize(settings, self._callback)
            if self.step == 0:  # stopped before the first step: nothing to show or keep
                self.say("Stopped before the first step.")
                return
            self.image = image.detach().cpu()
            self._show(self.step, self.image)
            seconds = time.perf_counter() - self._started
            self._keep(Run(self.image, dict(self.history), steps=self.step, seconds=seconds, stopped=stopped,
                           caption=settings["caption"], slug=settings["slug"]))
            if stopped:
                self.say(f"Stopped at step {self.step} of {self.total}: the image so far is kept.")
            else:
                self.say(f"Done: {self.step} steps in {seconds:.1f} s.")
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
        thumbnail = W.Image(value=png(run.image), format="png", layout=W.Layout(width="128px", object_fit="contain"))
        return W.VBox([thumbnail, W.HTML(caption, layout=W.Layout(width="170px"))],
                      layout=W.Layout(margin="0 10px 0 0"))

    def save(self) -> Path | None:
        """Write the last result to ``output_dir`` (``outputs/``) as PNG (`saving.save_new`); returns the path."""
        if self.image is None:
            self.say("Nothing to save yet: press Run first.", "warning")
            return None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            name = f"{self.name}_{self.runs[0].slug}_{stamp}.png"
            path, problem = save_new(self.output_dir / name, image_writer(self.image))
        except NSTError as err:
            self._error(f"could not save: {err}")
            return None
        self.say(f"{problem}; saved {path} instead" if problem else f"Saved {path}", "warning" if problem else "info")
        return path

    def _settings(self) -> dict[str, Any]:  # pragma: no cover - each explorer has its own
        raise NotImplementedError

    def _optimize(  # pragma: no cover
        self, settings: dict[str, Any], callback: Callback
    ) -> tuple[torch.Tensor, str | None]:
        raise NotImplementedError

