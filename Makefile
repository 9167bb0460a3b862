# Each target creates .venv itself, so a fresh clone needs nothing but python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench golden dist clean

# The steps of the venv and of test are in tools/dev.py, which the CI's Windows job runs too.
$(BIN)/bce: pyproject.toml
	$(PYTHON) tools/dev.py venv
	touch $(BIN)/bce

run: $(BIN)/bce  ## install, then score the shipped sample data
	$(BIN)/bce score sample_data/preds.csv

test: $(BIN)/bce  ## install, then lint, type-check and run the whole test suite
	$(BIN)/python tools/dev.py test

bench: $(BIN)/bce  ## the side-by-side benchmark against DuckDB, polars, pandas, scikit-learn
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

golden: $(BIN)/bce  ## regenerate the golden table/markdown files after a deliberate change
	BCE_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

dist: $(BIN)/bce  ## build the sdist, and from it the wheel, into dist/
	rm -rf dist bcecli.egg-info
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
