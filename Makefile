# Each target creates .venv itself, so a fresh clone needs nothing but python3 and make.
# `make run` installs bce with what it needs at run time only; the targets that run the
# tests add the test extra (pytest, mypy, ruff, scikit-learn, Dask, moto, ...) on top.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_EXTRA := $(VENV)/.test-extra-installed

.PHONY: run test lint bench golden docs clean

$(BIN)/bce: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(BIN)/bce

$(TEST_EXTRA): $(BIN)/bce
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_EXTRA)

run: $(BIN)/bce  ## install bce (run-time dependencies only), then score the shipped sample data
	$(BIN)/bce score sample_data/preds.csv

test: $(TEST_EXTRA)  ## install with the test extra, then lint, type-check and run the whole test suite
	$(BIN)/ruff check bcecli tests benchmarks
	$(BIN)/ruff format --check bcecli tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(BIN)/bce  ## the side-by-side benchmark against DuckDB, polars, pandas, scikit-learn
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

golden: $(TEST_EXTRA)  ## regenerate the golden table/markdown files after a deliberate change
	BCE_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

docs: $(TEST_EXTRA)  ## rewrite the outputs of the README's and docs/' examples after a deliberate change
	BCE_UPDATE_DOCS=1 $(BIN)/python -m pytest tests/test_docs_run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
