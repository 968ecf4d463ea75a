# `make run` and `make test` set everything up on first use.
# `make run` installs only what the server needs; `make test` and `make bench` add the
# development set (test tools, linters, the load generator, deployment checks).
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt typecheck check clean bench

$(RUNTIME): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) pyproject.toml examples/tag/pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps -e examples/tag  # the example studio mode
	touch $(STAMP)

run: $(RUNTIME)
	$(VENV)/bin/skirmish serve --host $(HOST) --port $(PORT)

test: $(STAMP) sdk/js/node_modules/.installed
	$(PY) -m pytest
	cd sdk/js && SKIRMISH_BIN=$(CURDIR)/$(VENV)/bin/skirmish npm test

# The JavaScript SDK's test tools (typescript, ws), pinned by its package-lock.json.
sdk/js/node_modules/.installed: sdk/js/package.json sdk/js/package-lock.json
	cd sdk/js && npm ci --no-audit --no-fund
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test

# The arena-30 benchmark (loadtest/bench.py): Skirmish beside the bare ASGI ceiling, one pod
# and 2-pod clusters with Redis (matches split, matches routed); writes
# loadtest/results/arena30.{md,png,json}. About 15 minutes on 2 cores (30 with --rounds 2).
# Quicker: make bench BENCH_ARGS="--rs 10,50".
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m loadtest.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
