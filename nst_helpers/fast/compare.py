"""A network against the optimisation, as Johnson et al. (2016) compared theirs: the same objective, on a
photo the network never saw, the network's one pass beside L-BFGS from the paper's start after so many steps."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..objective import Objective, style_weight_for_ratio
from ..optimize import optimize_image
from ..vgg import VGG
from .network import TransformNet
from .train import NORMALIZATION

STEPS = (25, 50, 100, 200)  # the optimisation's steps the network is compared with
TERMS = ("content", "style", "total")


def against_optimization(
    vgg: VGG,
    net: TransformNet,
    photo: torch.Tensor,
    style: torch.Tensor,
    ratio: float,
    steps: Sequence[int] = STEPS,
    precision: str = "fp32",
) -> dict[str, dict[str, float]]:
    """Row name -> weighted content, style and total loss on ``photo``: ``"network"`` for ``net``'s pass, ``"L-BFGS n"``
    for an L-BFGS optimisation from white noise (the paper's start) after n of ``steps``; the objective is
    `Objective`'s with alpha/beta = ``ratio`` at 512 px (`style_weight_for_ratio`), in ``precision``."""
    objective = Objective(vgg, photo, style, normalization=NORMALIZATION, precision=precision,
                          style_weight=style_weight_for_ratio(ratio, *photo.shape[-2:], NORMALIZATION))
    with torch.no_grad():
        terms = {k: v.item() for k, v in objective(net(photo.to(vgg.device))).items()}
    rows = {"network": {**terms, "total": sum(terms.values())}}
    run = optimize_image(objective, init="noise", steps=max(steps) + 1, progress=False)  # history[n]: after n steps
    for n in steps:
        rows[f"L-BFGS {n}"] = {term: run.history[term][n] for term in TERMS}
    return rows


def comparison_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """A Markdown table, one line per entry of ``results`` (a label -> `against_optimization`'s rows): the total loss
    of the network and of the optimisation after each of its steps, in units of 1e9, and the network's total over
    that of the optimisation after 50 steps."""
    steps = [name for name in next(iter(results.values())) if name != "network"]
    lines = ["| | network | " + " | ".join(steps) + " | network / L-BFGS 50 |", "|---" * (len(steps) + 3) + "|"]
    for label, rows in results.items():
        totals = " | ".join(f"{rows[name]['total'] / 1e9:.2f}" for name in ["network", *steps])
        lines.append(f"| {label} | {totals} | {rows['network']['total'] / rows['L-BFGS 50']['total']:.2f}x |")
    return "\n".join(lines)
