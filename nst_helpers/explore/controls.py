"""The controls the explorers are built from: the image picker (a shipped image, an uploaded file or a URL),
sliders, layer menus and framed boxes; and the pictures they show, as PNG bytes (`png`, `placeholder`,
`heatmap`).
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from ..errors import ImageError, NSTError
from ..folders import shipped_images
from ..images import decode_image, load_image, to_pil
from ..vgg import layer_names


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
    shape = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return png(picture.resize(shape, Image.Resampling.NEAREST))



@dataclass(frozen=True)
class Source:
    """One chosen image: ``kind`` is 'shipped', 'upload' or 'url'; ``data`` is a path, bytes or a URL."""

    kind: str
    name: str
    data: Any

    def load(self, size: int) -> torch.Tensor:
        """The image, ``size`` px on its long side; raises an `NSTError` with a one-line message."""
        data = decode_image(self.data, self.name, size) if self.kind == "upload" else self.data
        return load_image(data, size=size)

    @property
    def stem(self) -> str:
        """A short, file-name-safe name for the image."""
        stem = Path(self.name.split("?")[0].rstrip("/")).stem or "image"
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:40]


class ImagePicker:
    """Choose an image: a shipped one (dropdown), a file (upload) or a URL. The last one touched is used."""

    def __init__(self, label: str, kinds: Sequence[str], default: str | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.label, self.on_error = label, on_error or (lambda text: None)
        self.choices = shipped_images(*kinds)
        names = list(self.choices)
        self.dropdown = W.Dropdown(options=names, value=default if default in names else (names[0] if names else None),
                                   layout=W.Layout(width="150px"))  # blank while a file or a URL is in use
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="file", layout=W.Layout(width="150px"))
        self.url = W.Text(placeholder="or an image URL", continuous_update=False, layout=W.Layout(width="150px"))
        self.thumbnail = W.Image(value=placeholder(), format="png",
                                 layout=W.Layout(width="64px", height="64px", object_fit="contain"))
        self.using = W.HTML(layout=W.Layout(width="220px"))
        self.source: Source | None = None
        self._last_shipped: str | None = None
        self.dropdown.observe(lambda _: self._use_shipped(), "value")
        self.upload.observe(lambda _: self._use_upload(), "value")
        self.url.observe(lambda _: self._use_url(), "value")
        self._use_shipped()
        title = W.HTML(f"<b>{html.escape(label)}</b>", layout=W.Layout(width="64px"))
        choices = W.VBox([self.dropdown, self.upload, self.url, self.using])
        self.widget = W.HBox([W.VBox([title, self.thumbnail]), choices])

    def _set(self, source: Source | None) -> None:
        self.source = source
        text = f"using: {html.escape(source.name)}" if source else "no image chosen"
        self.using.value = f"<small>{text}</small>"

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


def box(title: str, children: Sequence[W.Widget], width: str = "auto") -> W.VBox:
    """``children`` in a framed box headed ``title``."""
    return W.VBox([W.HTML(f"<b>{html.escape(title)}</b>"), *children],
                  layout=W.Layout(width=width, padding="4px 8px", border="1px solid #ddd", margin="0 6px 6px 0"))


def labelled(label: str, widget: W.Widget) -> W.HBox:
    """A widget with a label at the left, aligned with the sliders' descriptions."""
    text = W.HTML(f"<div style='text-align:right;padding-right:8px'>{html.escape(label)}</div>",
                  layout=W.Layout(width="78px"))
    return W.HBox([text, widget], layout=W.Layout(align_items="center"))


def slider(cls: type, description: str, **kwargs: Any) -> W.Widget:
    """A slider of class ``cls`` that updates on release, its description in the explorers' column width."""
    return cls(description=description, continuous_update=False, style={"description_width": "70px"},
               layout=W.Layout(width="280px"), **kwargs)


def steps_slider(default: int) -> W.IntSlider:
    """Optimisation steps, from 1 to five times ``default`` (at least 100)."""
    steps = slider(W.IntSlider, "steps", value=default, min=1, max=max(100, 5 * default))
    steps.add_class("nst-steps")
    return steps


def size_slider(default: int) -> W.IntSlider:
    """The image's long side in px, from 32 to 512 (or ``default``, if larger) in steps of 16."""
    return slider(W.IntSlider, "size (px)", value=default, min=32, max=max(512, default), step=16)


def layer_dropdown(default: str, description: str = "layer") -> W.Dropdown:
    """The VGG19 layers of the default's kind: convolutions (conv3_1), or convolutions after their ReLU (relu4_2)."""
    kind = default.rstrip("_0123456789")
    options = [name for name in layer_names("vgg19") if name.startswith(kind)]
    return W.Dropdown(options=options, value=default, description=description, style={"description_width": "70px"},
                      layout=W.Layout(width="200px"))
