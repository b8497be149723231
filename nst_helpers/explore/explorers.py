"""The four explorers, one per notebook, built on the package's public functions.

`FeatureExplorer` (notebook 1: activation maps and maximising images), `ContentExplorer` (2: reconstruction
from one layer), `StyleExplorer` (3: texture from Gram matrices) and `TransferExplorer` (4 and explorer.ipynb:
the whole transfer). Each builds its controls, reads them in `_settings` and runs in `_optimize` (see `Explorer`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import ipywidgets as W
import torch

from ..errors import NSTError, ParameterError
from ..featviz import receptive_field, render
from ..objective import PAPER_RATIO, Objective, style_weight_for_ratio
from ..optimize import optimize_image
from ..vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG, layer_channels
from .base import Callback, Explorer, network, preload
from .controls import (
    ImagePicker,
    box,
    heatmap,
    labelled,
    layer_dropdown,
    placeholder,
    size_slider,
    slider,
    steps_slider,
)


def _optimize_objective(objective: Objective, settings: Mapping[str, Any], callback: Callback, stop: threading.Event,
                        **options: Any) -> tuple[torch.Tensor, str | None]:
    """`optimize_image` under an explorer: no progress bar, its callback, and Stop honoured before step 1."""
    if stop.is_set():
        image = objective.content_image if objective.content_image is not None else objective.style_image
        return image, "stopped before step 1"
    result = optimize_image(objective, steps=settings["steps"], progress=False, callback=callback, **options)
    return result.image, result.stopped


# --- notebook 1: activation maps and maximising images ---------------------------------------------------------------


class FeatureExplorer(Explorer):
    """Pick an image, a layer and a channel: its activation map, and (Run) the image that excites it most."""

    name = "feature"
    log_loss = False

    def __init__(self, vgg: VGG | None = None) -> None:
        super().__init__("Feature explorer: what one channel responds to", vgg)
        self.picker = ImagePicker("image", ("content", "style"), "chelsea.png", on_error=self._error)
        self.layer = layer_dropdown("conv3_1")
        self.channel = slider(W.IntSlider, "channel", value=0, min=0, max=255)
        self.steps = steps_slider(self.profile.steps)
        self.activation = W.Image(value=placeholder(), format="png",
                                  layout=W.Layout(width="160px", object_fit="contain"))
        self.activation_caption = W.HTML()
        self._request = 0  # activation-map requests so far
        self.layer.observe(lambda _: self._layer_changed(), "value")
        for control in (self.picker.dropdown, self.picker.upload, self.picker.url, self.channel):
            control.observe(lambda _: self.update_activation(), "value")
        self._layer_changed()
        controls = [box("image", [self.picker.widget]), box("unit", [self.layer, self.channel]),
                    box("maximise", [self.steps])]
        self._assemble(controls, [W.VBox([self.activation, self.activation_caption])])

    def _layer_changed(self) -> None:
        self.channel.max = layer_channels(self.layer.value) - 1  # may clamp the channel (and so update the map)
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
                features = network("max")(image, [layer])[layer][0, channel].clamp(min=0)  # rectified, as by its ReLU
        except NSTError as err:
            return self._error(str(err)) if request == self._request else None
        if request == self._request:
            self.picker.show(image)
            self.activation.value = heatmap(features)
            field = receptive_field(layer)
            self.activation_caption.value = (f"<small>{layer} #{channel} on this image<br>"
                                             f"{features.shape[-1]}x{features.shape[-2]} positions, each seeing "
                                             f"{field}x{field} px; mean {features.mean():.3g}</small>")

    def _settings(self) -> dict[str, Any]:
        layer, channel = self.layer.value, self.channel.value
        return {"layer": layer, "channel": channel, "steps": self.steps.value, "size": min(self.profile.size, 128),
                "caption": f"{layer} #{channel} · {self.steps.value} steps", "slug": f"{layer}_{channel}"}

    def _optimize(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:
        """Activation maximisation with `featviz.render`, the preview following each step."""
        if self._stop.is_set():
            return torch.full((1, 3, settings["size"], settings["size"]), 0.5), "stopped before step 1"
        result = render(network("max"), settings["layer"], settings["channel"], size=settings["size"],
                                steps=settings["steps"], callback=callback)
        done = len(result.history)
        return result.images, (f"stopped at step {done}" if done < settings["steps"] else None)


# --- notebooks 2 and 3: an image rebuilt from noise, from its content or its style -----------------------------------


class _Reconstruction(Explorer):
    """An image rebuilt from noise to match one image's targets at chosen layers: what the content and style
    explorers share. A subclass adds its layer controls (`_controls`), reads them (`_layers`), describes them in
    the caption (`_describe`) and builds the objective (`_objective`); ``options`` go to `optimize_image`."""

    options: Mapping[str, Any] = {}

    def __init__(self, title: str, vgg: VGG | None, label: str, default: str, precision: str | None) -> None:
        super().__init__(title, vgg, precision)
        preload("avg")
        self.picker = ImagePicker(label, (self.name,), default, on_error=self._error)  # name: 'content' or 'style'
        self.steps = steps_slider(self.profile.steps)
        self.size = size_slider(self.profile.size)
        self._assemble([box("image", [self.picker.widget]), *self._controls()])

    def _settings(self) -> dict[str, Any]:
        source, layers = self.picker.choice(), self._layers()
        steps, size = self.steps.value, self.size.value
        return {"source": source, "layers": layers, "steps": steps, "size": size,
                "caption": f"{source.name} · {self._describe(layers)} · {steps} steps · {size} px",
                "slug": f"{source.stem}_{layers[-1]}"}

    def _optimize(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:
        image = settings["source"].load(settings["size"])
        self.picker.show(image)
        objective = self._objective(image, settings["layers"])
        return _optimize_objective(objective, settings, callback, self._stop, **self.options)


class ContentExplorer(_Reconstruction):
    """Pick a content layer and a step count: watch an image form from noise to match that layer's features."""

    name = "content"
    options = {"init": "noise", "optimizer": "lbfgs"}

    def __init__(self, vgg: VGG | None = None, precision: str | None = None) -> None:
        super().__init__("Content explorer: an image rebuilt from one layer's features", vgg, "photo", "chelsea.png",
                         precision)

    def _controls(self) -> list[W.Widget]:
        self.layer = layer_dropdown(CONTENT_LAYERS[0], "layer")
        return [box("reconstruction", [self.layer, self.steps, self.size])]

    def _layers(self) -> list[str]:
        return [self.layer.value]

    def _describe(self, layers: list[str]) -> str:
        return f"from {layers[0]}"

    def _objective(self, image: torch.Tensor, layers: list[str]) -> Objective:
        return Objective(network("avg"), content=image, content_layers=layers, precision=self.precision)


class StyleExplorer(_Reconstruction):
    """Tick style layers: watch a texture form from noise to match their Gram matrices."""

    name = "style"
    options = {"init": "noise", "optimizer": "adam", "lr": 0.1}  # as notebook 3

    def __init__(self, vgg: VGG | None = None, precision: str | None = None) -> None:
        super().__init__("Style explorer: texture from Gram matrices", vgg, "style", "starry_night.jpg", precision)

    def _controls(self) -> list[W.Widget]:
        self.layers = {name: W.Checkbox(value=True, description=name, indent=False, layout=W.Layout(width="90px"))
                       for name in STYLE_LAYERS}
        ticks = W.GridBox(list(self.layers.values()), layout=W.Layout(grid_template_columns="repeat(3, 95px)"))
        return [box("style layers", [ticks]), box("optimisation", [self.steps, self.size])]

    def _layers(self) -> list[str]:
        layers = [name for name, tick in self.layers.items() if tick.value]
        if not layers:
            raise ParameterError("tick at least one style layer")
        return layers

    def _describe(self, layers: list[str]) -> str:
        if len(layers) > 2:
            return f"{layers[0]} ... {layers[-1]}"
        return " + ".join(layers)

    def _objective(self, image: torch.Tensor, layers: list[str]) -> Objective:
        return Objective(network("avg"), style=image, style_layers=layers, precision=self.precision)


# --- notebook 4 and explorer.ipynb: style transfer -------------------------------------------------------------------


class TransferExplorer(Explorer):
    """The whole transfer: images, the content/style ratio, layers and their weights, init, optimiser, pooling,
    size and steps."""

    name = "transfer"

    def __init__(self, vgg: VGG | None = None, precision: str | None = None) -> None:
        super().__init__("Style transfer explorer", vgg, precision)
        preload("avg")
        self.content = ImagePicker("content", ("content",), "astronaut.png", on_error=self._error)
        self.style = ImagePicker("style", ("style",), "starry_night.jpg", on_error=self._error)
        self.ratio = slider(W.FloatLogSlider, "α/β", value=PAPER_RATIO, base=10, min=-6, max=0, step=0.25,
                            readout_format=".0e")
        self.content_layer = layer_dropdown(CONTENT_LAYERS[0], "content at")
        self.style_checks = {name: W.Checkbox(value=True, description=name, indent=False, layout=W.Layout(width="80px"))
                             for name in STYLE_LAYERS}
        self.style_weights = {name: W.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, continuous_update=False,
                                                  readout_format=".2f", layout=W.Layout(width="190px"))
                              for name in STYLE_LAYERS}
        self.init = W.Dropdown(options=["content", "style", "noise", "uniform"], value="content", description="init",
                               style={"description_width": "70px"}, layout=W.Layout(width="200px"))
        self.optimizer = W.ToggleButtons(options=["lbfgs", "adam"], value="lbfgs", style={"button_width": "64px"})
        self.pooling = W.ToggleButtons(options=["avg", "max"], value="avg", style={"button_width": "64px"})
        self.size = size_slider(self.profile.size)
        self.steps = steps_slider(self.profile.steps)
        self._objective: tuple[tuple, Objective] | None = None  # the last objective, with the settings it was built for
        style_rows = [W.HBox([self.style_checks[name], self.style_weights[name]]) for name in STYLE_LAYERS]
        style_title = W.HTML("<small>style layers, relative weights</small>")
        optimizer, pooling = labelled("optimizer", self.optimizer), labelled("pooling", self.pooling)
        self._assemble([
            box("images", [self.content.widget, self.style.widget]),
            box("weights and layers", [self.ratio, self.content_layer, style_title, *style_rows]),
            box("optimisation", [self.init, optimizer, pooling, self.size, self.steps]),
        ])

    def style_layer_weights(self) -> dict[str, float]:
        """The ticked style layers and their weights, scaled to sum to 1 (the paper's w_l = 1/5 when all five are
        ticked)."""
        chosen = {name: self.style_weights[name].value for name, tick in self.style_checks.items() if tick.value}
        total = sum(chosen.values())
        if not chosen or total <= 0:
            raise ParameterError("tick at least one style layer with a weight above 0")
        return {name: weight / total for name, weight in chosen.items() if weight > 0}

    def _settings(self) -> dict[str, Any]:
        content, style = self.content.choice(), self.style.choice()
        weights = self.style_layer_weights()
        settings = {"content": content, "style": style, "weights": weights, "ratio": self.ratio.value,
                    "layer": self.content_layer.value, "init": self.init.value, "optimizer": self.optimizer.value,
                    "pooling": self.pooling.value, "size": self.size.value, "steps": self.steps.value}
        caption = (f"{content.name} + {style.name} · α/β {settings['ratio']:.0e} · content at {settings['layer']} · "
                   f"style at {_describe_weights(weights)} · from {settings['init']} · {settings['optimizer']} · "
                   f"{settings['pooling']} pooling · {settings['size']} px · {settings['steps']} steps")
        return {**settings, "caption": caption, "slug": f"{content.stem}_{style.stem}"}

    def objective(self, settings: dict[str, Any]) -> Objective:
        """The objective for ``settings``. The last one is reused, targets and all, when only α/β, init, optimiser
        or steps changed: the next Run starts at once."""
        key = (*(settings[k] for k in ("content", "style", "size", "pooling", "layer")), *settings["weights"].items())
        if self._objective is None or self._objective[0] != key:
            content, style = settings["content"].load(settings["size"]), settings["style"].load(settings["size"])
            self.content.show(content)
            self.style.show(style)
            objective = Objective(network(settings["pooling"]), content, style, content_layers=[settings["layer"]],
                                  style_layers=settings["weights"], precision=self.precision)
            self._objective = key, objective
        objective = self._objective[1]
        objective.style_weight = style_weight_for_ratio(settings["ratio"], *objective.shape[-2:])  # alpha = 1
        return objective

    def _optimize(self, settings: dict[str, Any], callback: Callback) -> tuple[torch.Tensor, str | None]:
        return _optimize_objective(self.objective(settings), settings, callback, self._stop, init=settings["init"],
                                   optimizer=settings["optimizer"])


def _describe_weights(weights: Mapping[str, float]) -> str:
    """'relu1_1-relu5_1' for equal weights on consecutive style layers, else each layer with its weight."""
    names, values = list(weights), list(weights.values())
    if max(values) - min(values) > 1e-9:
        return ", ".join(f"{name} {weight:.2f}" for name, weight in weights.items())
    first = STYLE_LAYERS.index(names[0]) if names[0] in STYLE_LAYERS else -1
    if len(names) > 2 and first >= 0 and tuple(names) == STYLE_LAYERS[first : first + len(names)]:
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)
