"""Execute the notebooks and store their outputs: `make render` (or `python tools/render_notebooks.py [NOTEBOOK ...]`).

Runs with the exercises filled in (NST_SOLUTIONS=1) at the `lab` profile (`paper` on a GPU) unless NST_PROFILE
says otherwise, records a hash of the cell sources in each notebook's metadata (a test fails when sources
changed after the last render), and drops volatile metadata so that diffs show only what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def source_hash(nb: nbformat.NotebookNode) -> str:
    """Hash of the cells' types and sources: what a render depends on."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()[:16]


def render(path: Path, profile: str) -> None:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    os.environ["NST_PROFILE"] = profile
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(nb, timeout=3600, kernel_name="python3", resources=resources).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    seconds = round(time.perf_counter() - start)
    nb.metadata["nst"] = {"source_hash": source_hash(nb), "profile": profile, "seconds": seconds}
    nbformat.write(nb, path)
    print(f"{path.name}: rendered at profile {profile!r} in {seconds} s, {path.stat().st_size / 1e6:.1f} MB")


def main(paths: list[str]) -> None:
    from nst_helpers import profile as run_profile

    profile = run_profile().name  # $NST_PROFILE, else the default rule: paper on a GPU, lab otherwise
    os.environ.setdefault("NST_SOLUTIONS", "1")  # the exercises filled in: committed notebooks show a complete run
    os.environ.pop("MPLBACKEND", None)  # Agg (as in `make test`) would hide every figure: the kernel must use inline
    for path in [Path(p) for p in paths] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
        render(path.resolve(), profile)


if __name__ == "__main__":
    main(sys.argv[1:])
