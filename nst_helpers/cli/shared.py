"""What every `nst` command shares: one-line usage errors, option types, the output path's check, signals, and the
end of a run: its result saved (`saving.save`, which does not lose it) and said in one line."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ..errors import ParameterError
from ..images import SAVE_FORMATS, check_save_path
from ..objective import check_weight
from ..precision import PRECISIONS
from ..profiles import PROFILES
from ..saving import Stamp, Writer, save, stamp

INTERRUPTS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text stays available with --help)."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    """An option's whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def weight(text: str) -> float:
    """An option's finite number >= 0 (`check_weight`)."""
    try:
        return check_weight("a weight", float(text))
    except ParameterError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_device_and_profile(p: argparse.ArgumentParser) -> None:
    """The --device and --profile options."""
    p.add_argument("--device", help="cpu, cuda or mps (default: the fastest available)")
    p.add_argument("--profile", choices=list(PROFILES), help="quick, lab or paper (default: $NST_PROFILE or by device)")


def add_precision(p: argparse.ArgumentParser) -> None:
    """The --precision option."""
    p.add_argument("--precision", choices=PRECISIONS, help="of the network's forward pass: auto (bf16 where this "
                   "hardware runs it faster, else fp32), fp32, bf16, or fp16 on CUDA (default: $NST_PRECISION, "
                   "else auto)")


class Output(NamedTuple):
    """A run's output file, and what was there when the run began (`saving.stamp`): if another run writes it
    meanwhile, that file is kept and this run's result saved beside it."""

    path: Path
    before: Stamp


def check_output(text: str, inputs: list[str], suffixes: tuple[str, ...] = tuple(SAVE_FORMATS), new: bool = False
                 ) -> Output:
    """The output, checked before a long run, not after it: a local file with one of ``suffixes`` (an image by
    default) that can be written and is not one of the ``inputs`` (through a link or another spelling either), nor,
    if ``new``, any file that exists. There is no flag to overwrite an input."""
    if "://" in text:
        raise ParameterError(f"output {text} is a URL; give a local file name")
    path = check_save_path(text, suffixes)
    for source in filter(None, inputs):  # --weights may be unset
        other = os.path.expanduser(source)
        if "://" not in source and os.path.exists(path) and os.path.exists(other) and os.path.samefile(path, other):
            raise ParameterError(f"output {text} is the input {source}: it would be overwritten; write to another name")
    if new and os.path.lexists(path):
        raise ParameterError(f"output {text} exists and would be overwritten; write to another name")
    return Output(path, None if new else stamp(path))


@contextlib.contextmanager
def signals(received: list[int], interrupt: bool) -> Iterator[None]:
    """Note SIGINT, SIGTERM and SIGHUP (a closed terminal) in ``received``. With ``interrupt`` the first one also
    raises KeyboardInterrupt, as Ctrl-C does, so that a run stops and keeps its best image; later ones, and any while
    ``interrupt`` is off (the saving), are only noted, so that nothing cuts the saving short."""

    def note(signum: int, frame: object) -> None:
        received.append(signum)
        if interrupt and len(received) == 1:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, note) for sig in INTERRUPTS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def finish(args: argparse.Namespace, write: Writer, output: Output, stopped: str | None, done: str) -> int:
    """The end of every command that writes a result: ``write`` it (`saving.save`, signals held off meanwhile), then
    say in one line what happened and return the exit code: 128 + the signal that stopped the run, 2 if it stopped
    early or the result went elsewhere, else 0 (``done`` follows the path written)."""
    with signals(args.signals, interrupt=False):
        saved, problem = save(output.path, write, output.before)
    wrote = f"{problem}; wrote {saved} instead" if problem else f"wrote {saved}"
    if args.signals:
        print(f"nst: {stopped or 'interrupted while saving'}; {wrote}", file=sys.stderr)
        return 128 + args.signals[0]
    if stopped or problem:
        print(f"nst: error: {'; '.join(filter(None, [stopped, wrote]))}", file=sys.stderr)
        return 2
    print(f"{wrote} ({done})")
    return 0
