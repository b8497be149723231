"""Put the "Open in Colab" badge and the Colab set-up cell at the top of every notebook (idempotent).

    python tools/colab_cell.py          # rewrite notebooks/*.ipynb where their two cells are not current

The set-up cell does nothing outside Colab. On Colab it installs the series from its repository (pyproject.toml's
``[project.urls] Repository``) with Colab's own torch and torchvision pinned, so pip may add what the series needs
but never replaces them. Both cells are found again by their metadata (``nst_colab``), replaced, never duplicated.
A notebook whose render was current stays current: its recorded source hash is updated when only these cells
changed, since the set-up cell prints nothing outside Colab.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MARK = "nst_colab"  # cell metadata key: 'badge' or 'setup'
HIDDEN = {"cellView": "form", "jupyter": {"source_hidden": True}}  # the set-up code folded: Colab shows its title

SETUP = '''\
# @title On Colab, run this first: it installs the series beside Colab's torch. Elsewhere it does nothing.
# (Written by tools/colab_cell.py; well under a minute.)
import importlib.util
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("nst_helpers") is None:
    import subprocess
    import tempfile
    from importlib.metadata import version

    from google.colab import output

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as keep:  # Colab's torch stays as it is
        keep.write("".join(f"{name}=={version(name)}\\n" for name in ("torch", "torchvision")))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-c", keep.name, "{requirement}"], check=True)
    output.enable_custom_widget_manager()  # the explorers' ipywidgets 8
    if "ipywidgets" in sys.modules and int(sys.modules["ipywidgets"].__version__.split(".")[0]) < 8:
        print("ipywidgets was upgraded to 8: Runtime > Restart session, then run the notebook again")
'''

BADGE = """\
[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}/{name}) \
On Colab, links to other notebooks and to `docs/` lead to files of [the series' repository]({repository})."""


def repository() -> str:
    """The series' repository (https://github.com/OWNER/NAME), from pyproject.toml."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def cells(name: str) -> list[nbformat.NotebookNode]:
    """The badge and the set-up cell for notebook ``name``, as they should be."""
    repo = repository()
    colab = repo.replace("https://github.com/", "https://colab.research.google.com/github/") + "/blob/main/notebooks"
    badge = nbformat.v4.new_markdown_cell(BADGE.format(colab=colab, name=name, repository=repo))
    setup = nbformat.v4.new_code_cell(SETUP.replace("{requirement}", f"nst_helpers @ git+{repo}"))
    badge.metadata[MARK], setup.metadata[MARK] = "badge", "setup"
    setup.metadata.update(HIDDEN)
    return [badge, setup]


def _render_hash():
    spec = importlib.util.spec_from_file_location("render_notebooks", ROOT / "tools" / "render_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.source_hash


def _key(cells: list[nbformat.NotebookNode]) -> list[tuple[str, str, str]]:
    return [(cell.cell_type, cell.source, json.dumps(cell.metadata, sort_keys=True)) for cell in cells]


def update(path: Path) -> bool:
    """Put the current badge and set-up cell at the top of the notebook at ``path``; True if it changed."""
    nb = nbformat.read(path, as_version=4)
    new = cells(path.name)
    if _key(nb.cells[:2]) == _key(new):
        return False
    old = [cell for cell in nb.cells if MARK in cell.metadata]
    for cell, kept in zip(new, old):
        cell.id = kept.id  # a stable id where the cell was there before
    source_hash = _render_hash()
    was_current = nb.metadata.get("nst", {}).get("source_hash") == source_hash(nb)
    nb.cells = new + [cell for cell in nb.cells if MARK not in cell.metadata]
    if was_current:
        nb.metadata["nst"]["source_hash"] = source_hash(nb)
    nbformat.write(nb, path)
    return True


def main() -> int:
    changed = [path.name for path in sorted(NOTEBOOKS.glob("*.ipynb")) if update(path)]
    print(f"updated {len(changed)} notebook(s): {', '.join(changed)}" if changed else "all notebooks are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
