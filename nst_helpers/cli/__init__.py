"""The `nst` command: doctor, transfer, reconstruct, weights fetch, train and stylize, and bench (from a checkout).

Every user error prints one line on stderr and exits with code 2, checked before the work starts where it can
be. The output path is written only at the end of a run. Ctrl-C, SIGTERM and SIGHUP stop a run, save its best
image (or network) so far and exit with 128 + the signal's number; a run stopped early otherwise (a non-finite
loss, out of memory) saves its best image too, and exits with 2.

Read command.py (the parser and `main`), then transfer.py (`nst transfer`, `nst reconstruct`) and fast.py (`nst
train`, `nst stylize`); shared.py holds what they share: option types, the output's check, signals, the last save.
"""

import signal
import sys


def main(argv: list[str] | None = None) -> int:
    """`nst` with ``argv`` (`command.main`), imported here so that Ctrl-C while torch loads, or before a command has
    started, is one line too."""
    try:
        from .command import main as run

        return run(argv)
    except KeyboardInterrupt:
        print("nst: interrupted; nothing written", file=sys.stderr)
        return 128 + signal.SIGINT


__all__ = ["main"]
