"""Working out what a wrong answer did: its ratio to the right answer read as a formula in the sizes, or one of a
few structural variants of the right answer (times such a formula), or, failing both, wrong values at stated sizes.

The learner's function runs on several inputs whose sizes (N, H, W) are distinct and not powers of each other, so
that a factor of N, of M = H*W, of N*M or of a constant can only be read one way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from .core import CheckFailed

TOLERANCE = 1e-6  # relative: float32 arithmetic in the learner's code stays well inside it
VARIANT_RTOL = 1e-3  # a slip's values match within this (an eps added inside a root, say); passing needs 1e-5
SUPERSCRIPTS = {2: "²", 3: "³", 4: "⁴"}
MEANING = {"N": "the number of channels, F.shape[1]", "M": "M = H*W, the number of positions"}


@dataclass(frozen=True)
class Monomial:
    """c * N^n * H^h * W^w (exponents in halves: a square root is one)."""

    c: float
    n: Fraction = Fraction(0)
    h: Fraction = Fraction(0)
    w: Fraction = Fraction(0)

    def __call__(self, shape: tuple[int, ...]) -> float:
        _, n, h, w = shape
        return self.c * n ** float(self.n) * h ** float(self.h) * w ** float(self.w)

    def __mul__(self, other: Monomial) -> Monomial:
        return Monomial(self.c * other.c, self.n + other.n, self.h + other.h, self.w + other.w)

    def inverse(self) -> Monomial:
        return Monomial(1 / self.c, -self.n, -self.h, -self.w)

    def constant(self) -> bool:
        return self.n == self.h == self.w == 0

    def simple(self) -> bool:
        """Whether the constant is a small fraction, as a formula's are (not a size written in as a number)."""
        return abs(float(Fraction(abs(self.c)).limit_denominator(64)) - abs(self.c)) <= TOLERANCE * abs(self.c)

    def atoms(self) -> dict[str, Fraction]:
        """The exponents in the notebooks' notation: M where H and W come together."""
        return {"N": self.n, "M": self.h} if self.h == self.w else {"N": self.n, "H": self.h, "W": self.w}

    def named(self, symbols: dict[str, str]) -> str:
        """E.g. ``1/(4*N²*M²)``, with ``symbols`` renaming atoms (the image's C for N)."""
        top, bottom = [], []
        constant = Fraction(abs(self.c)).limit_denominator(64)
        if not self.simple():
            top.append(f"{abs(self.c):.4g}")
        else:
            top += [str(constant.numerator)] if constant.numerator != 1 else []
            bottom += [str(constant.denominator)] if constant.denominator != 1 else []
        for atom, e in self.atoms().items():
            if e:
                (top if e > 0 else bottom).append(power(symbols.get(atom, atom), abs(e)))
        sign, numerator = "-" if self.c < 0 else "", "*".join(top) or "1"
        if not bottom:
            return sign + numerator
        return f"{sign}{numerator}/{bottom[0] if len(bottom) == 1 else '(' + '*'.join(bottom) + ')'}"

    def __str__(self) -> str:
        return self.named({})


def power(atom: str, e: Fraction) -> str:
    if e == 1:
        return atom
    if e == Fraction(1, 2):
        return f"sqrt({atom})"
    return atom + SUPERSCRIPTS[int(e)] if e.denominator == 1 and int(e) in SUPERSCRIPTS else f"{atom}^{e}"


def fit(ratios: list[float], shapes: list[tuple[int, ...]]) -> Monomial | None:
    """The monomial that gives every ratio, exponents rounded to halves; None if there is none."""
    if not all(math.isfinite(r) and r != 0 for r in ratios) or len({r > 0 for r in ratios}) != 1:
        return None
    sizes = torch.tensor([s[1:] for s in shapes], dtype=torch.float64).log()
    varying = (sizes != sizes[0]).any(0)  # a size the same in every input (3 channels, say) is in the constant
    design = torch.cat([torch.ones(len(shapes), 1, dtype=torch.float64), sizes[:, varying]], 1)
    logs = torch.tensor([math.log(abs(r)) for r in ratios], dtype=torch.float64).unsqueeze(1)
    exponents = torch.zeros(3, dtype=torch.float64)
    exponents[varying] = torch.linalg.lstsq(design, logs).solution.flatten()[1:]
    unit = Monomial(1.0, *(Fraction(round(2 * e.item()), 2) for e in exponents))
    c = math.exp(sum(math.log(abs(r) / unit(s)) for r, s in zip(ratios, shapes)) / len(shapes))
    simple = Fraction(c).limit_denominator(64)  # 1/2, 4, 1/4 exactly, so that they compare equal
    c = math.copysign(float(simple) if abs(float(simple) - c) <= TOLERANCE * c else c, ratios[0])
    found = Monomial(c, unit.n, unit.h, unit.w)
    return found if all(abs(r - found(s)) <= TOLERANCE * abs(r) for r, s in zip(ratios, shapes)) else None


def ratio_to(outs: list[torch.Tensor], values: list[torch.Tensor], shapes: list[tuple[int, ...]]) -> Monomial | None:
    """out / value as a monomial in the sizes, where each case's ratio is one number over all its entries."""
    ratios = []
    for out, value in zip(outs, values):
        if out.shape != value.shape:
            return None
        r = (out.detach().double() / value.detach().double()).flatten()
        if not torch.isfinite(r).all() or not torch.allclose(r, r[0].expand_as(r), rtol=TOLERANCE, atol=0):
            return None
        ratios.append(r[0].item())
    return fit(ratios, shapes)


def close(outs: list[torch.Tensor], values: list[torch.Tensor], rtol: float = 1e-5) -> bool:
    return all(o.shape == v.shape and torch.allclose(o.detach().double(), v.detach().double(), rtol=rtol, atol=1e-8,
                                                     equal_nan=True)
               for o, v in zip(outs, values))


@dataclass
class Formula:
    """An exercise's right answer on each of ``shapes``: ``prefactor`` (None where it is no monomial) times a sum
    over ``entries`` terms (for naming a mean); ``known``, learners' prefactors whose cause has a name."""

    shapes: list[tuple[int, ...]]
    expected: list[torch.Tensor]
    prefactor: Monomial | None = None
    entries: Monomial | None = None
    note: str = ""  # said after a normalisation slip, e.g. where the normalisation belongs
    known: dict[Monomial, str] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)
    what: str = "feature maps"


def _normalisation(theirs: Monomial, formula: Formula) -> str:
    """``theirs``, the learner's prefactor, against the formula's, in words."""
    ours, name = formula.prefactor, lambda m: m.named(formula.symbols)
    said = f"you multiply by {name(theirs)} where the formula has {name(ours)}"
    if not theirs.simple():
        said += " (a size written in as a number? take the sizes from F.shape)"
    if formula.entries is not None and (times := theirs * formula.entries).constant() and times.simple():
        mean = "a mean" if times.c == 1 else f"{name(times)} times a mean"
        return f"{said}: {mean} over the {name(formula.entries)} entries, where the formula sums{formula.note}"
    if theirs in formula.known:
        return f"{said}: {formula.known[theirs]}"
    mine, wanted = theirs.atoms(), ours.atoms()
    if "H" in mine:
        m = wanted.get("M", Fraction(0))
        which = [a for a, other in (("H", "W"), ("W", "H")) if mine[a] == m and mine[other] == 0]
        if not m:
            return f"{said}: the formula has no H or W{formula.note}"
        if which:
            return f"{said}: your M is {which[0]}, {MEANING['M']}{formula.note}"
        return (f"{said}: H and W to different powers, but M = H*W, so {power('M', abs(m))} is "
                f"(H*W)**{abs(m)}{formula.note}")
    if any(e > 0 for e in mine.values()) and all(e <= 0 for e in wanted.values()):
        return f"{said}: you multiply by a size the formula divides by (operator precedence? a / b * c is (a / b) * c)"
    more, less, legend = [], [], []
    for atom, e in mine.items():
        if (d := e - wanted.get(atom, Fraction(0))) and atom in MEANING:
            symbol = formula.symbols.get(atom, atom)
            (more if d < 0 else less).append(power(symbol, abs(d)))
            legend.append(f"{symbol}: {MEANING[atom].removeprefix('M = ')}")
    if not legend:
        return said + formula.note
    by = [f"{' and '.join(more)} more"] if more else []
    by += [f"{'by ' if more else ''}{' and '.join(less)} less"] if less else []
    return f"{said}: you divide by {' and '.join(by)} than the formula ({'; '.join(legend)}){formula.note}"


def _slip(found: Monomial, formula: Formula) -> str:
    """What a value ``found`` times the formula's means."""
    times = found.named(formula.symbols)
    if formula.prefactor is None:
        what = f"off by a constant factor of {times}" if found.constant() else f"{times} times the formula's value"
        return f"{what}: {formula.known.get(found, 'compare your normalisation with the formula')}{formula.note}"
    said = _normalisation(formula.prefactor * found, formula)
    return f"off by a constant factor of {times}: {said}" if found.constant() else said


def diagnose(name: str, outs: list[torch.Tensor], formula: Formula,
             variants: list[tuple[str, list[torch.Tensor]]]) -> None:
    """Pass if ``outs`` are the formula's values; else raise CheckFailed naming what the learner computed: a
    normalisation of the right sum, or a structural variant (message, its values with the formula's prefactor),
    possibly normalised otherwise too; else the sizes used and the value expected."""
    for out, exp in zip(outs, formula.expected):
        if out.shape != exp.shape:
            raise CheckFailed(f"{name}: wrong shape {tuple(out.shape)}, expected {tuple(exp.shape)}")
    if close(outs, formula.expected):
        return
    for message, values in variants:
        if close(outs, values, rtol=VARIANT_RTOL):
            raise CheckFailed(f"{name}: {message}")
    nan = [s for o, s in zip(outs, formula.shapes) if not torch.isfinite(o).all()]
    if nan and len(nan) < len(outs) and all(2 in s[2:] for s in nan):
        raise CheckFailed(f"{name}: NaN only where H or W is 2 ({', '.join(map(str, nan))}): a slice off by one "
                          "(1:-1 or :-2?) leaves no pairs of neighbours there; x[..., 1:] - x[..., :-1] takes all W-1 "
                          "pairs")
    if nan:
        raise CheckFailed(f"{name}: the result is NaN or infinite: a mean over an empty tensor (a difference along "
                          "an axis of size 1, such as the batch, dim 0?), or a division by zero")
    if all((o == 0).all() for o in outs):
        raise CheckFailed(f"{name}: 0 on every input: an integer division (1 // 2 == 0: write 0.5 or 1 / 2), or a "
                          "tensor compared with itself, or with a copy of it?")
    if (found := ratio_to(outs, formula.expected, formula.shapes)) is not None:
        raise CheckFailed(f"{name}: {_slip(found, formula)}")
    for message, values in variants:
        if (times := ratio_to(outs, values, formula.shapes)) is not None:
            then = _slip(times, formula) if formula.prefactor else f"{times.named(formula.symbols)} times that"
            raise CheckFailed(f"{name}: {message}; and {then}")
    shape, got, want = formula.shapes[0], outs[0].flatten()[0].item(), formula.expected[0].flatten()[0].item()
    _, n, h, w = shape
    sizes = f"{formula.symbols.get('N', 'N')}={n}, H={h}, W={w}"
    raise CheckFailed(f"{name}: wrong values (no normalisation or known slip of the formula gives them): on "
                      f"{formula.what} of shape {shape} ({sizes}) got {got:.6g}, expected {want:.6g}")
