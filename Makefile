# slo-engine: `make run` serves on 127.0.0.1:8000 (SQLite), `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# Mermaid renders the Mermaid exports in the browser tests (tests/e2e/test_export_renders.py).
# Installed at test time into .test-tools/ (git-ignored): third-party code is never committed.
MERMAID := .test-tools/node_modules/mermaid/package.json

.PHONY: run test lint unit integration e2e bench bench-load bench-scale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/slo-cli db upgrade
	$(BIN)/slo-cli serve

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

$(MERMAID):
	npm install --prefix .test-tools --no-save --no-audit --no-fund mermaid@11

test: lint $(MERMAID)
	$(BIN)/python -m pytest

unit: $(STAMP_DEV)
	$(BIN)/python -m pytest tests/unit src

integration: $(STAMP_DEV)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP_DEV) $(MERMAID)
	$(BIN)/python -m pytest tests/e2e

bench: $(STAMP_DEV)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/history.py

# The server under concurrent load (bench/load.py), driven by wrk from Debian.
# Options through BENCH_LOAD_ARGS, e.g. make bench-load BENCH_LOAD_ARGS=--quick
bench-load: $(STAMP_DEV)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python bench/load.py $(BENCH_LOAD_ARGS)

# The scale tier (bench/scale.py): 200,000 services on PostgreSQL, one worker.
bench-scale: $(STAMP_DEV)
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .test-tools slo_engine.db slo_engine.db-*
