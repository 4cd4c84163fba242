# The two commands: `make dev` and `make test`. Both set up everything themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test install lint typecheck pytest postgres chromium bench chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make dev: run the bundled example with SQLite (switchyard dev)
dev: install
	cd examples/quickstart && ../../$(VENV)/bin/switchyard dev

## make test: lint, type-check and the whole suite on SQLite and PostgreSQL,
## with the dashboard in headless Chromium
test: install postgres chromium lint typecheck pytest

lint: install
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m ruff format --check src tests benchmarks examples
	$(VENV)/bin/lint-imports

typecheck: install
	$(PY) -m mypy

pytest: install
	$(PY) -m pytest -q

postgres:
	bash scripts/ensure-postgres.sh

chromium:
	bash scripts/ensure-chromium.sh

## make chaos: the long fault run (kill -9 and partitions of workers, thousands of runs)
chaos: install postgres
	$(PY) -m tests.faults.chaos --runs 3000 --seconds 180

## make bench: the benchmarks (not part of make test)
bench: install postgres
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) benchmarks/throughput.py
	$(PY) benchmarks/claims.py
	$(PY) benchmarks/waits.py
	$(PY) benchmarks/http.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache examples/quickstart/.switchyard
