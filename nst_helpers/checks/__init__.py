"""Instant checks for the course-lab exercises: each says specifically what is wrong, or that all is well.

    from nst_helpers.checks import check_content_loss
    check_content_loss(my_content_loss)     # prints "content loss: correct" or raises CheckFailed

A check runs the learner's function on inputs of several sizes and compares it with the reference in
`nst_helpers.losses`. A wrong answer is diagnosed, not looked up: its ratio to the right one is read as a formula in
the sizes (a normalisation slip, named in the notebook's notation), else matched with structural variants of the
right answer (the target ignored, one direction only, not squared, ...); exceptions are translated into their cause
and fix (`core`, `diagnose`). Stuck on an exercise? ``solution(name)`` is its reference solution, e.g.
``my_tv = solution("total_variation")``, so that the rest of the notebook runs (`solutions`).
"""

from .claims import MARGINS_ENV, claim
from .core import NOT_WRITTEN, XOR, CheckFailed
from .exercises import check_content_loss, check_gram_matrix, check_style_loss
from .solutions import SOLUTIONS, SOLUTIONS_ENV, exercise, solution, solutions_on
from .step import check_step
from .tv import check_total_variation

__all__ = ["MARGINS_ENV", "NOT_WRITTEN", "SOLUTIONS", "SOLUTIONS_ENV", "XOR", "CheckFailed", "check_content_loss",
           "check_gram_matrix", "check_step", "check_style_loss", "check_total_variation", "claim", "exercise",
           "solution", "solutions_on"]
