"""The image-optimisation loop shared by content reconstruction, style reconstruction and transfer.

All three optimise the pixels of an image so that its VGG features match targets: feature maps
(content), Gram matrices (style), or both. An `Objective` (objective.py) holds the targets; `optimize_image`
runs L-BFGS or Adam on the pixels, records each loss term, and keeps snapshots.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from .errors import ParameterError, ResourceError
from .lbfgs import FIRST_STEP, LBFGS
from .objective import Losses, Objective, check_image, check_memory
from .precision import FP32


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_whole(name: str, value: object, low: int) -> None:
    if not _is_whole(value) or value < low:
        raise ParameterError(f"{name} must be a whole number >= {low}, got {value!r}")


@dataclass
class Result:
    """What `optimize_image` returns: the image, each loss term per step (and ``"time"``, seconds since the
    start), the snapshots as (step, image), and the wall time in seconds.

    ``steps`` is the number of steps run to the end: all of them, or up to the one after which ``callback``
    stopped the run. After an interrupt (Ctrl-C, a kernel interrupt) or a NaN or infinite loss, it is the steps
    completed before that one; ``image`` is then the best image evaluated so far (lowest total loss), which may
    come from an earlier step. ``stopped`` says why a run ended early (None if it ran all steps).
    """

    image: torch.Tensor
    history: dict[str, list[float]]
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    stopped: str | None = None


def summary(label: str, result: Result) -> None:
    """Print one line for a run: its steps and seconds, how far the loss fell, and why it stopped early, if it did."""
    note = f"  ({result.stopped})" if result.stopped else ""
    drop = result.history["total"][-1] / result.history["total"][0]
    print(f"{label:<40} {result.steps:4d} steps in {result.seconds:6.1f} s, loss down to {drop:.3f} of its start{note}")


class _NonFinite(Exception):
    pass


def initial_image(objective: Objective, init: str | torch.Tensor = "noise", seed: int = 0) -> torch.Tensor:
    """The starting image: 'content', 'style', 'noise' (the paper's), 'uniform' noise, or a given tensor.

    'noise' is the paper's white-noise start, as in Gatys's code (``torch.randn`` in the network's input space):
    the mean colour of the weights' training set plus seeded Gaussian noise of std 1/255, one grey level.
    'uniform' is seeded noise uniform in [0, 1] (std 0.29): what a layer cannot see of it stays in the picture.
    """
    if not isinstance(init, str):
        check_image(init, "starting")  # a NumPy array, NaN ...: one line, not a raw error or a NaN "result"
        device, dtype = getattr(objective, "device", init.device), getattr(objective, "dtype", init.dtype)
        return init.detach().clone().to(device, dtype).clamp(0, 1)
    if init == "content" or init == "style":
        image = getattr(objective, f"{init}_image", None)
        if image is None:
            raise ParameterError(f"init={init!r} needs an objective with a {init} image")
        if init == "style" and image.shape != objective.shape:
            image = torch.nn.functional.interpolate(image, size=objective.shape[-2:], mode="bilinear", antialias=True)
        return image.detach().clone()
    if init == "noise" or init == "uniform":
        if not hasattr(objective, "shape"):
            raise ParameterError(f"init={init!r} needs an Objective, which knows the image's shape; "
                                 "pass a starting image tensor instead")
        generator = torch.Generator().manual_seed(seed)
        if init == "uniform":
            return torch.rand(objective.shape, generator=generator).to(objective.device)
        noise = torch.randn(objective.shape, generator=generator) / 255
        return (objective.vgg.mean_color().cpu() + noise).clamp(0, 1).to(objective.device)
    raise ParameterError(f"unknown init {init!r}; use 'content', 'style', 'noise', 'uniform' or a tensor")


def _make_optimizer(name: str, image: torch.Tensor, lr: float | None, steps: int, first_step: float):
    if name == "lbfgs":
        return LBFGS(image, lr=lr or 1.0, first_step=first_step), None
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
    first_step: float = FIRST_STEP,
) -> Result:
    """Optimise an image's pixels to minimise the sum of ``objective(image)``'s terms; returns a `Result`.

    ``init`` is 'content', 'style', the paper's 'noise', 'uniform' noise or an image tensor (see `initial_image`).
    One step is one loss + gradient evaluation. 'lbfgs' is the package's `LBFGS` (lbfgs.py: ``lr`` default 1.0, a
    history of 100, no line search and no tolerance stops, so a run lasts ``steps`` unless stopped); 'adam' (``lr``
    default 0.02) multiplies its learning rate by 0.3 after half and again after three quarters of the steps.
    ``first_step`` is the RMS pixel change of L-BFGS's first, plain gradient step: the default suits a start far from
    the optimum; a run that continues from a good image (a resumed run) should pass `lbfgs.RESUME_STEP`, or that
    first step undoes much of its work.

    After every step the pixels are clamped to [0, 1] (a projection), so every image evaluated, recorded,
    shown or returned is a valid image and the history is the loss of what you see. ``callback(step, image,
    losses)`` runs after each step; returning True stops the run. Ctrl-C (or a kernel interrupt) and a NaN or
    infinite loss, and running out of memory after the first step, end the run early with the best image so far
    (before any step has finished: the starting image); see `Result` for what ``steps`` is then.
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
    opt, schedule = _make_optimizer(optimizer, image, lr, steps, first_step)
    history: dict[str, list[float]] = {"total": [], "time": []}
    best = {"loss": math.inf, "image": image.detach().clone()}
    snapshots = [(0, image.detach().cpu().clone())] if snapshot_every else []
    start = time.perf_counter()
    precision = getattr(objective, "precision", FP32)
    gain = precision.loss_scale  # above 1 for fp16 only
    # The first two L-BFGS evaluations run in fp32: the first curvature pair is learnt from them, and in bf16 or fp16
    # their gradient difference is partly rounding noise.
    in_fp32 = 2 if optimizer == "lbfgs" and precision.autocast is not None else 0
    in_scale = optimizer == "lbfgs" or gain != 1

    def closure() -> torch.Tensor:
        opt.zero_grad()
        terms = objective(image, FP32) if len(history["total"]) < in_fp32 else objective(image)
        total = terms if isinstance(terms, torch.Tensor) else sum(terms.values())
        if not torch.isfinite(total):
            raise _NonFinite(f"{total.item()}")
        # For L-BFGS and fp16, back-propagate the loss over its first value (times gain for fp16): no fp16 gradient
        # underflows or overflows, and L-BFGS's dot products stay far from fp32's range for losses of 1e10 and more.
        # Adam in fp32 gets the plain loss.
        first = max(history["total"][0] if history["total"] else total.item(), 1e-12) if in_scale else 1.0
        (total * (gain / first)).backward()
        for name, value in ({} if isinstance(terms, torch.Tensor) else terms).items():
            history.setdefault(name, []).append(value.item())
        history["total"].append(total.item())
        history["time"].append(time.perf_counter() - start)
        if total.item() < best["loss"]:
            best.update(loss=total.item(), image=image.detach().clone())
        return total.detach()

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
            shape = objective.shape[-2:]
            init = torch.nn.functional.interpolate(result.image, size=shape, mode="bilinear", align_corners=False)
        result = optimize_image(objective, init=init, steps=n, **options)
        for name, values in result.history.items():
            history.setdefault(name, []).extend([v + seconds for v in values] if name == "time" else values)
        snapshots += [(done + step, image) for step, image in result.snapshots]
        done, seconds = done + result.steps, seconds + result.seconds
        if result.stopped:
            break
    return Result(result.image, history, snapshots, done, seconds, result.stopped)
