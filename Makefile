# One entry point for set-up, the demo and the tests. Every target installs what it needs first,
# so a fresh clone needs only python3 (3.11+) and node/npm on the PATH.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=
# Test processes (pytest-xdist); each has its own Azurite and simulator. 2 fits the 2-core machines we run on.
TEST_WORKERS ?= 2
LOCK := requirements.lock
# pip-tools that writes $(LOCK), installed by `make lock` in a throwaway venv (never into .venv).
PIP_TOOLS := pip-tools==7.6.2

.PHONY: setup demo test lint format clean bench simulator lock

setup: $(PY_STAMP) $(NODE_STAMP)

# Exact versions only: every package comes from the lock (--no-deps: nothing unpinned is pulled in), and
# `pip check` fails the set-up if the lock misses a dependency. The ranges live in requirements.in and
# requirements-dev.txt; requirements.txt is the lock's subset that Azure installs (`make lock` writes both).
$(PY_STAMP): $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r $(LOCK)
	$(PY) -m pip check --disable-pip-version-check
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The demo: Azurite + the simulated upstreams + one export of each of the six connectors, end to end.
demo: setup
	$(PY) -m local demo

## The whole suite: lint, types, then every test (Azurite and the simulator are started by the fixtures).
test: setup lint
	$(PY) -m pytest --numprocesses $(TEST_WORKERS) $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m benchmarks

simulator: setup
	$(PY) -m local simulator --port 8089

## Regenerate $(LOCK) from requirements-dev.txt (which includes requirements.in) after changing a range:
##   pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
##     --output-file=requirements.lock requirements-dev.txt
## Pins already in the lock are kept while they satisfy the ranges; add --upgrade to move to the newest.
## Then requirements.txt, what Azure installs: requirements.in compiled starting from a copy of the lock, so
## pip-compile keeps the lock's pins and drops what only development needs (never --upgrade this step).
DEPLOYED := requirements.txt
COMPILE := --quiet --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
lock:
	tools=$$(mktemp -d) && trap 'rm -rf "$$tools"' EXIT && \
	$(PYTHON) -m venv "$$tools" && \
	"$$tools/bin/pip" install --quiet --disable-pip-version-check $(PIP_TOOLS) && \
	CUSTOM_COMPILE_COMMAND="make lock" "$$tools/bin/pip-compile" $(COMPILE) --output-file=$(LOCK) \
	  requirements-dev.txt && \
	cp $(LOCK) $(DEPLOYED) && \
	CUSTOM_COMPILE_COMMAND="make lock" "$$tools/bin/pip-compile" $(COMPILE) --output-file=$(DEPLOYED) \
	  requirements.in

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .demo
