"""The one save path of every file the series writes (images, networks): nothing half-written under the final name,
nothing private by accident, no run's file overwritten by another's, and no result lost when its folder fails.

A file is written to a new temporary name beside its target, created with the mode the user's umask gives (0644
under the usual 022), then renamed over the target in one step (`write_file`). `save` is the end of a long run: if
that fails, for whatever reason the writer gives, the result goes to a new name beside the target, else in the
temporary folder, and the caller says so in one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import NSTError

TEMP_PREFIX = ".nst-save-"  # short: a long file name must still leave room for the temporary one
NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}  # hard links are not to be had there
FULL = 1 << 20  # bytes: a disk with less free when a write fails is full
ANY = "any"  # `write_file`'s ``before`` when the target may be replaced whatever it holds

Writer = Callable[[BinaryIO], object]  # writes a file's bytes to an open binary file
Stamp = tuple[int, int, int, int] | None  # what a file is (device, inode, mtime, size); None: there is none


def stamp(path: str | os.PathLike) -> Stamp:
    """What is at ``path`` now (None where nothing is), to tell later whether another run wrote it meanwhile."""
    try:
        s = os.lstat(path)
    except OSError:
        return None
    return s.st_dev, s.st_ino, s.st_mtime_ns, s.st_size


def _reason(err: Exception, folder: Path) -> str:
    """``err`` in a few words on one line: torch.save's RuntimeError has lines of C++ context, and on a full disk
    says only "unexpected pos", so a disk found full is said too."""
    text = getattr(err, "strerror", None) or str(err).strip()
    text = text.splitlines()[0] if text else type(err).__name__
    with contextlib.suppress(OSError):
        if not isinstance(err, OSError) and shutil.disk_usage(folder).free < FULL:
            return f"No space left on device ({text})"
    return text


def _create(folder: Path) -> tuple[int, Path]:
    """A new, empty temporary file in ``folder``, open for writing, with the mode the umask gives (mkstemp's are 0600,
    and a rename keeps the mode)."""
    while True:
        path = folder / f"{TEMP_PREFIX}{secrets.token_hex(6)}.tmp"
        with contextlib.suppress(FileExistsError):
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), path


def _publish(tmp: Path, path: Path, before: Stamp | str) -> None:
    """Rename ``tmp`` to ``path`` if ``path`` is still as it was ``before`` (`stamp`), or has gone; with ANY, whatever
    it is. Where nothing is, a hard link puts the file there only if nothing has appeared since, in one step."""
    if before != ANY:
        now = stamp(path)
        if now is not None and now != before:
            why = "another run wrote it meanwhile" if before else "a file of that name appeared during the run"
            raise FileExistsError(why)
        if now is None:
            try:
                os.link(tmp, path)
                return
            except FileExistsError:
                raise FileExistsError("a file of that name appeared during the run") from None
            except OSError as err:
                if err.errno not in NO_LINKS:  # else a file system without hard links: rename
                    raise
    os.replace(tmp, path)


def write_file(path: str | os.PathLike, write: Writer, before: Stamp | str = ANY,
               error: type[NSTError] = NSTError) -> Path:
    """``write`` the file ``path`` by way of a temporary file beside it, renamed to ``path`` only if ``path`` is as it
    was ``before`` (`stamp`; None: absent; ANY: anything). Any exception of the writer or the disk is ``error`` in
    one line, and nothing of the attempt is left behind."""
    if not isinstance(path, (str, os.PathLike)):
        raise error(f"cannot save to a {type(path).__name__}: give a file name")
    path = Path(path).expanduser()
    tmp = None
    try:
        fd, tmp = _create(path.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
        _publish(tmp, path, before)
    except Exception as err:
        raise error(f"cannot save {path}: {_reason(err, path.parent)}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # after a rename nothing is there; after a link or a failure the temporary file
    return path


def save(path: Path, write: Writer, before: Stamp | str = ANY) -> tuple[Path, str | None]:
    """Save the result of a run, which must not be lost: `write_file` to ``path``; if that fails, to a new name
    beside it, else in the temporary folder. Returns where it went and, if not to ``path``, why."""
    try:
        return write_file(path, write, before), None
    except NSTError as err:
        problem = str(err)
    for folder in (path.parent, Path(tempfile.gettempdir())):
        with contextlib.suppress(NSTError):
            return write_file(folder / f"{path.stem[:100]}-{secrets.token_hex(4)}{path.suffix}", write, None), problem
    raise NSTError(f"{problem}; nor could a copy be saved beside it or in {tempfile.gettempdir()}")


def save_new(path: Path, write: Writer) -> tuple[Path, str | None]:
    """`save` a new file (the explorers' Save), its folder made if need be: a file of that name is never replaced."""
    with contextlib.suppress(OSError):  # where the folder cannot be made, `save` finds another place
        path.parent.mkdir(parents=True, exist_ok=True)
    return save(path, write, before=None)
