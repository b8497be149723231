"""The image-optimisation loop shared by content reconstruction, style reconstruction and transfer.

All three optimise the pixels of an image so that its VGG features match targets: feature maps
(content), Gram matrices (style), or both. An `Objective` holds the targets; `optimize_image` runs
L-BFGS or Adam on the pixels, records each loss term, and keeps snapshots.
"""

from __future__ import annotations

import bisect
import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from .errors import ParameterError, ResourceError
from .losses import Normalization, content_loss, gram_matrix, style_loss, total_variation
from .profiles import free_memory
from .vgg import CONTENT_LAYERS, STYLE_LAYERS, VGG

Losses = dict[str, torch.Tensor]

# The paper's ratio alpha/beta = 1e-3, for images of about 512 x 512 px. The content loss is a sum over
# pixels and the style loss is not, so the same look at another size needs beta scaled with the pixel count.
PAPER_STYLE_WEIGHT = 1e3
PAPER_PIXELS = 512 * 512


def default_style_weight(height: int, width: int) -> float:
    """The paper's beta (alpha = 1) scaled to an image of ``height`` x ``width`` px."""
    return PAPER_STYLE_WEIGHT * height * width / PAPER_PIXELS


def _check_weight(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_whole(name: str, value: object, low: int) -> None:
    if not _is_whole(value) or value < low:
        raise ParameterError(f"{name} must be a whole number >= {low}, got {value!r}")


def _network_input(vgg: VGG, image: torch.Tensor | None, name: str) -> torch.Tensor | None:
    """``image`` on the network's device and in its dtype (float64 images work); anything else is refused."""
    if image is None:
        return None
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        kind = image.dtype if isinstance(image, torch.Tensor) else type(image).__name__
        raise ParameterError(f"the {name} image must be a float tensor in [0, 1], got {kind}; use load_image")
    if not torch.isfinite(image).all():
        raise ParameterError(f"the {name} image has NaN or infinite values")
    return image.to(vgg.device, vgg.mean.dtype)


class Objective:
    """Match the content image's feature maps and the style image's Gram matrices.

    Calling it on an image returns the weighted loss terms, e.g. ``{"content": a*Lc, "style": b*Ls}``.
    Give only ``content`` for content reconstruction, only ``style`` for style reconstruction, both
    for style transfer. Targets are computed once, here. ``style_weight`` defaults to the paper's
    alpha/beta = 1e-3 at 512 px, scaled to this image's pixel count (`default_style_weight`).
    """

    def __init__(
        self,
        vgg: VGG,
        content: torch.Tensor | None = None,
        style: torch.Tensor | None = None,
        content_layers: Iterable[str] = CONTENT_LAYERS,
        style_layers: Iterable[str] | Mapping[str, float] = STYLE_LAYERS,
        content_weight: float = 1.0,
        style_weight: float | None = None,
        tv_weight: float = 0.0,
        normalization: Normalization = "paper",
    ) -> None:
        if content is None and style is None:
            raise ParameterError("an objective needs a content image, a style image, or both")
        self.vgg, self.normalization = vgg, normalization
        self.content_image = _network_input(vgg, content, "content")
        self.style_image = _network_input(vgg, style, "style")
        self.content_weight = _check_weight("content_weight", content_weight)
        self.shape = (self.content_image if content is not None else self.style_image).shape
        if style_weight is None:
            style_weight = default_style_weight(*self.shape[-2:])
        self.style_weight = _check_weight("style_weight", style_weight)
        self.tv_weight = _check_weight("tv_weight", tv_weight)

        self.content_layers = vgg.check_layers(content_layers) if content is not None else []
        if isinstance(style_layers, Mapping):
            self.style_layer_weights = {k: _check_weight(f"weight of {k}", v) for k, v in style_layers.items()}
        else:
            names = vgg.check_layers(style_layers) if style is not None else []
            self.style_layer_weights = {name: 1 / len(names) for name in names}
        self.style_layers = vgg.check_layers(self.style_layer_weights) if style is not None else []
        self.layers = list(dict.fromkeys(self.content_layers + self.style_layers))

        for image in (self.content_image, self.style_image):  # before the first forward pass
            if image is not None:
                check_memory(vgg, *image.shape[-2:], self.layers)
        with torch.no_grad():
            self.content_targets = vgg(self.content_image, self.content_layers) if self.content_layers else {}
            self.style_targets = self.style_statistics(vgg(self.style_image, self.style_layers)) if self.style_layers else {}

    def style_statistics(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The style targets from the style image's feature maps: Gram matrices, rescaled to the output's pixel
        count (Gram matrices grow with it). Subclasses with another definition of style override this and `style_term`."""
        pixels = self.shape[-1] * self.shape[-2] / (self.style_image.shape[-1] * self.style_image.shape[-2])
        return {k: gram_matrix(f) * pixels for k, f in features.items()}

    def style_term(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """The unweighted style loss of an image's feature maps against the targets: the paper's sum_l w_l E_l."""
        return style_loss(features, self.style_targets, self.style_layer_weights, self.normalization)

    @property
    def device(self) -> torch.device:
        return self.vgg.device

    @property
    def dtype(self) -> torch.dtype:
        return self.vgg.mean.dtype

    def __call__(self, image: torch.Tensor) -> Losses:
        feats = self.vgg(image, self.layers)
        terms = {}
        if self.content_layers:
            lc = sum(content_loss(feats[k], t, self.normalization) for k, t in self.content_targets.items())
            terms["content"] = self.content_weight * lc / len(self.content_layers)
        if self.style_layers:
            terms["style"] = self.style_weight * self.style_term(feats)
        if self.tv_weight:
            terms["tv"] = self.tv_weight * total_variation(image)
        return terms


@dataclass
class Result:
    """What `optimize_image` returns. ``stopped`` says why a run ended early (None if it ran all steps)."""

    image: torch.Tensor
    history: dict[str, list[float]]
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    stopped: str | None = None


class _NonFinite(Exception):
    pass


def initial_image(objective: Objective, init: str | torch.Tensor = "noise", seed: int = 0) -> torch.Tensor:
    """The starting image: 'content', 'style', seeded uniform 'noise', or a given tensor."""
    if isinstance(init, torch.Tensor):
        device, dtype = getattr(objective, "device", init.device), getattr(objective, "dtype", init.dtype)
        return init.detach().clone().to(device, dtype).clamp(0, 1)
    if init == "content" or init == "style":
        image = getattr(objective, f"{init}_image", None)
        if image is None:
            raise ParameterError(f"init={init!r} needs an objective with a {init} image")
        if init == "style" and image.shape != objective.shape:
            image = torch.nn.functional.interpolate(image, size=objective.shape[-2:], mode="bilinear", antialias=True)
        return image.detach().clone()
    if init == "noise":
        if not hasattr(objective, "shape"):
            raise ParameterError("init='noise' needs an Objective, which knows the image's shape; pass a starting image tensor instead")
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(objective.shape, generator=generator).to(objective.device)
    raise ParameterError(f"unknown init {init!r}; use 'content', 'style', 'noise' or a tensor")


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def check_memory(vgg: VGG, height: int, width: int, layers: Iterable[str]) -> None:
    """Stop before a run at ``height`` x ``width`` px that would not fit in 80% of the free memory of ``vgg``'s
    device, naming the largest size (long side, rounded down to 16 px) that fits and that ``layers`` allow, or saying
    that none does."""
    free = free_memory(vgg.device)
    if free is None:
        return
    long, short = max(height, width), min(height, width)

    def need(side: int) -> int:
        return vgg.estimate_bytes(round(height * side / long), round(width * side / long), layers)

    if need(long) <= 0.8 * free:
        return
    smallest = math.ceil(vgg.min_size(layers) * long / short)  # the long side at which the short one is large enough
    sides = range(smallest, long)
    fitting = bisect.bisect_left(sides, True, key=lambda side: need(side) > 0.8 * free)  # need grows with the side
    fits = max(sides[fitting - 1] // 16 * 16, smallest) if fitting else None
    if fits is None:
        advice = f"no size fits: even {smallest} px, the smallest these layers allow, needs {_gib(need(smallest))}"
        advice += f", more than the {_gib(0.8 * free)} a run may use; free memory or use shallower layers"
    elif fits == smallest:
        advice = f"use a size of {fits} px, the smallest these layers allow"
    else:
        advice = f"use a size of {fits} px or less"
    raise ResourceError(
        f"a {width}x{height} px run needs about {_gib(need(long))} but {_gib(free)} is free on {vgg.device}; {advice}"
    )


def _make_optimizer(name: str, image: torch.Tensor, lr: float | None, steps: int):
    if name == "lbfgs":
        # max_iter=1: one step is one evaluation. Tolerances 0: the run length is `steps`, nothing else.
        return torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=100, tolerance_grad=0, tolerance_change=0), None
    if name == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.02)
        milestones = [int(steps * 0.5), int(steps * 0.75)]
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.3)
    raise ParameterError(f"unknown optimizer {name!r}; use 'lbfgs' or 'adam'")


def optimize_image(
    objective: Callable[[torch.Tensor], Losses],
    init: str | torch.Tensor = "noise",
    steps: int = 100,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    seed: int = 0,
    snapshot_every: int = 0,
    progress: bool = True,
    callback: Callable[[int, torch.Tensor, dict[str, float]], bool | None] | None = None,
) -> Result:
    """Optimise an image's pixels to minimise the sum of ``objective(image)``'s terms.

    One step is one loss + gradient evaluation. After every step the pixels are clamped to [0, 1] (a
    projection), so every image evaluated, recorded, shown or returned is a valid image and the history
    is the loss of what you see. ``callback(step, image, losses)`` runs after each step; returning True
    stops the run. Ctrl-C (or a kernel interrupt), a NaN or infinite loss, and running out of memory after the first
    step all return the best image so far (before any step has finished: the starting image); ``stopped`` says why.
    """
    _check_whole("steps", steps, 1)
    _check_whole("snapshot_every", snapshot_every, 0)
    if not _is_whole(seed) or not -(2**63) <= seed < 2**64:
        raise ParameterError(f"seed must be a whole number that fits in 64 bits, got {seed!r}")
    number = isinstance(lr, (int, float)) and not isinstance(lr, bool)
    if lr is not None and not (number and math.isfinite(lr) and lr > 0):
        raise ParameterError(f"lr must be a finite number > 0, got {lr!r}")
    if isinstance(objective, Objective):
        check_memory(objective.vgg, *objective.shape[-2:], objective.layers)
    image = initial_image(objective, init, seed).requires_grad_(True)
    opt, schedule = _make_optimizer(optimizer, image, lr, steps)
    history: dict[str, list[float]] = {"total": [], "time": []}
    best = {"loss": math.inf, "image": image.detach().clone()}
    snapshots = [(0, image.detach().cpu().clone())] if snapshot_every else []
    start = time.perf_counter()
    # L-BFGS minimises the loss divided by its starting value. The minimum is the same, but PyTorch's L-BFGS takes
    # a plain gradient step of length lr whenever it has no usable curvature estimate yet, and on a loss of 1e10
    # that step throws the pixels far out of range (the run never recovers). Adam does not care about scale.
    scale = {"value": None if optimizer == "lbfgs" else 1.0}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        terms = objective(image)
        total = terms if isinstance(terms, torch.Tensor) else sum(terms.values())
        if not torch.isfinite(total):
            raise _NonFinite(f"{total.item()}")
        if scale["value"] is None:
            scale["value"] = max(total.item(), 1e-12)
        (total / scale["value"]).backward()
        for name, value in ({} if isinstance(terms, torch.Tensor) else terms).items():
            history.setdefault(name, []).append(value.item())
        history["total"].append(total.item())
        history["time"].append(time.perf_counter() - start)
        if total.item() < best["loss"]:
            best.update(loss=total.item(), image=image.detach().clone())
        return total.detach() / scale["value"]

    def kept() -> str:
        """What a run that stops early returns."""
        if not history["total"]:
            return "the starting image (no step had finished)"
        return f"the best image so far (loss {best['loss']:.4g})"

    stopped, step = None, 0
    bar = tqdm(range(1, steps + 1), desc=f"{optimizer}", disable=not progress, leave=False)
    try:
        for step in bar:
            opt.step(closure)
            if schedule:
                schedule.step()
            # Projection. Unconstrained, L-BFGS drives pixels far outside [0, 1] (to -1 and 2 from noise): the loss it
            # reports is then that of an image nobody sees, and the clamped picture's loss is up to ~3x higher.
            with torch.no_grad():
                image.clamp_(0, 1)
            bar.set_postfix(loss=f"{history['total'][-1]:.4g}")
            if snapshot_every and (step % snapshot_every == 0 or step == steps):
                snapshots.append((step, image.detach().cpu().clone()))
            if callback and callback(step, image.detach().clone(), {k: v[-1] for k, v in history.items()}):
                stopped = f"stopped at step {step}"
                break
        final = image.detach()
    except KeyboardInterrupt:
        stopped = f"interrupted at step {step}: returning {kept()}"
        final, step = best["image"], max(step - 1, 0)
    except _NonFinite as err:
        stopped = f"loss became {err} at step {step}: kept {kept()}; lower the learning rate or the weights"
        final, step = best["image"], max(step - 1, 0)
    except (torch.OutOfMemoryError, MemoryError, RuntimeError) as err:
        if not isinstance(err, (torch.OutOfMemoryError, MemoryError)) and "allocate memory" not in str(err):
            raise
        h, w = image.shape[-2:]
        message = f"out of memory at {w}x{h} px on {image.device} (step {step}); "
        message += f"use a size of {max(h, w) // 2} px or less"
        if not history["total"]:
            raise ResourceError(message) from None
        stopped, final, step = f"{message}: returning {kept()}", best["image"], step - 1
    finally:
        bar.close()
    if stopped and not stopped.startswith("stopped"):
        warnings.warn(stopped, RuntimeWarning, stacklevel=2)
    return Result(final.cpu().clone(), history, snapshots, step, time.perf_counter() - start, stopped)


def optimize_multiscale(
    build: Callable[[int], Objective],
    sizes: Sequence[int],
    steps: int | Sequence[int],
    init: str | torch.Tensor = "content",
    **options,
) -> Result:
    """Coarse to fine: optimise at each size in turn, each stage starting from the last one's result, upsampled.

    ``build(size)`` returns the objective at that size (long side, px), e.g.
    ``lambda s: Objective(vgg, load_image(c, size=s), load_image(st, size=s))``. ``options`` go to
    `optimize_image`. Most of the structure forms cheaply at the small sizes; the last stage adds detail.
    """
    steps = [steps] * len(sizes) if isinstance(steps, int) else list(steps)
    if len(steps) != len(sizes):
        raise ParameterError(f"give one step count per size: {len(sizes)} sizes, {len(steps)} step counts")
    history: dict[str, list[float]] = {}
    snapshots, done, seconds, result = [], 0, 0.0, None
    for size, n in zip(sizes, steps):
        objective = build(size)
        if result is not None:
            init = torch.nn.functional.interpolate(result.image, size=objective.shape[-2:], mode="bilinear", align_corners=False)
        result = optimize_image(objective, init=init, steps=n, **options)
        for name, values in result.history.items():
            history.setdefault(name, []).extend([v + seconds for v in values] if name == "time" else values)
        snapshots += [(done + step, image) for step, image in result.snapshots]
        done, seconds = done + result.steps, seconds + result.seconds
        if result.stopped:
            break
    return Result(result.image, history, snapshots, done, seconds, result.stopped)
