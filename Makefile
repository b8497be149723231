# The two commands a learner needs: `make lab` and `make test`. Nothing else, no download.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test variants lint render bench clean

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
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/nst bench
	$(BIN)/nst bench --quality 512 --steps 200

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
