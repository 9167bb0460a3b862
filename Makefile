# Each target creates .venv itself, so a fresh clone needs nothing but python3 and make.
# `make run` installs bce with what it needs at run time only; the targets that run the
# tests add the test extra (pytest, mypy, ruff, scikit-learn, Dask, moto, ...) on top.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_EXTRA := $(VENV)/.test-extra-installed

.PHONY: run test lint bench golden docs dist clean

# The install and test steps are in tools/dev.py, which the CI's Windows job runs too.
$(BIN)/bce: pyproject.toml
	$(PYTHON) tools/dev.py venv
	touch $(BIN)/bce

$(TEST_EXTRA): $(BIN)/bce
	$(BIN)/python tools/dev.py test-extra
	touch $(TEST_EXTRA)

run: $(BIN)/bce  ## install bce (run-time dependencies only), then score the shipped sample data
	$(BIN)/bce score sample_data/preds.csv

test: $(TEST_EXTRA)  ## install with the test extra, then lint, type-check and run the whole test suite
	$(BIN)/python tools/dev.py test

bench: $(BIN)/bce  ## the side-by-side benchmark against DuckDB, polars, pandas, scikit-learn
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

golden: $(TEST_EXTRA)  ## regenerate the golden table/markdown files after a deliberate change
	BCE_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

docs: $(TEST_EXTRA)  ## rewrite the outputs of the README's and docs/' examples after a deliberate change
	BCE_UPDATE_DOCS=1 $(BIN)/python -m pytest tests/test_docs_run.py

dist: $(TEST_EXTRA)  ## build the sdist, and from it the wheel, into dist/
	rm -rf dist bcecli.egg-info
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
