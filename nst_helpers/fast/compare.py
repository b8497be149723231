"""A network against the optimisation, as Johnson et al. (2016) compared theirs: the same objective, on a
photo the network never saw, the network's one pass beside L-BFGS from the paper's start after so many steps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from ..folders import output_dir
from ..objective import Objective
from ..optimize import optimize_image
from ..vgg import VGG
from .network import TransformNet
from .train import RATIO, fast_objective

STEPS = (25, 50, 100, 200)  # the optimisation's steps the network is compared with


def measure_cache(style: str, photo: str, size: int, ratio: float) -> Path:
    """Where `against_optimization`'s L-BFGS rows for one style, held-out photo, size and ratio are cached, shared by
    tools/train_fast_networks.py and benchmarks/fast_measure.py."""
    return output_dir() / "fast_measure" / f"fast_{style}_{Path(photo).stem}_{size}_{ratio:g}.json"
TERMS = ("content", "style", "total")


def against_optimization(
    vgg: VGG,
    net: TransformNet,
    photo: torch.Tensor,
    style: torch.Tensor,
    ratio: float = RATIO,
    steps: Sequence[int] = STEPS,
    precision: str = "fp32",
    cache: Path | None = None,
) -> dict[str, dict[str, float]]:
    """Row name -> weighted content, style and total loss on ``photo``: ``"network"`` for ``net``'s pass, ``"L-BFGS n"``
    for an L-BFGS optimisation from white noise (the paper's start) after n of ``steps``; the objective is the fast
    networks' (`fast_objective`) with alpha/beta = ``ratio``, in ``precision``. The L-BFGS rows do not depend on the
    network: with ``cache`` (a JSON file) they are read from there if it exists, else written there."""
    objective = fast_objective(vgg, photo, style, ratio, precision=precision)
    with torch.no_grad():
        terms = {k: v.item() for k, v in objective(net(photo.to(vgg.device))).items()}
    rows = {"network": {**terms, "total": sum(terms.values())}}
    return rows | optimization_rows(objective, steps, cache)


def optimization_rows(
    objective: Objective, steps: Sequence[int] = STEPS, cache: Path | None = None
) -> dict[str, dict[str, float]]:
    """'L-BFGS n' -> the weighted terms after n of ``steps`` L-BFGS steps from white noise on ``objective``, read from
    ``cache`` if it holds them."""
    if cache is not None and cache.is_file():
        rows = json.loads(cache.read_text())
        if all(f"L-BFGS {n}" in rows for n in steps):
            return {f"L-BFGS {n}": rows[f"L-BFGS {n}"] for n in steps}
    run = optimize_image(objective, init="noise", steps=max(steps) + 1, progress=False)  # history[n]: after n steps
    rows = {f"L-BFGS {n}": {term: run.history[term][n] for term in TERMS} for n in steps}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(rows))
    return rows


def comparison_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """A Markdown table, one line per entry of ``results`` (a label -> `against_optimization`'s rows): the total loss
    of the network and of the optimisation after each of its steps, and the network's total over
    that of the optimisation after 50 steps."""
    steps = [name for name in next(iter(results.values())) if name != "network"]
    lines = ["| | network | " + " | ".join(steps) + " | network / L-BFGS 50 |", "|---" * (len(steps) + 3) + "|"]
    for label, rows in results.items():
        totals = " | ".join(f"{rows[name]['total']:.3g}" for name in ["network", *steps])
        lines.append(f"| {label} | {totals} | {rows['network']['total'] / rows['L-BFGS 50']['total']:.2f}x |")
    return "\n".join(lines)
