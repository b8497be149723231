"""`claim`, the assert of the notebooks' checks of the science, which records how far each is from failing."""

from __future__ import annotations

import json
import os

from .core import CheckFailed

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
