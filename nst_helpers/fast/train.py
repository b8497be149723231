"""Training a transformation network with the losses of notebooks 2-4 (Johnson, Alahi & Fei-Fei 2016).

The optimisation of notebook 4 changes one image's pixels to lower the objective; here an `Objective` (the paper's
Gram losses at relu1_1 ... relu5_1 on the normalised VGG19, with Johnson et al.'s content layer relu2_2:
`fast_objective`) is lowered by changing the weights of a `TransformNet`, over many photos, so that afterwards one
forward pass stylises a photo it never saw.
Each step draws a batch of random square crops (random scale and position, flipped half of the time) from the
training photos and takes one Adam step. Every few steps the loss on a fixed batch of crops is measured and the
best weights so far are kept: an interrupt or a non-finite loss ends the run with them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..errors import ParameterError, ResourceError
from ..folders import images_dir, images_in, shipped_images
from ..objective import Objective, memory_shortfall, style_weight_for_ratio
from ..vgg import VGG
from .network import TransformNet, load_network, network_path

HELD_OUT = ("chelsea.png", "coffee.png")  # shipped photos no network is trained on: the test of generalisation
# The fast networks' objective (docs/design.md, "The fast networks"): the paper's style term on the normalised VGG19
# ('paper-mean', as `Objective`'s default), with Johnson et al.'s content layer, relu2_2, and alpha/beta = 5e-3. The
# paper's relu4_2 barely tells a stylised photo from a copy of the painting (its content loss is 0.7-0.9 times the
# copy's on a published network's pictures), so a network trained on it may paint the painting over the photo.
CONTENT_LAYERS = ["relu2_2"]
RATIO = 5e-3
NORMALIZATION = "paper-mean"
LAYERS = ["relu2_2", "relu5_1"]  # the content layer and the deepest style layer: VGG's pass stops at relu5_1


def training_vgg(device: str | torch.device | None = None) -> VGG:
    """The network the fast networks train on and are measured with: the normalised VGG19, as `Objective`'s."""
    return VGG(device=device)


def fast_objective(
    vgg: VGG, content: torch.Tensor, style: torch.Tensor, ratio: float = RATIO, tv_weight: float = 0.0,
    precision: str | None = None,
) -> Objective:
    """The objective a fast network is trained and measured on: `CONTENT_LAYERS`, the paper's style layers,
    `NORMALIZATION`, alpha/beta = ``ratio``. ``content`` may be a batch of photos (`per_image` then averages)."""
    return Objective(vgg, content, style, content_layers=CONTENT_LAYERS, normalization=NORMALIZATION,
                     style_weight=style_weight_for_ratio(ratio, *content.shape[-2:], NORMALIZATION),
                     tv_weight=tv_weight, precision=precision)


def per_image(terms: dict[str, torch.Tensor], n: int) -> dict[str, torch.Tensor]:
    """A batch's loss terms per image: the style term adds up each image's Gram losses, so it is divided by the
    batch's ``n``; the content and TV terms are already means over the batch."""
    return {k: v / n if k == "style" else v for k, v in terms.items()}


@dataclass(frozen=True)
class TrainingSettings:
    """One profile's training: photos (and the style image) loaded at ``size`` px (long side), square crops of
    ``crop`` px, ``batch`` crops a step, ``steps`` Adam steps at learning rate ``lr``, x 0.3 after half and again after
    three quarters of them (`optimize_image`'s schedule for Adam). ``zoom``: crops of a random side, resized to ``crop``
    px (`Crops`), else crops at the photos' own scale, the scale the network paints them at afterwards. ``ratio``:
    alpha/beta; ``warmup``: the style term's weight rises from 0 to full over that many first steps; ``start``: the
    shipped network (a style's name) that training starts from, else a new one."""

    size: int
    crop: int
    batch: int
    steps: int
    lr: float
    zoom: bool = True
    ratio: float = RATIO
    warmup: int = 0
    start: str | None = None


# Every profile's training settings, in this one place. quick: seconds on 2 CPU cores; lab: the notebook's run,
# about a minute and a half on 2 cores in fp32; paper: Johnson et al.'s 256 px crops, on a GPU. Trained from nothing
# for a minute a network learns 2-px stripes (they match the shallow layers' Gram matrices) or, with the style term at
# full weight from step 1, saturates; so quick and lab start from the shipped composition network, which already
# paints photos, with 10x RATIO's content weight: docs/design.md, "The fast networks".
TRAINING: dict[str, TrainingSettings] = {
    "quick": TrainingSettings(size=64, crop=32, batch=4, steps=100, lr=1e-3, ratio=10 * RATIO, start="composition"),
    "lab": TrainingSettings(size=256, crop=64, batch=4, steps=480, lr=1e-3, zoom=False, ratio=10 * RATIO,
                            start="composition"),
    "paper": TrainingSettings(size=512, crop=256, batch=4, steps=4000, lr=1e-3, warmup=1000),
}


def training_photos(held_out: Sequence[str] = HELD_OUT) -> list[Path]:
    """The shipped photos to train on: ``images/content`` but the held-out ones, and ``images/train``."""
    folder = images_dir()
    return [p for p in images_in(folder / "content") if p.name not in held_out] + images_in(folder / "train")


def style_image_path(name: str) -> Path:
    """The shipped style image of the style ``name`` (its file name without the suffix: 'starry_night')."""
    files = {Path(file).stem: path for file, path in shipped_images("style").items()}
    if name not in files:
        raise ParameterError(f"no shipped style image {name!r}; the shipped ones: {', '.join(files) or 'none'}")
    return files[name]


class Crops:
    """Random square crops of ``photos`` (image tensors, (1, 3, H, W)) of ``crop`` px, each at a random place, flipped
    left-right half of the time. With ``zoom``, each is a square of a random side between ``crop`` and the photo's
    short side, resized to ``crop`` px; without, a square of ``crop`` px as it is. Seeded: the same seed draws the
    same crops."""

    def __init__(self, photos: Sequence[torch.Tensor], crop: int, seed: int = 0, zoom: bool = True) -> None:
        small = [tuple(p.shape[-2:]) for p in photos if min(p.shape[-2:]) < crop]
        if not photos:
            raise ParameterError(f"crops of {crop} px need photos at least that large; got no photos")
        if small:
            h, w = min(small, key=min)
            raise ParameterError(f"crops of {crop} px need photos at least that large; {len(small)} of {len(photos)} "
                                 f"are smaller (the smallest {w}x{h} px): use smaller crops or larger photos")
        self.photos, self.crop, self.zoom = list(photos), crop, zoom
        self.generator = torch.Generator().manual_seed(seed)

    def _int(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def one(self) -> torch.Tensor:
        photo = self.photos[self._int(len(self.photos))]
        h, w = photo.shape[-2:]
        side = self.crop + self._int(min(h, w) - self.crop + 1) if self.zoom else self.crop
        top, left = self._int(h - side + 1), self._int(w - side + 1)
        square = photo[..., top : top + side, left : left + side]
        if side != self.crop:
            square = F.interpolate(square, size=(self.crop, self.crop), mode="bilinear", antialias=True)
        return square.flip(-1) if self._int(2) else square

    def batch(self, n: int) -> torch.Tensor:
        """``n`` crops, (n, 3, crop, crop), in [0, 1]."""
        return torch.cat([self.one() for _ in range(n)]).clamp(0, 1)


def check_training_memory(vgg: VGG, net: TransformNet, crop: int, batch: int) -> None:
    """Stop before training on ``batch`` crops of ``crop`` px a step that would not fit in 80% of the free memory of
    ``vgg``'s device (both networks' passes, kept for the backward pass), naming the largest batch that fits, or the
    largest crop if not even one crop fits."""

    def need(side: int, n: int) -> int:  # a batch needs in VGG what one taller image does
        return vgg.estimate_bytes(side * n, side, LAYERS) + net.estimate_bytes(side, side, n, training=True)

    shortfall = memory_shortfall(lambda n: need(crop, n), batch, vgg.device)
    if shortfall is None:
        return
    if shortfall.fits:
        advice = f"use a batch of {shortfall.fits} or less"
    else:
        smaller = memory_shortfall(lambda side: need(side, 1), crop, vgg.device, low=vgg.min_size(LAYERS))
        advice = f"use crops of {smaller.fits} px or less" if smaller and smaller.fits else "free memory"
    raise ResourceError(f"training on {batch} crops of {crop} px a step {shortfall} on {vgg.device}; {advice}")


@dataclass
class Training:
    """What `train` returns: the network with its best weights (lowest loss on the fixed batch), the loss terms of
    every step (per crop) and ``"time"``; the fixed batch's loss as (step, loss); the steps run, the seconds, the
    photos and crops trained on, and why it stopped early (None if it ran all its steps)."""

    net: TransformNet
    history: dict[str, list[float]]
    checks: list[tuple[int, float]] = field(default_factory=list)
    best_step: int = 0
    steps: int = 0
    seconds: float = 0.0
    photos: int = 0
    crops: int = 0
    stopped: str | None = None


def train(
    vgg: VGG,
    style: torch.Tensor,
    photos: Sequence[torch.Tensor],
    settings: TrainingSettings,
    ratio: float | None = None,
    tv_weight: float = 0.0,
    seed: int = 0,
    net: TransformNet | None = None,
    check_every: int = 20,
    max_seconds: float | None = None,
    progress: bool = True,
    callback: Callable[[int, TransformNet, dict[str, float]], bool | None] | None = None,
) -> Training:
    """Train ``net`` (default: the settings' ``start``, else a new `TransformNet`, seeded) to paint ``photos`` in the
    ``style`` image's style.

    The loss is `fast_objective`'s, per crop (`per_image`): content at relu2_2, the paper's Gram losses at relu1_1 ...
    relu5_1, alpha/beta = ``ratio`` (default: the settings'), the style term brought in over the settings' ``warmup``
    steps, and ``tv_weight`` times the total variation. ``callback(step,
    net, losses)`` runs after every step (a progress display, a live preview); True stops the run. After
    ``max_seconds`` the run stops too. An interrupt (Ctrl-C) or a non-finite loss ends it early, with a warning
    that says so; the network returned has the best weights measured, in every case (an interrupt measures the last
    step's first). A `ResourceError` before any work if a step would not fit in memory (`check_training_memory`).
    """
    s = settings
    torch.manual_seed(seed)
    if net is None:
        net = load_network(network_path(s.start)) if s.start else TransformNet()
    net = net.to(vgg.device).train().requires_grad_(True)
    check_training_memory(vgg, net, s.crop, s.batch)
    crops = Crops(photos, s.crop, seed, s.zoom)
    monitor = Crops(photos, s.crop, seed + 1, s.zoom).batch(s.batch).to(vgg.device)
    objective = fast_objective(vgg, monitor, style, s.ratio if ratio is None else ratio, tv_weight)
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    schedule = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[s.steps // 2, s.steps * 3 // 4], gamma=0.3)
    history: dict[str, list[float]] = {"total": [], "time": []}
    result = Training(net, history, photos=len(photos))
    best = {"loss": math.inf, "state": copy.deepcopy(net.state_dict())}
    start = time.perf_counter()

    def check(step: int) -> None:
        """The loss on the fixed batch; keep the weights if it is the lowest so far."""
        objective.set_content(monitor)
        with torch.no_grad():
            loss = sum(per_image(objective(net(monitor)), len(monitor)).values()).item()
        result.checks.append((step, loss))
        if loss < best["loss"] or step < s.warmup:  # during the warm-up the loss measured is not the one trained
            best.update(loss=loss, state=copy.deepcopy(net.state_dict()))
            result.best_step = step

    step, bar = 0, tqdm(range(1, s.steps + 1), desc="training", disable=not progress, leave=False)
    try:
        check(0)
        for step in bar:
            batch = crops.batch(s.batch).to(vgg.device)
            objective.set_content(batch)
            terms = per_image(objective(net(batch)), len(batch))
            if step < s.warmup:  # the style term's weight rises from 0 over the first `warmup` steps
                terms["style"] = terms["style"] * (step / s.warmup)
            total = sum(terms.values())
            if not torch.isfinite(total):
                raise FloatingPointError(f"loss became {total.item()} at step {step}")
            opt.zero_grad()
            total.backward()
            opt.step()
            schedule.step()
            for name, value in terms.items():
                history.setdefault(name, []).append(value.item())
            history["total"].append(total.item())
            history["time"].append(time.perf_counter() - start)
            result.steps, result.crops = step, step * s.batch
            if step % check_every == 0 or step == s.steps:
                check(step)
            bar.set_postfix(loss=f"{total.item():.4g}")
            out_of_time = max_seconds is not None and time.perf_counter() - start > max_seconds
            if (callback and callback(step, net, {k: v[-1] for k, v in history.items()})) or out_of_time:
                result.stopped = f"stopped at step {step}"
                if result.checks[-1][0] != step:
                    check(step)
                break
    except (KeyboardInterrupt, FloatingPointError) as err:
        what = f"interrupted at step {step}" if isinstance(err, KeyboardInterrupt) else str(err)
        if isinstance(err, KeyboardInterrupt) and result.checks and result.checks[-1][0] != result.steps:
            with contextlib.suppress(KeyboardInterrupt):  # the weights of the last step may be the best; a second
                check(result.steps)  # Ctrl-C while they are measured keeps what was measured before
        measured = f"step {result.best_step}, loss {best['loss']:.4g}" if result.checks else "untrained: none measured"
        result.stopped = f"{what}: kept the best weights so far ({measured})"
        warnings.warn(result.stopped, RuntimeWarning, stacklevel=2)
    finally:
        bar.close()
    net.load_state_dict(best["state"])
    result.seconds = time.perf_counter() - start
    net.eval()
    return result
