"""Instant checks for the course-lab exercises: each says specifically what is wrong, or that all is well.

    from nst_helpers.checks import check_content_loss
    check_content_loss(my_content_loss)     # prints "content loss: correct" or raises CheckFailed

A check runs the learner's function on small random inputs and compares it with the reference in
`nst_helpers.losses`, looking for the usual mistakes: wrong shape, off by a constant factor (and
which), transposed, not normalised, detached from the graph, gradients not reaching the image.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable

import torch

from .losses import content_loss, gram_matrix, style_layer_loss, total_variation

SOLUTIONS_ENV = "NST_SOLUTIONS"  # set to 1 to fill the exercises with the reference solutions
NOT_WRITTEN = "not written yet: replace the `raise NotImplementedError` line with your code"


class CheckFailed(AssertionError):
    """The learner's function gives a wrong answer; the message says how."""

    def _render_traceback_(self) -> list[str]:
        """In Jupyter: the one-line verdict, not a traceback into the checking code."""
        return [f"\x1b[31mCheckFailed\x1b[0m: {self}"]


def _inputs(*shape: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64).abs().requires_grad_(True)


def _call(name: str, fn: Callable, *args: torch.Tensor) -> torch.Tensor:
    try:
        out = fn(*args)
    except NotImplementedError:
        raise CheckFailed(f"{name}: {NOT_WRITTEN}") from None
    except Exception as err:  # the learner's code raised: say so in one line
        raise CheckFailed(f"{name}: your function raised {type(err).__name__}: {err}") from None
    if out is None:
        raise CheckFailed(f"{name}: your function returned None; did you forget `return`?")
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{name}: expected a torch tensor, got {type(out).__name__} (did you use .item() or numpy?)")
    return out


def _explain_factor(name: str, ratio: float, factors: dict[str, float]) -> None:
    for reason, factor in factors.items():
        if math.isclose(ratio, factor, rel_tol=1e-6):
            raise CheckFailed(f"{name}: off by a constant factor of {ratio:.6g}: {reason}")
    raise CheckFailed(f"{name}: off by a constant factor of {ratio:.6g} (compare your normalisation with the formula)")


def _compare(name: str, outs: list[torch.Tensor], expected: list[torch.Tensor], factors: dict[str, float]) -> None:
    """Same value on every input; else a constant factor (named if known); else just wrong."""
    for out, exp in zip(outs, expected):
        if out.shape != exp.shape:
            raise CheckFailed(f"{name}: wrong shape {tuple(out.shape)}, expected {tuple(exp.shape)}")
    if all(torch.allclose(o.double(), e, rtol=1e-5, atol=1e-8) for o, e in zip(outs, expected)):
        return
    ratios = [(o.double() / e).flatten() for o, e in zip(outs, expected)]
    ratio = ratios[0][0].item()
    if all(torch.allclose(r, torch.full_like(r, ratio), rtol=1e-5) for r in ratios):
        _explain_factor(name, ratio, factors)
    raise CheckFailed(f"{name}: wrong values (not just a constant factor); e.g. got {outs[0].flatten()[0].item():.6g}, "
                      f"expected {expected[0].flatten()[0].item():.6g}")


def _check_differentiable(name: str, out: torch.Tensor, source: torch.Tensor) -> None:
    if not out.requires_grad:
        raise CheckFailed(f"{name}: the result is detached from the graph "
                          "(no .detach(), .item(), .numpy() or torch.no_grad())")
    (grad,) = torch.autograd.grad(out.sum(), source, allow_unused=True)
    if grad is None or not torch.isfinite(grad).all() or grad.abs().sum() == 0:
        raise CheckFailed(f"{name}: no gradient flows back to the features")


def _ok(name: str) -> None:
    print(f"{name}: correct")


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(F, P)``: the paper's content loss, 1/2 * sum over all entries of (F - P)^2."""
    name = "content loss"
    pairs = [(_inputs(1, 4, 3, 5, seed=s), _inputs(1, 4, 3, 5, seed=s + 10).detach()) for s in (1, 2)]
    outs = [_call(name, fn, f, p) for f, p in pairs]
    if outs[0].dim() != 0:
        raise CheckFailed(f"{name}: should be a single number (a 0-d tensor), got shape {tuple(outs[0].shape)}; "
                          "sum over all entries")
    expected = [content_loss(f.detach(), p) for f, p in pairs]
    n, m = 4, 15
    _compare(name, outs, expected, {
        "missing the 1/2 in front of the sum": 2.0,
        "you took the mean instead of 1/2 * the sum": 2.0 / (n * m),
        "you took 1/2 * the mean instead of 1/2 * the sum": 1.0 / (n * m),
    })
    if outs[0].item() < 0:
        raise CheckFailed(f"{name}: negative; square the differences")
    _check_differentiable(name, outs[0], pairs[0][0])
    _ok(name)


def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(F)`` with F of shape (1, N, H, W): the Gram matrix G = F F^T of shape (1, N, N), unnormalised."""
    name = "Gram matrix"
    feats = [_inputs(1, 4, 3, 5, seed=s) for s in (3, 4)]
    outs = [_call(name, fn, f) for f in feats]
    expected = [gram_matrix(f.detach()) for f in feats]
    n, m = 4, 15
    if outs[0].shape[-2:] == (m, m):
        raise CheckFailed(f"{name}: transposed: you computed F^T F ({m}x{m}, pixels x pixels); "
                          f"the Gram matrix is F F^T ({n}x{n}, channels)")
    if outs[0].shape == (n, n):
        raise CheckFailed(f"{name}: shape ({n}, {n}) has lost the batch dimension; "
                          f"return (1, {n}, {n}) (use F.reshape(b, n, h*w))")
    if outs[0].shape == expected[0].shape and not torch.allclose(outs[0], outs[0].transpose(-1, -2)):
        raise CheckFailed(f"{name}: not symmetric: a Gram matrix is F F^T, inner products of every pair of channels")
    _compare(name, outs, expected, {
        "normalised by M = H*W; the paper's G is unnormalised (the loss normalises)": 1 / m,
        "normalised by N*M; the paper's G is unnormalised (the loss normalises)": 1 / (n * m),
    })
    _check_differentiable(name, outs[0], feats[0])
    _ok(name)


def check_style_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(F, A)``: one layer's style loss E_l = 1/(4 N^2 M^2) * sum (G - A)^2, with G the Gram matrix of F."""
    name = "style loss"
    n, h, w = 4, 3, 5
    m = h * w
    cases = [(_inputs(1, n, h, w, seed=s), gram_matrix(_inputs(1, n, h, w, seed=s + 10)).detach()) for s in (5, 6)]
    outs = [_call(name, fn, f, a) for f, a in cases]
    if outs[0].dim() != 0:
        raise CheckFailed(f"{name}: should be a single number (a 0-d tensor), got shape {tuple(outs[0].shape)}")
    expected = [style_layer_loss(gram_matrix(f.detach()), a, n, m) for f, a in cases]
    _compare(name, outs, expected, {
        "not normalised: multiply the sum by 1/(4 N^2 M^2)": 4 * n**2 * m**2,
        "missing the 4 in 1/(4 N^2 M^2)": 4.0,
        "N and M must be squared: 1/(4 N^2 M^2)": n * m,
        "you took the mean over the N x N entries instead of the paper's 1/(4 N^2 M^2) * sum": 4 * m**2,
    })
    _check_differentiable(name, outs[0], cases[0][0])
    _ok(name)


def check_total_variation(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(image)``: the total variation, the squared differences between neighbouring pixels, summed over both
    directions (horizontal and vertical neighbours), every channel and every position inside the image."""
    name = "total variation"
    image = _inputs(1, 3, 4, 5, seed=3).requires_grad_(True)
    out = _call(name, fn, image)
    if out.numel() != 1:
        raise CheckFailed(f"{name}: should be one number, got shape {tuple(out.shape)}: sum over everything")
    x = image.detach()
    dx, dy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
    mistakes = {
        "only the horizontal neighbours: add the vertical differences too": dx.pow(2).sum(),
        "only the vertical neighbours: add the horizontal differences too": dy.pow(2).sum(),
        "absolute differences: square them instead": dx.abs().sum() + dy.abs().sum(),
        "it wraps around the edges (torch.roll?): compare only neighbours inside the image, "
        "x[..., 1:] - x[..., :-1]": (x - x.roll(1, -1)).pow(2).sum() + (x - x.roll(1, -2)).pow(2).sum(),
        "averaged: sum the squared differences instead": dx.pow(2).mean() + dy.pow(2).mean(),
    }
    expected = dx.pow(2).sum() + dy.pow(2).sum()
    value = out.detach().reshape(())
    if not torch.allclose(value, expected, rtol=1e-5):
        for message, wrong in mistakes.items():
            if torch.allclose(value, wrong, rtol=1e-5):
                raise CheckFailed(f"{name}: {message}")
        raise CheckFailed(f"{name}: got {value.item():.6g}, expected the sum of squared neighbour differences "
                          f"{expected.item():.6g}")
    _check_differentiable(name, out.reshape(()), image)
    _ok(name)


LossFn = Callable[[torch.Tensor], torch.Tensor]


def check_step(fn: Callable[[torch.Tensor, torch.optim.Optimizer, LossFn], object]) -> None:
    """``fn(image, optimizer, loss_fn)``: one optimisation step (zero the gradient, loss, backward, step)."""
    name = "optimisation step"
    target = torch.linspace(0, 1, 12).reshape(1, 3, 2, 2)

    def loss_fn(x: torch.Tensor) -> torch.Tensor:
        return (x - target).pow(2).sum()

    image = torch.zeros(1, 3, 2, 2, requires_grad=True)
    optimizer = torch.optim.SGD([image], lr=0.1)
    before = loss_fn(image).item()
    try:
        fn(image, optimizer, loss_fn)
        middle = image.detach().clone()
        fn(image, optimizer, loss_fn)
    except NotImplementedError:
        raise CheckFailed(f"{name}: {NOT_WRITTEN}") from None
    except Exception as err:
        raise CheckFailed(f"{name}: your function raised {type(err).__name__}: {err}") from None
    if image.grad is None:
        raise CheckFailed(f"{name}: no gradient reached the image: call loss.backward() on the loss of `image` itself")
    after = loss_fn(image).item()
    if torch.equal(middle, image.detach()) or after == before:
        raise CheckFailed(f"{name}: the image did not change: call optimizer.step() after loss.backward()")
    if after >= before:
        raise CheckFailed(f"{name}: the loss went up: step against the gradient (minimise, don't maximise)")
    if not torch.allclose(image.grad, 2 * (middle - target), atol=1e-6):  # the gradient of the last step alone
        raise CheckFailed(f"{name}: gradients accumulate across steps: "
                          "call optimizer.zero_grad() before loss.backward()")
    _ok(name)


def _style_solution(f: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    _, n, h, w = f.shape
    return style_layer_loss(gram_matrix(f), a, n, h * w)


def _step_solution(image: torch.Tensor, optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> None:
    optimizer.zero_grad()
    loss_fn(image).backward()
    optimizer.step()


SOLUTIONS: dict[str, Callable] = {
    "content_loss": content_loss,
    "gram_matrix": gram_matrix,
    "style_loss": _style_solution,
    "total_variation": lambda image: total_variation(image, normalization="sum"),
    "step": _step_solution,
}


def solutions_on() -> bool:
    """True when the instructor's switch, ``NST_SOLUTIONS=1``, is set."""
    return os.environ.get(SOLUTIONS_ENV, "") not in ("", "0")


def exercise(name: str, attempt: Callable) -> Callable:
    """The learner's ``attempt``; with ``NST_SOLUTIONS=1`` the reference solution instead (the instructor's switch)."""
    if name not in SOLUTIONS:
        raise KeyError(f"no exercise {name!r}; one of {', '.join(SOLUTIONS)}")
    return SOLUTIONS[name] if solutions_on() else attempt


MARGINS_ENV = "NST_MARGINS"  # a file: every claim appends its value and threshold there (`make variants` reads it)


def claim(statement: str, value: float, *, above: float | None = None, below: float | None = None) -> None:
    """A check of the science: ``value`` must be above ``above`` (or below ``below``), else CheckFailed.

    ``statement`` says what the science predicts, e.g. ``claim("style loss falls as beta grows", ratio, above=2)``.
    With ``$NST_MARGINS`` set to a file, each call appends one JSON line (statement, value, threshold, passed)
    to it, so that `make variants` can report how far every check is from failing on each variant.
    """
    if (above is None) == (below is None):
        raise TypeError("claim() takes exactly one of above= or below=")
    threshold = above if above is not None else below
    passed = value > threshold if above is not None else value < threshold
    if os.environ.get(MARGINS_ENV):
        record = {"statement": statement, "value": float(value), "kind": "above" if above is not None else "below",
                  "threshold": float(threshold), "passed": bool(passed)}
        with open(os.environ[MARGINS_ENV], "a") as f:
            f.write(json.dumps(record) + "\n")
    if not passed:
        relation = "above" if above is not None else "below"
        raise CheckFailed(f"{statement}: got {value:.4g}, should be {relation} {threshold:.4g}")
