"""What every check shares: the verdict (`CheckFailed`), running the learner's code, and the causes of the
exceptions it raises, each in one line with its fix."""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

SHAPES = [(1, 3, 5, 7), (1, 5, 7, 3), (1, 7, 2, 5), (1, 2, 3, 11), (1, 6, 11, 2), (1, 11, 3, 2)]  # (1, N, H, W)

NOT_WRITTEN = "not written yet: replace the `raise NotImplementedError` line with your code"
XOR = "`^` is bitwise XOR in Python, not a power: write x ** 2 or x.pow(2)"
GRAM = ("the Gram matrix is F F^T with F of shape (1, N, H*W): transpose the last two, F.transpose(1, 2) or F.mT "
        "(.T on a 3-D tensor reverses all three; torch.matmul(f, f) multiplies each H x W map by itself)")

BRACKETS = "a method without its brackets, the method itself, not its value: you wrote .sum instead of .sum()"
MISMATCH = "must match the size of tensor b"
IN_PLACE = "leaf Variable that requires grad is being used in an in-place operation"


def in_place(example: str) -> str:
    """The in-place slip's cause, with the fix in the exercise's notation (``example``)."""
    return ("an in-place operation (-=, +=, *=, .sub_()) on a tensor that requires grad: compute a new tensor, "
            f"{example}")


# (words in the exception's text, the cause and the fix): the exceptions a learner's slip raises most often
CAUSES = [
    ("bitwise_xor", XOR),
    ("builtin_function_or_method'", BRACKETS),
    ("'method'", BRACKETS),
    (IN_PLACE, in_place("y = x * 2, not x *= 2")),
    ("cannot resize variables that require grad", "resize_() changes a tensor that requires grad in place: "
     "reshape it into a new tensor, F.reshape(b, N, H*W)"),
    ("self must be a matrix", "torch.mm multiplies 2-D matrices only: for batched (b, N, H*W) tensors use "
     "torch.bmm or @"),
    ("does not require grad and does not have a grad_fn",
     "backward() on a loss with no graph: it was computed under torch.no_grad() or from .detach(), .item() or "
     ".numpy(); compute the loss with gradients on"),
    ("'float' object has no attribute 'backward'",
     ".item() or float() made the loss a Python number before backward(): call loss.backward() on the tensor, "
     "and .item() only to print it"),
    ("expected 4, got 3",
     "a 3-D tensor where feature maps (1, N, H, W) go: a Gram matrix (1, N, N) given to gram() again? "
     "A already is a Gram matrix: compare gram(F) with A itself"),
    ("is invalid for input of size",
     "a reshape whose sizes do not multiply to the tensor's: feature maps (b, N, H, W) flatten to (b, N, H*W)"),
    ("object is not callable", "optimizer.step() takes nothing or a function (a closure), not a loss: call "
     "optimizer.step(), or optimizer.step(closure) without calling closure yourself"),
    ("'function' object has no attribute 'backward'", "loss_fn is the function: call it on the image, "
     "loss = loss_fn(image), then loss.backward()"),
    ("'NoneType' object has no attribute 'zero_'", "image.grad is None before the first backward(): clear it with "
     "optimizer.zero_grad(), which handles that"),
    ("Can't call numpy() on Tensor that requires grad", ".numpy() leaves the graph: write the loss with torch "
     "operations, so that it stays a tensor the gradient can flow through"),
    ("If dim is not specified but ord is", "torch.linalg.norm(x, 'fro') takes 1-D or 2-D tensors only: sum the "
     "squares, (x ** 2).sum()"),
    ("1D tensors expected", "torch.dot takes 1-D tensors only: flatten them first, or sum the products, "
     "(x * y).sum()"),
    ("t() expects a tensor with <= 2 dimensions", ".t() works on 2-D tensors only: transpose the last two "
     "dimensions, F.transpose(1, 2) or F.mT"),
    ("view size is not compatible", ".view() of a tensor whose memory is not in one piece (after a permute or a "
     "transpose): use .reshape()"),
    ("subscripts in the equation", "einsum wants one subscript per dimension: 'bnhw,bmhw->bnm' for feature maps "
     "(1, N, H, W), 'bnk,bmk->bnm' for (1, N, H*W)"),
    ("batch2 tensor", "a matrix product of shapes that do not fit: " + GRAM),
    ("cannot be multiplied", "a matrix product of shapes that do not fit: " + GRAM),
    (MISMATCH, "two tensors of shapes that do not match in an elementwise operation: "
     "compare your shapes with the formula's (print x.shape)"),
]


def _slices(text: str) -> str:
    """A shape mismatch in the total variation: dx + dy, or a difference of two slices of different lengths."""
    sizes = re.search(r"tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d)",
                      text)
    if sizes and int(sizes[3]) in (2, 3) and SHAPES[0][int(sizes[3])] not in (int(sizes[1]), int(sizes[2])):
        return ("slices of different lengths (off by one: 1:-1 or :-2 on one side?): x[..., 1:] and x[..., :-1] "
                "both hold W-1 entries (x[..., 1:, :] and x[..., :-1, :] H-1): subtract slices of the same length")
    return ("dx (.., H, W-1) and dy (.., H-1, W) have different shapes: take each direction's mean on its own, "
            "dx.pow(2).mean() + dy.pow(2).mean() (and subtract slices of the same length)")


ELEMENTWISE = ("a matrix product (@, torch.matmul) where the formula works entry by entry: (F - P) ** 2 squares "
               "each entry; sum them with .sum()")
CAUSES_IN: dict[str, list[tuple[str, str | Callable[[str], str]]]] = {  # particular to one exercise, looked up first
    "content loss": [("batch2 tensor", ELEMENTWISE), ("cannot be multiplied", ELEMENTWISE),
                     (IN_PLACE, in_place("d = F - P, not F -= P"))],
    "Gram matrix": [(IN_PLACE, in_place("x = F.reshape(b, N, H*W) / M, not F /= M"))],
    "style loss": [(MISMATCH, "G and A have different shapes: G is F F^T, (1, N, N) like A, not F^T F (M x M)"),
                   (IN_PLACE, in_place("D = G - A, not G -= A or F /= M"))],
    "total variation": [(MISMATCH, _slices), (IN_PLACE, in_place("dx = x[..., 1:] - x[..., :-1], not x -= ..."))],
    "optimisation step": [("loss_fn() missing 1 required positional argument",
                           "optimizer.step(closure) calls closure() with no arguments, and loss_fn takes the image: "
                           "pass a closure that takes none and calls loss_fn(image) (def closure(): ...)"),
                          (IN_PLACE, in_place("optimizer.step(), not image -= lr * image.grad: only the optimiser "
                                              "changes the image"))],
}


class CheckFailed(AssertionError):
    """The learner's function gives a wrong answer; the message says how."""

    def _render_traceback_(self) -> list[str]:
        """In Jupyter: the verdict (one line, and the original error under it), not a traceback into the checks."""
        first, *rest = str(self).splitlines()
        return [f"\x1b[31mCheckFailed\x1b[0m: {first}", *rest]


def explain(err: Exception, name: str = "") -> str:
    """What an exception in the learner's code (in check ``name``) means: the cause and the fix in one line, then
    the original text on a second line (one line only where there is nothing to add)."""
    text = " ".join(str(err).split())
    original = f"{type(err).__name__}: {text}"
    if isinstance(err, NotImplementedError) and "bitwise_xor" not in text:
        return NOT_WRITTEN
    for words, cause in CAUSES_IN.get(name, []) + CAUSES:
        if words in text:
            return f"{cause(text) if callable(cause) else cause}\n  ({original})"
    return f"your function raised {original}"


def run(name: str, fn: Callable, *args: object) -> object:
    """``fn(*args)``; an exception is a CheckFailed that says what it means."""
    try:
        return fn(*args)
    except Exception as err:  # the learner's code raised: say so, and why
        raise CheckFailed(f"{name}: {explain(err, name)}") from None


def call(name: str, fn: Callable, *args: torch.Tensor) -> torch.Tensor:
    """``fn(*args)``, which must return a tensor."""
    out = run(name, fn, *args)
    if out is None:
        raise CheckFailed(f"{name}: your function returned None; did you forget `return`?")
    if callable(out):
        raise CheckFailed(f"{name}: you returned {BRACKETS}")
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{name}: expected a torch tensor, got {type(out).__name__} (did you use .item() or numpy?)")
    return out


BATCH = 2  # the size of the batch each check also runs on: the notebooks' answers get (1, ...) and the package's B


def on_batch(fn: Callable, *args: torch.Tensor) -> torch.Tensor | None:
    """``fn(*args)`` on a batch of BATCH images; None where it raises or returns no tensor. An answer written for
    one image, as the notebooks' comments have it, need not take a batch; the checks fail only the answers that
    handle one wrongly (its images mixed, one number per image)."""
    try:
        out = fn(*args)
    except Exception:  # written for (1, ...) only: the notebooks never give it more
        return None
    return out if isinstance(out, torch.Tensor) else None


def one_number(name: str, out: torch.Tensor | None) -> None:
    """A loss of a batch is one number, not one per image."""
    if out is not None and out.numel() == BATCH:
        raise CheckFailed(f"{name}: one number expected, got one per image (shape {tuple(out.shape)}) on a batch of "
                          f"{BATCH}: reduce over every dimension, the batch too (.sum() or .mean() with no dim)")


def inputs(*shape: int, seed: int) -> torch.Tensor:
    """Positive random values of ``shape`` in float64, requiring grad."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64).abs().requires_grad_(True)


def differentiable(name: str, out: torch.Tensor, source: torch.Tensor) -> None:
    """The result must be in the graph, with a gradient reaching ``source``."""
    if not out.requires_grad:
        raise CheckFailed(f"{name}: the result is detached from the graph "
                          "(no .detach(), .item(), .numpy() or torch.no_grad())")
    (grad,) = torch.autograd.grad(out.sum(), source, allow_unused=True)
    if grad is None or not torch.isfinite(grad).all() or grad.abs().sum() == 0:
        raise CheckFailed(f"{name}: no gradient flows back to the features")


def ok(name: str) -> None:
    print(f"{name}: correct")
