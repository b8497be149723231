"""L-BFGS on an image's pixels, for a loop that clamps them to [0, 1] after every step.

L-BFGS (Nocedal & Wright, *Numerical Optimization*, Algorithm 7.4) steps along -H g, where H estimates the inverse
Hessian of the loss from the last few pairs (s, y): s a step the pixels took, y the change of the gradient over it.
Three details make it work on a clamped image, from the paper's flat start or from the photo, where PyTorch's
`torch.optim.LBFGS` does not:

- s is the step the pixels actually took, after the clamp. PyTorch pairs y with the step it proposed; where the
  clamp cut that step short, the curvature it learns is wrong and later steps overshoot (from noise at 128 px, 11
  of 50 evaluations jumped to more than twice the loss before, and the run ended twice as high as this one).
- A pair is kept only if its curvature s.y is clearly positive: the cosine of s and y at least ``CAUTIOUS`` (Li and
  Fukushima's cautious update). From the paper's flat grey start the first gradient step's pair is nearly
  orthogonal (cosine 0.001 at 512 px); kept, it sent the next step to pixels of +-38 and the loss up 40x.
- No step moves the pixels by more than ``MAX_STEP`` (RMS; a trust region). From the photo, the second step of a
  transfer with blended styles proposed an RMS change of 2.3 (the clamp made it a picture of saturated pixels,
  the loss went up 11x and the run never recovered: 0.5 of its start after 100 steps, 0.046 with the cap). In
  healthy runs the cap binds in about 1 step in 200 (notebook 4's grid) or never (notebook 2's reconstructions).

With no pair yet it takes a plain gradient step that moves the pixels by ``first_step`` (RMS), whatever the loss's
scale (PyTorch's first step is min(1, 1/|g|_1) times the learning rate: tiny on a large image). From a good image
(a run stopped and resumed, whose curvature pairs are gone) that step is far too long: the gradient points along
the stiffest directions, and at 128 px a first step of 0.04 sent the loss from 0.91 to 2702, where ``RESUME_STEP``
raised it 1% and the run went on as if never stopped. There is no line search: one step is one evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

FIRST_STEP = 0.04  # RMS pixel change of the plain gradient step (about 10 grey levels)
RESUME_STEP = 1e-3  # the same for a run that continues from a good image (a quarter of a grey level)
CAUTIOUS = 0.01  # smallest cosine of s and y for a pair to be kept (the first pair from grey: 0.001; later 0.3-0.6)
MAX_STEP = 0.1  # largest RMS pixel change of one step (about 25 grey levels); healthy steps: median 0.01, 99% < 0.08


class LBFGS:
    """L-BFGS for one tensor of pixels; ``step(closure)`` evaluates the loss (the closure back-propagates) and moves."""

    def __init__(self, image: torch.Tensor, lr: float = 1.0, history: int = 100,
                 first_step: float = FIRST_STEP) -> None:
        self.image, self.lr, self.history, self.first_step = image, lr, history, first_step
        self.pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / s.y), oldest first
        self.last: tuple[torch.Tensor, torch.Tensor] | None = None  # (pixels, gradient) at the last evaluation

    def zero_grad(self) -> None:
        self.image.grad = None

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        loss = closure()
        x, g = self.image.detach().flatten().clone(), self.image.grad.flatten().clone()
        if self.last is not None:
            s, y = x - self.last[0], g - self.last[1]  # the step taken (clamp included) and what it did to the gradient
            sy = (s @ y).item()
            if sy > 0 and sy >= CAUTIOUS * (s.norm() * y.norm()).item():
                self.pairs = self.pairs[-(self.history - 1):] + [(s, y, 1 / sy)]
        self.last = (x, g)
        step = self.inverse_hessian_times(g).mul_(self.lr)
        step.mul_(min(1.0, MAX_STEP / max(step.pow(2).mean().sqrt().item(), 1e-30)))
        with torch.no_grad():
            self.image.sub_(step.view_as(self.image))
        return loss

    def inverse_hessian_times(self, g: torch.Tensor) -> torch.Tensor:
        """H g by the two-loop recursion; with no pairs, g scaled to an RMS of ``first_step``."""
        q, alphas = g.clone(), []
        for s, y, rho in reversed(self.pairs):
            alphas.append(rho * (s @ q).item())
            q.sub_(y, alpha=alphas[-1])
        if self.pairs:
            s, y, _ = self.pairs[-1]
            q.mul_((s @ y).item() / (y @ y).item())  # the usual start, H0 = (s.y / y.y) I
        else:
            q.mul_(self.first_step / max(g.pow(2).mean().sqrt().item(), 1e-30))
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas)):
            q.add_(s, alpha=alpha - rho * (y @ q).item())
        return q
