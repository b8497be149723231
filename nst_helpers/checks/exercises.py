"""The checks of exercises 1, 3 and 4 (notebooks 2 and 3): the content loss, the Gram matrix, one layer's style loss.

Each runs the learner's function on the feature maps of `core.SHAPES` and names what a wrong answer did.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import torch

from ..losses import content_loss, gram_matrix, style_layer_loss
from .core import BATCH, SHAPES, CheckFailed, call, differentiable, explain, inputs, ok, on_batch, one_number
from .diagnose import Formula, Monomial, close, diagnose

SQUARE = "square the differences: (F - P) ** 2, not abs(F - P) or F - P"
ROOT = "the square root of the sum (torch.norm?): the formula sums the squares, with no root"
XOR_N_M = "`^` is bitwise XOR in Python, not a power: 4*N^2*M^2 is not 4 N² M²; write 4 * N**2 * M**2"
SCRAMBLED = ("reshape(b, H*W, N) without a permute mixes channels and positions (memory holds each channel's map in "
             "one piece): reshape to (b, N, H*W), or permute(0, 2, 3, 1) first")
TWO = Fraction(2)


def check_content_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(F, P)``: the paper's content loss, 1/2 * sum over all entries of (F - P)^2, for tensors of any shape
    (feature maps (1, N, H, W), N x M matrices, and the 1-D tensors of the notebook's hand example)."""
    name = "content loss"
    pairs = [(inputs(*s, seed=i), inputs(*s, seed=i + 50).detach()) for i, s in enumerate(SHAPES)]
    outs = [call(name, fn, f, p.clone()) for f, p in pairs]  # a copy of P: the expected value needs it unchanged
    if outs[0].dim() != 0:
        raise CheckFailed(f"{name}: should be a single number (a 0-d tensor), got shape {tuple(outs[0].shape)}; "
                          "sum over all entries")
    fs, ps = [f.detach() for f, _ in pairs], [p for _, p in pairs]
    diffs = [f - p for f, p in zip(fs, ps)]
    formula = Formula(SHAPES, [content_loss(f, p) for f, p in zip(fs, ps)], Monomial(0.5), Monomial(1.0, 1, 1, 1))
    diagnose(name, outs, formula, [
        (SQUARE, [0.5 * d.abs().sum() for d in diffs]),
        (SQUARE, [0.5 * d.sum() for d in diffs]),
        ("you square the sum: sum the squares, ((F - P) ** 2).sum()", [0.5 * d.sum() ** 2 for d in diffs]),
        ("F² - P² is not (F - P)²: square the difference", [0.5 * (f**2 - p**2).sum() for f, p in zip(fs, ps)]),
        (ROOT, [0.5 * d.pow(2).sum().sqrt() for d in diffs]),
        (ROOT, [d.pow(2).sum().sqrt() for d in diffs]),
        (ROOT, [(0.5 * d.pow(2).sum()).sqrt() for d in diffs]),
        ("(0.5 * (F - P)) ** 2 squares the 1/2 too: write 0.5 * ((F - P) ** 2).sum()",
         [0.25 * d.pow(2).sum() for d in diffs]),
        ("you ignore the target P: the loss compares F with P, (F - P) ** 2", [0.5 * f.pow(2).sum() for f in fs]),
        ("F + P: the loss squares the difference F - P", [0.5 * (f + p).pow(2).sum() for f, p in zip(fs, ps)]),
    ])
    differentiable(name, outs[0], pairs[0][0])
    others = [
        ("the 1-D tensors of the hand example below", torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 0.0])),
        ("N x M matrices (2-D, the text's notation)", inputs(4, 15, seed=7), inputs(4, 15, seed=8).detach()),
        (f"a batch of {BATCH}, feature maps ({BATCH}, N, H, W)", inputs(BATCH, 3, 5, 7, seed=9),
         inputs(BATCH, 3, 5, 7, seed=10).detach()),
    ]
    for where, f, p in others:
        try:
            out = fn(f, p)
        except Exception as err:
            raise CheckFailed(f"{name}: right on (1, N, H, W) feature maps, but on {where} "
                              f"{explain(err).splitlines()[-1].strip(' ()')}; it needs no shapes: "
                              "0.5 * ((F - P) ** 2).sum() works for any shape") from None
        if f.dim() == 4 and isinstance(out, torch.Tensor):
            one_number(name, out)
        if not isinstance(out, torch.Tensor) or not close([out], [content_loss(f.detach(), p)]):
            raise CheckFailed(f"{name}: right on (1, N, H, W) feature maps, but not on {where}: "
                              "sum over every entry, whatever the shape")
    ok(name)


def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(F)`` with F of shape (1, N, H, W): the Gram matrix G = F F^T of shape (1, N, N), unnormalised."""
    name = "Gram matrix"
    feats = [inputs(*s, seed=i + 10) for i, s in enumerate(SHAPES)]
    outs = [call(name, fn, f) for f in feats]
    (_, n, h, w), fs = SHAPES[0], [f.detach() for f in feats]
    if outs[0].shape[-2:] == (h * w, h * w):
        raise CheckFailed(f"{name}: transposed: you computed F^T F ({h * w}x{h * w}, positions x positions); "
                          f"the Gram matrix is F F^T ({n}x{n}, channels)")
    if outs[0].shape == (n, n):
        raise CheckFailed(f"{name}: shape ({n}, {n}) has lost the batch dimension; "
                          f"return (1, {n}, {n}) (use F.reshape(b, n, h*w))")
    if outs[0].shape == (1, n, h, h):
        raise CheckFailed(f"{name}: shape (1, {n}, {h}, {h}): you multiplied each H x W map by its transpose; flatten "
                          "F to (1, N, H*W) first, then F @ F.transpose(1, 2)")
    if outs[0].numel() == 1:
        raise CheckFailed(f"{name}: a single number, shape {tuple(outs[0].shape)}: flatten only H and W, "
                          f"F.reshape(1, N, H*W) (f.flatten(2), not f.flatten(1)), and return G of shape (1, {n}, {n}) "
                          "with no sum or mean at the end")
    if outs[0].shape == (1, n):
        raise CheckFailed(f"{name}: shape (1, {n}): each channel with itself only (the diagonal of G); G holds every "
                          "pair of channels, F @ F.transpose(1, 2)")
    if outs[0].shape == (1, n, n) and not torch.allclose(outs[0], outs[0].transpose(-1, -2)):
        raise CheckFailed(f"{name}: not symmetric: a Gram matrix is F F^T, inner products of every pair of channels")
    flat = [f.reshape(1, f.shape[1], -1) for f in fs]
    scrambled = [f.reshape(1, -1, f.shape[1]) for f in fs]
    centred = [x - x.mean(-1, keepdim=True) for x in flat]
    formula = Formula(SHAPES, [gram_matrix(f) for f in fs], Monomial(1.0), Monomial(1.0, 0, 1, 1),
                      note="; the paper's G is unnormalised (the style loss normalises)",
                      known={Monomial(2.0): "G + G^T doubles a symmetric G (G^T = G already), as does a factor 2: "
                                             "return F F^T alone"})
    diagnose(name, outs, formula, [
        (SCRAMBLED, [x.transpose(1, 2) @ x for x in scrambled]),
        ("you subtract each channel's mean (a covariance): the paper's G = F F^T takes the features as they are",
         [x @ x.transpose(1, 2) for x in centred]),
        ("torch.cov is a covariance (each channel's mean subtracted, divided by M - 1): the paper's G = F F^T",
         [x @ x.transpose(1, 2) / (x.shape[-1] - 1) for x in centred]),
        ("G = F F^T, not its square root", [(x @ x.transpose(1, 2)).sqrt() for x in flat]),
        ("you normalise each channel's features (a cosine similarity): the paper's G = F F^T takes them as they are",
         [torch.nn.functional.normalize(x, dim=-1) @ torch.nn.functional.normalize(x, dim=-1).transpose(1, 2)
          for x in flat]),
        *[(f"you divide G by its own {what}: the paper's G is unnormalised (the style loss normalises)",
           [g / by(g) for g in formula.expected]) for what, by in (("sum", torch.sum), ("largest entry", torch.max),
                                                                   ("norm", torch.norm), ("trace", _trace))],
        ("the product of F with itself, not with its transpose: F @ F.transpose(1, 2)",
         [(x * x).sum(-1, keepdim=True).expand(1, x.shape[1], x.shape[1]) for x in flat]),
    ])
    differentiable(name, outs[0], feats[0])
    batch = inputs(BATCH, *SHAPES[0][1:], seed=16)
    out, per_image = on_batch(fn, batch), gram_matrix(batch.detach())  # one written for (1, N, H, W) may raise
    if out is not None and (close([out.reshape(-1)], [per_image.sum(0).reshape(-1)])
                            or out.shape == per_image.shape and not close([out], [per_image])):
        raise CheckFailed(f"{name}: your Gram mixes the images of a batch (one Gram matrix for the whole batch on "
                          f"{BATCH} images): reshape to (B, N, H*W), one Gram matrix per image")
    ok(name)


def _trace(g: torch.Tensor) -> torch.Tensor:
    return g.diagonal(dim1=-2, dim2=-1).sum()


def _style_solution(f: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    _, n, h, w = f.shape
    return style_layer_loss(gram_matrix(f), a, n, h * w)


PAPER = Monomial(0.25, -TWO, -TWO, -TWO)  # 1/(4 N² M²)


def check_style_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(F, A)``: one layer's style loss E_l = 1/(4 N^2 M^2) * sum (G - A)^2, with G the Gram matrix of F and A
    the target's, both unnormalised."""
    name = "style loss"
    cases = [(inputs(*s, seed=i + 20), gram_matrix(inputs(*s, seed=i + 30)).detach()) for i, s in enumerate(SHAPES)]
    outs = [call(name, fn, f, a.clone()) for f, a in cases]  # a copy of A, which the expected value needs
    if outs[0].dim() != 0:
        raise CheckFailed(f"{name}: should be a single number (a 0-d tensor), got shape {tuple(outs[0].shape)}")
    first = cases[0][0]
    expected = [_style_solution(f.detach(), a) for f, a in cases]
    for label, k in (("M", Monomial(1.0, 0, 1, 1)), ("N*M", Monomial(1.0, 1, 1, 1))):  # G / k - A is 0 for A = G / k
        at_g = call(name, fn, first, gram_matrix(first.detach()) / k(SHAPES[0]))
        if outs[0].item() != 0 and at_g.abs().item() < 1e-9 * expected[0].item():
            raise CheckFailed(f"{name}: you divide G by {label} but the target A comes unnormalised: leave G = F F^T "
                              "unnormalised, like A, and divide only the sum by 4 N² M²")
    grams = [gram_matrix(f.detach()) for f, _ in cases]
    scale = [PAPER(s) for s in SHAPES]
    known = {  # learners' normalisations whose cause has a name
        Monomial(0.25, TWO, TWO, TWO): "operator precedence: sum / 4*N**2*M**2 divides by 4, then multiplies by "
                                       "N² M²; write sum / (4 * N**2 * M**2)",
        Monomial(0.25, Fraction(-4), -TWO, -TWO): "1/N² too small: a .mean() where the formula has a sum over the "
                                                   "N x N entries, or M = F.numel() (N*H*W) in place of M = H*W",
        Monomial(1.0, Fraction(-4), -TWO, -TWO): "that is the 'mean' normalisation of some codebases, "
                                             "mean(((G - A) / (N M))²); the paper's is sum((G - A)²) / (4 N² M²)",
    }
    formula = Formula(SHAPES, expected, PAPER, Monomial(1.0, TWO), known=known)
    diffs = [g - a for g, (_, a) in zip(grams, cases)]
    xor = [(4 * n ^ 2 * m ^ 2, 4 * (n ^ 2) * (m ^ 2), (2 * n * m) ^ 2, 4 * (n * m) ^ 2, 4 * n**2 * m ^ 2,
            4 * n ^ 2 * m**2) for n, m in ((s[1], s[2] * s[3]) for s in SHAPES)]
    flat = [f.detach().reshape(1, -1, f.shape[1]) for f, _ in cases]
    diagnose(name, outs, formula, [
        *[(XOR_N_M, [d.pow(2).sum() / x[i] for d, x in zip(diffs, xor)]) for i in range(len(xor[0]))],
        ("a + where the formula multiplies: 4 * N**2 * M**2",
         [d.pow(2).sum() / (4 * n**2 + (h * w) ** 2) for d, (_, n, h, w) in zip(diffs, SHAPES)]),
        ("M = H*W, the number of positions, not H + W",
         [d.pow(2).sum() / (4 * n**2 * (h + w) ** 2) for d, (_, n, h, w) in zip(diffs, SHAPES)]),
        ("square the differences: (G - A) ** 2", [c * d.abs().sum() for c, d in zip(scale, diffs)]),
        ("square the differences: (G - A) ** 2", [c * d.sum() for c, d in zip(scale, diffs)]),
        ("G² - A² is not (G - A)²: square the difference",
         [c * (g.pow(2) - a.pow(2)).sum() for c, g, (_, a) in zip(scale, grams, cases)]),
        (ROOT, [c * d.pow(2).sum().sqrt() for c, d in zip(scale, diffs)]),
        ("A already is a Gram matrix: compare G with A itself, not with gram(A)",
         [c * (g - a @ a.transpose(1, 2)).pow(2).sum() for c, g, (_, a) in zip(scale, grams, cases)]),
        ("you ignore the target A: the loss compares G with A, (G - A) ** 2",
         [c * g.pow(2).sum() for c, g in zip(scale, grams)]),
        ("your G is not the Gram matrix: " + SCRAMBLED,
         [c * (x.transpose(1, 2) @ x - a).pow(2).sum() for c, x, (_, a) in zip(scale, flat, cases)]),
    ])
    differentiable(name, outs[0], first)
    batch = inputs(BATCH, *SHAPES[0][1:], seed=26)
    target = gram_matrix(inputs(BATCH, *SHAPES[0][1:], seed=36)).detach()
    out = on_batch(fn, batch, target.clone())
    one_number(name, out)
    _, n, h, w = SHAPES[0]
    folded = gram_matrix(batch.detach().transpose(0, 1).reshape(1, n, BATCH * h, w))  # one G of all the images
    if out is not None and out.numel() == 1 and any(close([out.reshape(())], [style_layer_loss(folded, target, n, m)])
                               for m in (h * w, BATCH * h * w)):
        raise CheckFailed(f"{name}: your G mixes the images of a batch (one Gram matrix for {BATCH} images): reshape "
                          "F to (B, N, H*W), one Gram matrix per image")
    ok(name)
