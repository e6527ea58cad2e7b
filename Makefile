# Two commands for a newcomer: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VAR := var

.PHONY: run test lint format install install-dev e2e-deps clean

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the requirement files change.
$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	@mkdir -p $(VAR)
	$(PY) -m config.devrun

# Node packages for the browser tests (the OpenID provider, SAML IdP, axe-core), and
# frontend/ (jsdom for the JavaScript unit tests; `npm run vendor` rebuilds static/vendor/).
e2e-deps:
	@if command -v npm >/dev/null; then cd tests/e2e/node && npm ci --no-audit --no-fund --loglevel=error; fi
	@if command -v npm >/dev/null; then cd frontend && npm ci --no-audit --no-fund --loglevel=error; fi

# Tests use their own embedded Redis socket so they never touch a running `make run`.
# DEBUG defaults to false (production); tests and `make run` are development.
# TEST_WORKERS pytest-xdist processes share the suite (most of it waits on subprocesses,
# browsers and sockets, so 2 is ~1.7x faster on 2 cores); TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-dev e2e-deps
	@mkdir -p $(VAR)
	EMBEDDED_REDIS_SOCKET=$(VAR)/test-redis.sock DEBUG=true TESTING=true $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VAR) .pytest_cache .mypy_cache .ruff_cache
