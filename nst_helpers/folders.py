"""Where the series' folders are: the checkout, its shipped ``images/``, and ``outputs/`` for results.

A notebook may be opened anywhere: in ``notebooks/`` of a checkout, or as a lone copy (Colab, or a JupyterHub where
every user gets a copy of the notebook, not of the repository). So the images travel inside the installed package
(``nst_helpers/shipped_images/``, from a wheel or ``pip install git+...``: pyproject.toml maps the repository's
``images/`` there). In a checkout (an editable install, `make lab`) they are the checkout's ``images/``, looked for,
in order, above this package, in the folder pip installed the package from, and in the working directory and its
parents. ``NST_IMAGES`` names the images folder outright.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from .errors import ImageError

IMAGES_ENV = "NST_IMAGES"  # the shipped images folder, named outright
PACKAGED_IMAGES = Path(__file__).resolve().parent / "shipped_images"  # in an installed wheel; absent in a checkout


def _installed_from() -> Path | None:
    """The local folder pip installed this package from, as pip recorded it (PEP 610's direct_url.json)."""
    try:
        record = metadata.distribution("nst_helpers").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    url = json.loads(record or "{}").get("url", "")
    return Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)) if url.startswith("file://") else None


def _candidates() -> Iterator[Path]:
    yield Path(__file__).resolve().parents[1]
    if (source := _installed_from()) is not None:
        yield source
    yield from (Path.cwd(), *Path.cwd().parents)


def checkout() -> Path | None:
    """The checkout of the series (the folder with ``images/content`` and ``notebooks/``); None if none is found."""
    for root in _candidates():
        if (root / "images" / "content").is_dir() and (root / "notebooks").is_dir():
            return root
    return None


def images_dir() -> Path:
    """The shipped ``images/`` folder (``content/``, ``style/``): ``$NST_IMAGES``, else the installed package's
    copy, else the checkout's.

    Raises an `ImageError` with a one-line message where none exists.
    """
    if folder := os.environ.get(IMAGES_ENV):
        path = Path(folder).expanduser()
        if not (path / "content").is_dir():
            raise ImageError(f"{IMAGES_ENV}={folder} has no content/ folder: point it at the series' images/ folder")
        return path
    if (PACKAGED_IMAGES / "content").is_dir():
        return PACKAGED_IMAGES
    root = checkout()
    if root is None:
        raise ImageError(f"the series' images/ folder was not found: install nst_helpers from a wheel or from git "
                         f"(they travel with it), or set {IMAGES_ENV} to that folder")
    return root / "images"


SHIPPED_SUFFIXES = (".jpg", ".png")  # the shipped images: paintings and photos as JPEG, the generated ones as PNG


def images_in(folder: Path) -> list[Path]:
    """The shipped images in ``folder`` (the JPEG and PNG files), sorted by name."""
    return sorted(p for p in folder.glob("*") if p.suffix in SHIPPED_SUFFIXES)


def shipped_images(*kinds: str) -> dict[str, Path]:
    """Name -> path of the shipped images of ``kinds`` ('content', 'style', 'train'), each kind's JPEG files (the
    paintings and photos) before its PNG files (the generated ones); empty where there are none."""
    try:
        folder = images_dir()
    except ImageError:
        return {}
    return {p.name: p for kind in kinds for suffix in SHIPPED_SUFFIXES for p in images_in(folder / kind)
            if p.suffix == suffix}


HOME_OUTPUTS = "nst_outputs"  # in the home folder: where results go when the checkout is not writable


def _writable(folder: Path) -> bool:
    """Whether ``folder`` can be written to, or created in its nearest existing parent."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK | os.X_OK)


def output_dir() -> Path:
    """Where results are saved: ``outputs/`` of the checkout, else of the working directory (not created here).
    Where that cannot be written (a shared install, e.g. a JupyterHub's read-only checkout), ``~/nst_outputs``, and
    where the home folder cannot be written either, the user's own ``nst_outputs`` in the temporary folder; a
    one-line note says so. An `ImageError` in one line where none of them can be written."""
    folder = (checkout() or Path.cwd()) / "outputs"
    if _writable(folder):
        return folder
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""  # the temporary folder is shared on a course machine
    places = [Path.home() / HOME_OUTPUTS, Path(tempfile.gettempdir()) / f"{HOME_OUTPUTS}{user}"]
    own = next((place for place in places if _writable(place)), None)
    if own is None:
        raise ImageError(f"nowhere to save results: {folder}, {places[0]} and {places[1]} cannot be written")
    print(f"{folder} is not writable (a shared install?): results go to {own}")
    return own
