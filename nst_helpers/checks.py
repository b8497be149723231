"""Instant checks for the course-lab exercises: each says specifically what is wrong, or that all is well.

    from nst_helpers.checks import check_content_loss
    check_content_loss(my_content_loss)     # prints "content loss: correct" or raises CheckFailed

A check runs the learner's function on small random inputs and compares it with the reference in
`nst_helpers.losses`, naming the usual mistakes: wrong shape, a normalisation slip (and which), transposed,
detached from the graph, gradients not reaching the image. Stuck on an exercise? ``solution(name)`` is its
reference solution, e.g. ``my_tv = solution("total_variation")``, so that the rest of the notebook runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import torch

from .losses import content_loss, gram_matrix, style_layer_loss, total_variation

SOLUTIONS_ENV = "NST_SOLUTIONS"  # set to 1 to fill the exercises with the reference solutions
NOT_WRITTEN = "not written yet: replace the `raise NotImplementedError` line with your code"
XOR = "`^` is bitwise XOR in Python, not a power: write x ** 2 or x.pow(2)"


class CheckFailed(AssertionError):
    """The learner's function gives a wrong answer; the message says how."""

    def _render_traceback_(self) -> list[str]:
        """In Jupyter: the one-line verdict, not a traceback into the checking code."""
        return [f"\x1b[31mCheckFailed\x1b[0m: {self}"]


def _inputs(*shape: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64).abs().requires_grad_(True)


def _explain(err: Exception) -> str:
    """What an exception in the learner's code means, in one line."""
    text = " ".join(str(err).split())
    if "bitwise_xor" in text:  # torch's words for `x ^ 2` on a float tensor (a NotImplementedError)
        return XOR
    if isinstance(err, NotImplementedError):
        return NOT_WRITTEN
    return f"your function raised {type(err).__name__}: {text}"


def _run(name: str, fn: Callable, *args: object) -> object:
    try:
        return fn(*args)
    except Exception as err:  # the learner's code raised: say so in one line
        raise CheckFailed(f"{name}: {_explain(err)}") from None


def _call(name: str, fn: Callable, *args: torch.Tensor) -> torch.Tensor:
    out = _run(name, fn, *args)
    if out is None:
        raise CheckFailed(f"{name}: your function returned None; did you forget `return`?")
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{name}: expected a torch tensor, got {type(out).__name__} (did you use .item() or numpy?)")
    return out


Mistakes = list[tuple[str, list[torch.Tensor]]]  # a message, and what that mistake gives on each input


def _close(outs: list[torch.Tensor], values: list[torch.Tensor]) -> bool:
    return all(torch.allclose(o.double(), v.double(), rtol=1e-5, atol=1e-8) for o, v in zip(outs, values))


def _compare(name: str, outs: list[torch.Tensor], expected: list[torch.Tensor], mistakes: Mistakes) -> None:
    """Same value on every input; else the first mistake that gives the learner's values; else a constant factor;
    else just wrong."""
    for out, exp in zip(outs, expected):
        if out.shape != exp.shape:
            raise CheckFailed(f"{name}: wrong shape {tuple(out.shape)}, expected {tuple(exp.shape)}")
    if _close(outs, expected):
        return
    for message, wrong in mistakes:
        if _close(outs, wrong):
            raise CheckFailed(f"{name}: {message}")
    ratios = [(o.double() / e).flatten() for o, e in zip(outs, expected)]
    ratio = ratios[0][0].item()
    if all(torch.allclose(r, torch.full_like(r, ratio), rtol=1e-5) for r in ratios):
        raise CheckFailed(f"{name}: off by a constant factor of {ratio:.6g}: "
                          "compare your normalisation with the formula")
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


SQUARE = "square the differences: (F - P) ** 2, not abs(F - P) or F - P"


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(F, P)``: the paper's content loss, 1/2 * sum over all entries of (F - P)^2, for tensors of any shape
    (feature maps (1, N, H, W), N x M matrices, and the 1-D tensors of the notebook's hand example)."""
    name = "content loss"
    pairs = [(_inputs(1, 4, 3, 5, seed=s), _inputs(1, 4, 3, 5, seed=s + 10).detach()) for s in (1, 2)]
    outs = [_call(name, fn, f, p) for f, p in pairs]
    if outs[0].dim() != 0:
        raise CheckFailed(f"{name}: should be a single number (a 0-d tensor), got shape {tuple(outs[0].shape)}; "
                          "sum over all entries")
    diffs = [f.detach() - p for f, p in pairs]
    _compare(name, outs, [content_loss(f.detach(), p) for f, p in pairs], [
        ("missing the 1/2 in front of the sum", [d.pow(2).sum() for d in diffs]),
        ("you took the mean instead of 1/2 * the sum", [d.pow(2).mean() for d in diffs]),
        ("you took 1/2 * the mean instead of 1/2 * the sum", [0.5 * d.pow(2).mean() for d in diffs]),
        (SQUARE, [0.5 * d.abs().sum() for d in diffs]),
        (SQUARE, [0.5 * d.sum() for d in diffs]),
    ])
    _check_differentiable(name, outs[0], pairs[0][0])
    others = [
        ("the 1-D tensors of the hand example below", torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 0.0])),
        ("N x M matrices (2-D, the text's notation)", _inputs(4, 15, seed=7), _inputs(4, 15, seed=8).detach()),
    ]
    for where, f, p in others:
        try:
            out = fn(f, p)
        except Exception as err:
            raise CheckFailed(f"{name}: right on (1, N, H, W) feature maps, but on {where} {_explain(err)}; "
                              "it needs no shapes: 0.5 * ((F - P) ** 2).sum() works for any shape") from None
        if not isinstance(out, torch.Tensor) or not _close([out], [content_loss(f.detach(), p)]):
            raise CheckFailed(f"{name}: right on (1, N, H, W) feature maps, but not on {where}: "
                              "sum over every entry, whatever the shape")
    _ok(name)


def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(F)`` with F of shape (1, N, H, W): the Gram matrix G = F F^T of shape (1, N, N), unnormalised."""
    name = "Gram matrix"
    n, h, w = 4, 3, 5
    m = h * w
    feats = [_inputs(1, n, h, w, seed=s) for s in (3, 4)]
    try:
        outs = [_call(name, fn, f) for f in feats]
    except CheckFailed as err:  # F @ F.T on (1, N, M): .T reverses all three dimensions, and the shapes do not fit
        if "RuntimeError" in str(err) and "cannot be multiplied" in str(err):
            raise CheckFailed(f"{err}; F.T on a (1, N, M) tensor reverses all three dimensions: transpose the last "
                              "two, F.transpose(1, 2) or F.mT") from None
        raise
    expected = [gram_matrix(f.detach()) for f in feats]
    if outs[0].shape[-2:] == (m, m):
        raise CheckFailed(f"{name}: transposed: you computed F^T F ({m}x{m}, pixels x pixels); "
                          f"the Gram matrix is F F^T ({n}x{n}, channels)")
    if outs[0].shape == (n, n):
        raise CheckFailed(f"{name}: shape ({n}, {n}) has lost the batch dimension; "
                          f"return (1, {n}, {n}) (use F.reshape(b, n, h*w))")
    if outs[0].shape == expected[0].shape and not torch.allclose(outs[0], outs[0].transpose(-1, -2)):
        raise CheckFailed(f"{name}: not symmetric: a Gram matrix is F F^T, inner products of every pair of channels")
    scrambled = [f.detach().reshape(1, m, n) for f in feats]  # reshape(b, H*W, N): no permute, channels mixed up
    _compare(name, outs, expected, [
        ("normalised by M = H*W; the paper's G is unnormalised (the loss normalises)", [g / m for g in expected]),
        ("normalised by N*M; the paper's G is unnormalised (the loss normalises)", [g / (n * m) for g in expected]),
        ("reshape(b, H*W, N) without a permute mixes channels and positions (memory holds each channel's map in one "
         "piece): reshape to (b, N, H*W), or permute(0, 2, 3, 1) first", [x.transpose(1, 2) @ x for x in scrambled]),
    ])
    _check_differentiable(name, outs[0], feats[0])
    _ok(name)


XOR_N_M = "`^` is bitwise XOR in Python, not a power: 4*N^2*M^2 is not 4 N² M²; write 4 * N**2 * M**2"
M_POSITIONS = "M is the number of positions, H*W, not H or W"


def check_style_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(F, A)``: one layer's style loss E_l = 1/(4 N^2 M^2) * sum (G - A)^2, with G the Gram matrix of F and A
    the target's, both unnormalised."""
    name = "style loss"
    n, h, w = 4, 3, 5
    m = h * w
    cases = [(_inputs(1, n, h, w, seed=s), gram_matrix(_inputs(1, n, h, w, seed=s + 10)).detach()) for s in (5, 6)]
    outs = [_call(name, fn, f, a) for f, a in cases]
    if outs[0].dim() != 0:
        raise CheckFailed(f"{name}: should be a single number (a 0-d tensor), got shape {tuple(outs[0].shape)}")
    expected = [style_layer_loss(gram_matrix(f.detach()), a, n, m) for f, a in cases]
    first = cases[0][0]
    for label, k in (("M", m), ("N*M", n * m)):  # a loss that divides G by k, but not A, is 0 when A = G / k
        if _call(name, fn, first, gram_matrix(first.detach()) / k).abs().item() < 1e-9 * expected[0].item():
            raise CheckFailed(f"{name}: you divide G by {label} but the target A comes unnormalised: leave G = F F^T "
                              "unnormalised, like A, and divide only the sum by 4 N² M²")
    slips: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [  # each as a learner writes it, on S = sum
        ("not normalised: multiply the sum by 1/(4 N² M²)", lambda s: s),
        ("missing the 4 in 1/(4 N² M²)", lambda s: s / (n**2 * m**2)),
        ("N and M must be squared: 1/(4 N² M²)", lambda s: s / (4 * n * m)),
        ("operator precedence: sum / 4*N**2*M**2 divides by 4, then multiplies by N² M²; "
         "write sum / (4 * N**2 * M**2)", lambda s: s / 4 * n**2 * m**2),
        (XOR_N_M, lambda s: s / (4 * n ^ 2 * m ^ 2)),
        (XOR_N_M, lambda s: s / (4 * (n ^ 2) * (m ^ 2))),
        (M_POSITIONS, lambda s: s / (4 * n**2 * h**2)),
        (M_POSITIONS, lambda s: s / (4 * n**2 * w**2)),
        ("you took the mean over the N x N entries instead of the paper's 1/(4 N² M²) * sum", lambda s: s / n**2),
        ("1/N² too small: a .mean() where the formula has a sum (G - A)² over the N x N entries, or M = F.numel() "
         "(N·H·W) in place of M = H·W", lambda s: s / (4 * n**4 * m**2)),
        ("that is the 'mean' normalisation of some codebases, mean(((G - A) / (N M))²); the paper's is "
         "sum((G - A)²) / (4 N² M²)", lambda s: s / (n**4 * m**2)),
    ]
    sums = [(gram_matrix(f.detach()) - a).pow(2).sum() for f, a in cases]
    _compare(name, outs, expected, [(message, [slip(s) for s in sums]) for message, slip in slips])
    _check_differentiable(name, outs[0], first)
    _ok(name)


PIXELS = ("divided by the pixel count: each direction has its own number of neighbour pairs, C*H*(W-1) and "
          "C*(H-1)*W: take each direction's mean")
CHANNELS = ("differences between channels: image[:, 1:] is the channel axis of (B, C, H, W); take the differences "
            "along H and W, image[..., 1:, :] and image[..., :, 1:]")
CROPPED = ("cropped to (H-1) x (W-1): that leaves out the last row's horizontal and the last column's vertical "
           "differences; take x[..., :, 1:] - x[..., :, :-1] and x[..., 1:, :] - x[..., :-1, :] whole")


def check_total_variation(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(image)``: the total variation as the package's `total_variation` (its default) computes it: the mean
    squared difference between horizontal neighbours plus the mean squared difference between vertical neighbours,
    over every channel and every pair inside the image."""
    name = "total variation"
    images = [_inputs(1, 3, 4, 5, seed=3), _inputs(1, 3, 6, 3, seed=4)]  # two: a constant factor is then a finding
    outs = [_call(name, fn, image) for image in images]
    if outs[0].numel() != 1:
        raise CheckFailed(f"{name}: should be one number, got shape {tuple(outs[0].shape)}: add the two directions' "
                          "means")

    def mistakes(x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        dx, dy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
        cx, cy = x[..., :-1, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, :-1]  # cropped to (H-1) x (W-1)
        dc = x[:, 1:] - x[:, :-1]  # between channels
        summed = dx.pow(2).sum() + dy.pow(2).sum()
        return [
            ("summed: take each direction's mean, dx.pow(2).mean() + dy.pow(2).mean(), as the package's "
             "total_variation does", summed),
            ("one mean over both directions together: take each direction's mean and add the two",
             summed / (dx.numel() + dy.numel())),
            (PIXELS, summed / x.numel()),
            (PIXELS, summed / (x.shape[-2] * x.shape[-1])),
            (CROPPED, cx.pow(2).mean() + cy.pow(2).mean()),
            (CROPPED, (cx.pow(2) + cy.pow(2)).mean()),
            (CROPPED, (cx.pow(2) + cy.pow(2)).sum()),
            ("only the horizontal neighbours: add the vertical differences too", dx.pow(2).mean()),
            ("only the vertical neighbours: add the horizontal differences too", dy.pow(2).mean()),
            ("absolute differences: square them instead", dx.abs().mean() + dy.abs().mean()),
            ("it wraps around the edges (torch.roll?): compare only neighbours inside the image, "
             "x[..., 1:] - x[..., :-1]", (x - x.roll(1, -1)).pow(2).mean() + (x - x.roll(1, -2)).pow(2).mean()),
            (CHANNELS, dc.pow(2).mean() + dx.pow(2).mean()),
            (CHANNELS, dc.pow(2).mean() + dy.pow(2).mean()),
        ]

    per_image = [mistakes(image.detach()) for image in images]
    named = [(message, [found[i][1] for found in per_image]) for i, (message, _) in enumerate(per_image[0])]
    _compare(name, [out.reshape(()) for out in outs], [total_variation(x.detach()) for x in images], named)
    _check_differentiable(name, outs[0].reshape(()), images[0])
    _ok(name)


LossFn = Callable[[torch.Tensor], torch.Tensor]


def check_step(fn: Callable[[torch.Tensor, torch.optim.Optimizer, LossFn], object]) -> None:
    """``fn(image, optimizer, loss_fn)``: one optimisation step on the gradient of this step's loss alone, in any
    order that gives it: zero_grad, backward, step; or backward, step, zero_grad."""
    name = "optimisation step"
    target = torch.linspace(0, 1, 12).reshape(1, 3, 2, 2)

    def loss_fn(x: torch.Tensor) -> torch.Tensor:
        return (x - target).pow(2).sum()

    image = torch.zeros(1, 3, 2, 2, requires_grad=True)
    optimizer = torch.optim.SGD([image], lr=0.1)
    reached: list[torch.Tensor] = []  # every gradient backpropagated to the image
    at_step: list[torch.Tensor | None] = []  # the image's .grad each time the optimiser steps
    image.register_hook(reached.append)
    optimizer.register_step_pre_hook(lambda *_: at_step.append(None if image.grad is None else image.grad.clone()))
    starts = []
    for _ in range(2):
        starts.append(image.detach().clone())
        _run(name, fn, image, optimizer, loss_fn)
    if not reached:
        raise CheckFailed(f"{name}: no gradient reached the image: call loss.backward() on the loss of `image` itself")
    if not at_step:
        moved = not torch.equal(image.detach(), starts[0])  # an update by hand moves it without the optimiser
        what = "you changed the image yourself, not the optimiser" if moved else "the image did not change"
        raise CheckFailed(f"{name}: {what}: call optimizer.step() after loss.backward()")
    if len(at_step) != 2:
        raise CheckFailed(f"{name}: two calls made {len(at_step)} optimizer steps: call optimizer.step() once per call")
    if any(g is None or not g.any() for g in at_step):
        raise CheckFailed(f"{name}: optimizer.step() found no gradient: call it after loss.backward(), "
                          "with no optimizer.zero_grad() between the two")
    grads = [2 * (start - target) for start in starts]  # the gradient of the loss at the image each call began with
    if torch.allclose(at_step[0], -grads[0]):
        raise CheckFailed(f"{name}: the loss went up: step against the gradient (minimise, don't maximise)")
    if torch.allclose(at_step[1], grads[0] + grads[1]):
        raise CheckFailed(f"{name}: gradients accumulate across steps: call optimizer.zero_grad() in every step, "
                          "before loss.backward() or after optimizer.step()")
    if not all(torch.allclose(g, grad) for g, grad in zip(at_step, grads)):
        raise CheckFailed(f"{name}: optimizer.step() used another gradient than that of loss_fn(image): "
                          "call loss_fn(image).backward() once per step")
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
    "total_variation": total_variation,
    "step": _step_solution,
}


def _known(name: str) -> None:
    if name not in SOLUTIONS:
        raise KeyError(f"no exercise {name!r}; one of {', '.join(SOLUTIONS)}")


def solutions_on() -> bool:
    """True when the instructor's switch, ``NST_SOLUTIONS=1``, is set."""
    return os.environ.get(SOLUTIONS_ENV, "") not in ("", "0")


def exercise(name: str, attempt: Callable) -> Callable:
    """The learner's ``attempt``; with ``NST_SOLUTIONS=1`` the reference solution instead (the instructor's switch)."""
    _known(name)
    return SOLUTIONS[name] if solutions_on() else attempt


def solution(name: str) -> Callable:
    """The reference solution of exercise ``name``, for a learner who is stuck on it and wants to go on:
    ``my_tv = solution("total_variation")`` in place of ``my_tv = exercise("total_variation", my_tv)``."""
    _known(name)
    print(f"{name}: the reference solution from nst_helpers/checks.py, not yours")
    return SOLUTIONS[name]


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
