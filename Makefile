# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check lint typecheck imports migration fuzz soak bench crash clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## runs the product on the embedded default (SQLite), with demo data
	$(BIN)/plantsync demo-data --if-empty
	$(BIN)/plantsync serve

test: $(STAMP) check  ## the static checks, then the whole test suite on SQLite and PostgreSQL
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)

check: lint typecheck imports  ## ruff, mypy --strict and the import-linter layer contracts

lint: $(STAMP)
	$(BIN)/ruff check plantsync tests bench
	$(BIN)/ruff format --check plantsync tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)  ## the layers are a DAG (contracts in pyproject.toml)
	$(BIN)/lint-imports --no-cache

migration: $(STAMP)  ## regenerates the single initial migration from the complete models
	$(BIN)/python -m plantsync.core.migrate write-initial
	$(BIN)/ruff check --fix --quiet migrations/versions/0001_initial.py
	$(BIN)/ruff format --quiet migrations/versions/0001_initial.py

clean:
	rm -rf $(VENV) var

# --- benchmarks and the long reliability runs (issue 8; figures in BENCHMARKS.md) -------------
# dlt, duckdb and pyarrow are the peer benchmark's, never PlantSync's: a separate venv.
BENCH_VENV ?= var/bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp

$(BENCH_STAMP):
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet "dlt[duckdb,parquet]"
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)  ## every benchmark at its published size (sizes: BENCH_* env vars)
	$(BIN)/python -m bench.bench_inbound
	$(BIN)/python -m bench.bench_write_floor
	BENCH_VENV=$(BENCH_VENV) $(BIN)/python -m bench.bench_dlt
	$(BIN)/python -m bench.bench_outbound
	$(BIN)/python -m bench.bench_api

fuzz: $(STAMP)  ## schemathesis over every API operation, many examples each
	PLANTSYNC_FUZZ_EXAMPLES=$${PLANTSYNC_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest -q tests/reliability/test_fuzz_api.py

soak: $(STAMP)  ## a few hundred scheduled runs against a faulty sandbox, then convergence checks
	PLANTSYNC_SOAK_RUNS=$${PLANTSYNC_SOAK_RUNS:-300} PLANTSYNC_SOAK_SECONDS=$${PLANTSYNC_SOAK_SECONDS:-1200} $(BIN)/python -m pytest -q tests/reliability/test_soak.py

crash: $(STAMP)  ## kill -9 of serve, a worker and the scheduler at random points during syncs
	PLANTSYNC_CRASH=1 $(BIN)/python -m pytest -q tests/reliability/test_crash.py
