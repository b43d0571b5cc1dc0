# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck migration fuzz soak bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## runs the product on the embedded default (SQLite), with demo data
	$(BIN)/plantsync demo-data --if-empty
	$(BIN)/plantsync serve

test: $(STAMP)  ## runs the whole test suite, on SQLite and PostgreSQL
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check plantsync tests bench
	$(BIN)/ruff format --check plantsync tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

migration: $(STAMP)  ## regenerates the single initial migration from the complete models
	$(BIN)/python -m plantsync.core.migrate write-initial
	$(BIN)/ruff check --fix --quiet migrations/versions/0001_initial.py
	$(BIN)/ruff format --quiet migrations/versions/0001_initial.py

clean:
	rm -rf $(VENV) var
