# Each target creates .venv itself, so a fresh clone needs nothing but python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench golden clean

$(BIN)/bce: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/bce

run: $(BIN)/bce  ## install, then score the shipped sample data
	$(BIN)/bce score sample_data/preds.csv

test: $(BIN)/bce  ## install, then lint, type-check and run the whole test suite
	$(BIN)/ruff check bcecli tests benchmarks
	$(BIN)/ruff format --check bcecli tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(BIN)/bce  ## the side-by-side benchmark against DuckDB, polars, pandas, scikit-learn
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

golden: $(BIN)/bce  ## regenerate the golden table/markdown files after a deliberate change
	BCE_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
