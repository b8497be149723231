# The two commands a learner needs: `make lab` and `make test`. The first run downloads about 3 GB (PyTorch with its
# CUDA libraries; `TORCH=cpu` below: much less); later runs install nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exact versions from constraints.txt: what CI tested (pyproject.toml only states ranges).
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c constraints.txt
# `make lab TORCH=cpu`: PyTorch's CPU-only build, for Linux without an NVIDIA GPU (macOS and Windows get one anyway).
PIP_INSTALL += $(if $(filter cpu,$(TORCH)),--extra-index-url https://download.pytorch.org/whl/cpu)
# `make lab LAB_ARGS=--no-browser` on a remote machine (reach it through an SSH tunnel: README); as root
# (a container, a cloud VM) JupyterLab needs --allow-root.
LAB_ARGS ?=
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test variants lint render bench clean

# Create the venv and install the package (editable) with JupyterLab and the test tools, at the tested versions.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -e ".[lab,test]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS) notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .

# conftest.py sets the quick profile, fp32, the exercises' solutions and matplotlib's Agg backend (unless already set).
test: $(STAMP) lint
	$(BIN)/python -m pytest --nbval-lax tests notebooks

# The science checks (tests/test_science.py, every numbered notebook) under 1 thread, oneDNN off, seeds 1 and 2, and
# bf16 where 'auto' chooses it, with each check's worst margin over them (tools/variants.py; the table also goes to
# test-artifacts/variants.md).
variants: $(STAMP)
	$(BIN)/python tools/variants.py

# Execute the notebooks at the lab profile (paper on a GPU) and store their outputs.
render: $(STAMP)
	$(BIN)/python tools/render_notebooks.py

# Time per evaluation beside the peers (installs pystiche), then coarse-to-fine against single-scale.
bench: $(STAMP)
	$(PIP_INSTALL) -e ".[lab,test,bench]"
	$(BIN)/nst bench
	$(BIN)/nst bench --quality 512 --steps 200

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
