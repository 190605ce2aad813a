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

# The Python client (clients/python, its own distribution) is installed from this
# repository, first: the server's pyproject.toml does not name it, so pip never looks
# for `slo-engine-client` on a registry. slo-cli imports it for --url only.
CLIENT := clients/python

$(STAMP_RUN): pyproject.toml $(CLIENT)/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./$(CLIENT)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml $(CLIENT)/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./$(CLIENT)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/slo-cli db upgrade
	$(BIN)/slo-cli serve

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench clients
	$(BIN)/ruff format --check src tests bench clients
	$(BIN)/mypy
	$(BIN)/lint-imports

$(MERMAID):
	npm install --prefix .test-tools --no-save --no-audit --no-fund mermaid@11

# The Backstage plugins' dependencies (plugins/backstage, tests/e2e/test_backstage_plugin.py):
# `npm ci` from the committed package-lock.json into plugins/backstage/node_modules
# (git-ignored). Without npm nothing is installed and that test skips (fails in CI).
BACKSTAGE_PLUGINS := plugins/backstage/node_modules/.package-lock.json

$(BACKSTAGE_PLUGINS): plugins/backstage/package-lock.json
	if command -v npm >/dev/null; then cd plugins/backstage && npm ci --no-audit --no-fund; \
	else echo "npm not found: the Backstage plugin tests will be skipped"; fi

test: lint $(MERMAID) $(BACKSTAGE_PLUGINS)
	$(BIN)/python -m pytest

unit: $(STAMP_DEV)
	$(BIN)/python -m pytest tests/unit src

integration: $(STAMP_DEV)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP_DEV) $(MERMAID) $(BACKSTAGE_PLUGINS)
	$(BIN)/python -m pytest tests/e2e

bench: $(STAMP_DEV)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/aliases.py

# The server under concurrent load (bench/load.py), driven by wrk from Debian.
# Options through BENCH_LOAD_ARGS, e.g. make bench-load BENCH_LOAD_ARGS=--quick
bench-load: $(STAMP_DEV)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python bench/load.py $(BENCH_LOAD_ARGS)

# The scale tier (bench/scale.py): 200,000 services on PostgreSQL, one worker.
bench-scale: $(STAMP_DEV)
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .test-tools plugins/backstage/node_modules slo_engine.db slo_engine.db-*
