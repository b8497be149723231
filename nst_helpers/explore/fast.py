"""The explorer's fast mode (notebook 6): a shipped style network paints the chosen photo in one pass.

No Run button: the preview follows the photo, the network and the size as they change. Each change stylises in a
background thread (a pass takes tens of milliseconds at 256 px on a CPU); only the latest request updates the
preview, so a slider dragged quickly never shows an older picture last.
"""

from __future__ import annotations

import html
import threading
import time
from datetime import datetime
from pathlib import Path

import ipywidgets as W
import torch

from ..errors import NSTError
from ..fast.network import TransformNet, load_network, shipped_networks, stylize
from ..folders import output_dir, shipped_images
from ..images import image_writer, load_image
from ..profiles import profile
from ..saving import save_new
from .base import PREVIEW_PX
from .controls import ImagePicker, box, placeholder, png, size_slider

DEFAULT_NETWORK = "starry_night"  # the network the fast mode opens with: the painting of notebooks 3-5


class FastExplorer:
    """Pick a photo, a shipped network and a size: the stylised photo appears at once, with the time it took."""

    def __init__(self) -> None:
        self.profile, self.output_dir = profile(), output_dir()
        self.networks = shipped_networks()
        self._loaded: dict[str, TransformNet] = {}
        self.picker = ImagePicker("photo", ("content",), "chelsea.png", on_error=self._error)
        names = list(self.networks)
        first = DEFAULT_NETWORK if DEFAULT_NETWORK in names else (names[0] if names else None)
        self.network = W.Dropdown(options=names, value=first,
                                  description="network", style={"description_width": "70px"},
                                  layout=W.Layout(width="220px"))
        self.size = size_slider(max(self.profile.size, 256))
        self.style = W.Image(value=placeholder(), format="png", layout=W.Layout(width="96px", object_fit="contain"))
        self.preview = W.Image(value=placeholder(), format="png",
                               layout=W.Layout(width=f"{PREVIEW_PX}px", object_fit="contain"))
        self.status, self.message = W.HTML(), W.HTML()
        self.message_text = ""
        self.save_button = W.Button(description="Save", icon="save", disabled=True, layout=W.Layout(width="90px"))
        self.save_button.on_click(lambda _: self.save())
        for name, widget in [("preview", self.preview), ("status", self.status), ("message", self.message),
                             ("save", self.save_button), ("size", self.size), ("network", self.network)]:
            widget.add_class(f"nst-fast-{name}")
        self.image: torch.Tensor | None = None
        self.updates = 0  # previews shown
        self._request, self._lock = 0, threading.Lock()
        for control in (self.picker.dropdown, self.picker.upload, self.picker.url, self.network, self.size):
            control.observe(lambda _: self.update(), "value")
        controls = W.HBox([box("photo", [self.picker.widget]), box("style network", [self.network, self.size,
                                                                                     self.style])],
                          layout=W.Layout(flex_flow="row wrap"))
        header = W.HTML("<h3 style='margin:4px 0'>Fast style transfer: one pass of a trained network</h3>")
        self.widget = W.VBox([header, controls, W.HBox([self.save_button, self.status]), self.message, self.preview])
        self._thread = self.update()

    def _repr_mimebundle_(self, **kwargs: object) -> object:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "Fast style transfer explorer (interactive: run the notebook in Jupyter to use it)"
        return bundle

    def say(self, text: str, colour: str = "#333") -> None:
        """Show one line (the first line of ``text``) under the Save button."""
        self.message_text = text.strip().splitlines()[0] if text.strip() else ""
        self.message.value = f"<span style='color:{colour}'>{html.escape(self.message_text)}</span>"

    def _error(self, text: str) -> None:
        self.say(text, "#b00020")

    def net(self, name: str) -> TransformNet:
        """The shipped network ``name``, loaded once."""
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = load_network(self.networks[name])
            return self._loaded[name]

    def update(self) -> threading.Thread | None:
        """Stylise the chosen photo with the chosen network at the chosen size, in a background thread (returned)."""
        if self.network.value is None:
            self._error("no shipped style networks found: make them with tools/train_fast_networks.py")
            return None
        self._request += 1
        thread = threading.Thread(target=self._stylize, args=(self._request,), name="nst-fast", daemon=True)
        thread.start()
        self._thread = thread
        return thread

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the latest update (at most ``timeout`` seconds); True if it has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def _stylize(self, request: int) -> None:
        name, size = self.network.value, self.size.value
        try:
            photo = self.picker.choice().load(size)
            net = self.net(name)
            start = time.perf_counter()
            image = stylize(net, photo)
            ms = (time.perf_counter() - start) * 1000
        except NSTError as err:
            return self._error(str(err)) if request == self._request else None
        if request != self._request:  # a newer request is on its way
            return
        self.image = image
        self.picker.show(photo)
        style = next((path for path in shipped_images("style").values() if path.stem == name), None)
        if style is not None:
            self.style.value = png(load_image(style, size=96))
        self.preview.value = png(image)
        self.updates += 1
        self.say("")
        self.save_button.disabled = False
        h, w = image.shape[-2:]
        self.status.value = f"<small>{name} · {w}x{h} px · {ms:.0f} ms</small>"

    def save(self) -> Path | None:
        """Write the stylised photo to ``outputs/`` as PNG (`saving.save_new`); returns the path."""
        if self.image is None:
            self._error("Nothing to save yet: pick a photo and a network first.")
            return None
        name = f"fast_{self.picker.choice().stem}_{self.network.value}_{datetime.now():%H%M%S}.png"
        try:
            path, problem = save_new(self.output_dir / name, image_writer(self.image))
        except NSTError as err:
            self._error(str(err))
            return None
        self.say(f"{problem}; saved {path} instead" if problem else f"Saved {path}", "#a15c00" if problem else "#333")
        return path
