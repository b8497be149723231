"""The `nst` command: doctor, transfer, reconstruct, weights fetch, train and stylize, and bench (from a checkout).

Every user error prints one line on stderr and exits with code 2, checked before the work starts where it can
be. The output path is written only at the end of a run. Ctrl-C, SIGTERM and SIGHUP stop a run, save its best
image (or network) so far and exit with 128 + the signal's number; a run stopped early otherwise (a non-finite
loss, out of memory) saves its best image too, and exits with 2.

Read command.py (the parser and `main`), then transfer.py (`nst transfer`, `nst reconstruct`) and fast.py (`nst
train`, `nst stylize`); shared.py holds what they share: option types, the output's check, signals, the last save.
"""

from .command import build_parser, main

__all__ = ["build_parser", "main"]
