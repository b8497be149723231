"""Committed notebooks carry the outputs of their last `make render`: their sources must not have changed since."""

import importlib.util

import nbformat
import pytest

from .conftest import ROOT

spec = importlib.util.spec_from_file_location("render_notebooks", ROOT / "tools" / "render_notebooks.py")
render_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_notebooks)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_was_rendered_after_its_last_edit(path):
    nb = nbformat.read(path, as_version=4)
    recorded = nb.metadata.get("nst", {}).get("source_hash")
    assert recorded == render_notebooks.source_hash(nb), f"{path.name} changed since its last render: run `make render`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_small_and_shows_figures(path):
    assert path.stat().st_size < 5e6
    nb = nbformat.read(path, as_version=4)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} has no rendered figures"
