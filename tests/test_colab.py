"""The Colab set-up cell (tools/colab_cell.py): what it would install on Colab, that it does nothing elsewhere, and
that every notebook carries the current cell and badge. Nothing on Colab can be run from here."""

import importlib.util
import subprocess
import sys
import types
from importlib.metadata import version

import nbformat
import pytest

from .conftest import ROOT

spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
colab_cell = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colab_cell)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SETUP = colab_cell.cells("x.ipynb")[1].source


def run_setup(monkeypatch, on_colab: bool, installed: bool = False) -> list[list[str]]:
    """Run the set-up cell's source here, as on Colab or not; the commands it would have run."""
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command, check: commands.append(command))
    if on_colab:
        output = types.SimpleNamespace(enable_custom_widget_manager=lambda: commands.append(["widget manager"]))
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", types.SimpleNamespace(output=output))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (find_spec(name) if installed else None) if name == "nst_helpers" else
                        find_spec(name, *a))
    exec(compile(SETUP, "colab-setup", "exec"), {})
    return commands


def test_the_cell_does_nothing_outside_colab(monkeypatch):
    assert run_setup(monkeypatch, on_colab=False) == []


def test_on_colab_it_installs_the_series_with_colab_s_torch_pinned(monkeypatch):
    pip, widgets = run_setup(monkeypatch, on_colab=True)
    assert pip[:5] == [sys.executable, "-m", "pip", "install", "--quiet"]
    assert pip[-1] == f"nst_helpers @ git+{colab_cell.repository()}"
    keep = open(pip[pip.index("-c") + 1]).read().split()
    assert keep == [f"torch=={version('torch')}", f"torchvision=={version('torchvision')}"]
    assert widgets == ["widget manager"]


def test_on_colab_with_the_series_installed_it_installs_nothing(monkeypatch):
    assert run_setup(monkeypatch, on_colab=True, installed=True) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_notebook_starts_with_the_current_badge_and_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert colab_cell._key(nb.cells[:2]) == colab_cell._key(colab_cell.cells(path.name)), (
        f"{path.name}: run `python tools/colab_cell.py`")
    assert sum(colab_cell.MARK in cell.metadata for cell in nb.cells) == 2
    assert f"/notebooks/{path.name})" in nb.cells[0].source


def test_update_is_idempotent_and_keeps_a_current_render_current(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("1")])
    source_hash = colab_cell._render_hash()
    nb.metadata["nst"] = {"source_hash": source_hash(nb)}
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert colab_cell.update(path) and not colab_cell.update(path)
    nb = nbformat.read(path, as_version=4)
    assert [cell.metadata.get(colab_cell.MARK) for cell in nb.cells] == ["badge", "setup", None, None]
    assert nb.metadata["nst"]["source_hash"] == source_hash(nb)
    nb.cells[1].source = "an older set-up cell"
    nb.metadata["nst"]["source_hash"] = "stale"  # a render that was not current stays marked as not current
    nbformat.write(nb, path)
    assert colab_cell.update(path)
    nb = nbformat.read(path, as_version=4)
    assert colab_cell._key(nb.cells[:2]) == colab_cell._key(colab_cell.cells("01_x.ipynb")) and len(nb.cells) == 4
    assert nb.metadata["nst"]["source_hash"] == "stale"


def test_the_readme_s_badges_point_at_the_repository():
    readme, repo = (ROOT / "README.md").read_text(), colab_cell.repository().removeprefix("https://github.com/")
    assert f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/" in readme
    assert f"https://mybinder.org/v2/gh/{repo}/HEAD" in readme
