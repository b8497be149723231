"""The way on: the reference solutions, the instructor's switch (``NST_SOLUTIONS``) that fills them in, and the
learner's attempt made to fit the cells that follow its check."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import torch

from ..errors import ParameterError
from ..losses import content_loss, gram_matrix, total_variation
from .exercises import _style_solution
from .step import LossFn

SOLUTIONS_ENV = "NST_SOLUTIONS"  # set to 1 (true, yes, on) to fill the exercises with the reference solutions
ON, OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _step_solution(image: torch.Tensor, optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> None:
    optimizer.zero_grad()
    loss_fn(image).backward()
    optimizer.step()


SOLUTIONS: dict[str, Callable] = {
    "content_loss": content_loss,
    "gram_matrix": gram_matrix,
    "style_loss": _style_solution,
    "total_variation": total_variation,
    "step": _step_solution,
}


def _known(name: str) -> None:
    if name not in SOLUTIONS:
        raise ParameterError(f"no exercise {name!r}; one of {', '.join(SOLUTIONS)}")


def solutions_on() -> bool:
    """True when the instructor's switch is on: ``NST_SOLUTIONS`` is 1, true, yes or on (any case); 0, false, no,
    off or unset is off, and anything else an error."""
    value = os.environ.get(SOLUTIONS_ENV, "")
    if value.strip().lower() in ON + OFF:
        return value.strip().lower() in ON
    raise ParameterError(f"{SOLUTIONS_ENV}={value!r} is neither on (1, true, yes, on) nor off (0, false, no, off, "
                         "or unset)")


def _fitted(attempt: Callable, number: bool) -> Callable:
    """``attempt`` whose tensor result takes the dtype and device of its first tensor argument, so that an answer
    computed in float64 (or on the CPU) works in the cells after its check, beside the package's float32; with
    ``number``, a loss of one element is made 0-d (as ``backward()`` of the loss it is added to needs)."""

    @functools.wraps(attempt)
    def fitted(*args: object) -> object:
        out = attempt(*args)
        like = next((a for a in args if isinstance(a, torch.Tensor)), None)
        if not isinstance(out, torch.Tensor) or like is None or not out.is_floating_point():
            return out
        out = out.reshape(()) if number and out.numel() == 1 else out
        return out.to(like.device, like.dtype) if like.is_floating_point() else out

    return fitted


def exercise(name: str, attempt: Callable) -> Callable:
    """The learner's ``attempt`` (its result in its input's dtype and device); with the instructor's switch on
    (``NST_SOLUTIONS=1``) the reference solution instead."""
    _known(name)
    if solutions_on():
        return SOLUTIONS[name]
    return attempt if name == "step" else _fitted(attempt, number=name != "gram_matrix")


def solution(name: str) -> Callable:
    """The reference solution of exercise ``name``, for a learner who is stuck on it and wants to go on:
    ``my_tv = solution("total_variation")`` in place of ``my_tv = exercise("total_variation", my_tv)``."""
    _known(name)
    print(f"{name}: the reference solution from nst_helpers/checks, not yours")
    return SOLUTIONS[name]
