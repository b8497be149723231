# The two commands a learner needs: `make lab` and `make test`. Nothing else, no download.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test lint render bench clean

# Create the venv and install the package (editable) with its dependencies and the test extras.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	NST_PROFILE=quick NST_SOLUTIONS=1 MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax tests notebooks

# Execute the notebooks at the lab profile (paper on a GPU) and store their outputs.
render: $(STAMP)
	$(BIN)/python tools/render_notebooks.py

# Time per evaluation beside the peers (installs pystiche), then coarse-to-fine against single-scale.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/nst bench
	$(BIN)/nst bench --quality 512 --steps 200

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
