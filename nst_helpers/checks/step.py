"""The check of exercise 2 (notebook 2): one optimisation step, written out or with a closure."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .core import CheckFailed, ok, run

LossFn = Callable[[torch.Tensor], torch.Tensor]
LR = 0.1  # the check's SGD: each step moves the image by -LR times the gradient


def check_step(fn: Callable[[torch.Tensor, torch.optim.Optimizer, LossFn], object]) -> None:
    """``fn(image, optimizer, loss_fn)``: one optimisation step on the gradient of this step's loss alone, in any
    order that gives it (zero_grad, backward, step; or backward, step, zero_grad), or as ``optimizer.step(closure)``
    with a closure that back-propagates and returns the loss (a tensor, detached or not, or a number)."""
    name = "optimisation step"
    target = torch.linspace(0, 1, 12).reshape(1, 3, 2, 2)

    def loss_fn(x: torch.Tensor) -> torch.Tensor:
        return (x - target).pow(2).sum()

    image = torch.zeros(1, 3, 2, 2, requires_grad=True)
    optimizer = torch.optim.SGD([image], lr=LR)
    reached: list[torch.Tensor] = []  # every gradient backpropagated to the image
    used: list[torch.Tensor | None] = []  # the image's .grad as each step used it (after a closure has run)
    image.register_hook(reached.append)
    optimizer.register_step_post_hook(lambda *_: used.append(None if image.grad is None else image.grad.clone()))
    starts = []
    for _ in range(2):
        starts.append(image.detach().clone())
        run(name, fn, image, optimizer, loss_fn)
    if not reached:
        raise CheckFailed(f"{name}: no gradient reached the image: call loss.backward() (with the brackets) on the "
                          "loss of `image` itself")
    if not used:
        moved = not torch.equal(image.detach(), starts[0])  # by hand, or by an optimiser of the learner's own
        what = ("the image moved, but not by `optimizer`: you changed it yourself, or with an optimiser you made; "
                "use the one passed in" if moved else "the image did not change (`image = ...` makes a new tensor)")
        raise CheckFailed(f"{name}: {what}: call optimizer.step() (with the brackets) after loss.backward()")
    if len(used) != 2:
        raise CheckFailed(f"{name}: two calls made {len(used)} optimizer steps: call optimizer.step() once per call")
    if any(g is None or not g.any() for g in used):
        raise CheckFailed(f"{name}: optimizer.step() found no gradient: call it after loss.backward() (or pass it "
                          "a closure that calls it), with no optimizer.zero_grad() (or image.grad.zero_()) between")
    grads = [2 * (start - target) for start in starts]  # the gradient of the loss at the image each call began with
    if torch.allclose(used[0], -grads[0]):
        raise CheckFailed(f"{name}: the loss went up: step against the gradient (minimise, don't maximise)")
    if torch.allclose(used[1], grads[0] + grads[1]):
        raise CheckFailed(f"{name}: gradients accumulate across steps: call optimizer.zero_grad() (with the brackets) "
                          "in every step, before loss.backward() or after optimizer.step()")
    if not all(torch.allclose(g, grad) for g, grad in zip(used, grads)):
        k = (used[0] * grads[0]).sum() / grads[0].pow(2).sum()  # the multiple of the right gradient it is closest to
        if all(torch.allclose(g, k * grad) for g, grad in zip(used, grads)):
            raise CheckFailed(f"{name}: optimizer.step() used {k.item():.3g} times the gradient of loss_fn(image) "
                              "(backward() twice, or a scaled loss?): back-propagate loss_fn(image) once per step")
        raise CheckFailed(f"{name}: optimizer.step() used another gradient than that of loss_fn(image): "
                          "call loss_fn(image).backward() once per step")
    ends = [*starts[1:], image.detach()]
    if not all(torch.allclose(end, start - LR * grad) for start, end, grad in zip(starts, ends, grads)):
        raise CheckFailed(f"{name}: the image moved more than optimizer.step() moved it (a change by hand, or a new "
                          "learning rate, beside the step): let the optimiser alone change it")
    ok(name)
