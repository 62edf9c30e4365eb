# Student records: developer and CI entry points. `make help` lists the targets.
#
# Works from a bare Debian with python3, as root: `make test` creates the virtualenv,
# installs the locked dependencies and the system packages the browser tests need.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules
# A recipe that fails half-way must not leave its target looking up to date.
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
# Written by `python -m venv`; newer than the stamp when the virtualenv was recreated.
VENV_CFG := $(VENV)/pyvenv.cfg
# Touched after installing the lock: the install runs again when the lock is newer.
STAMP := $(VENV)/.requirements.lock.installed

.PHONY: help venv install system-deps run test lint format clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(VENV_CFG) ## Create the virtualenv in .venv if it is missing

$(VENV_CFG):
	@# Debian's own python3 cannot make a virtualenv until python3-venv is installed.
	$(PYTHON) -m venv --clear $(VENV) >/dev/null 2>&1 || { \
		bash scripts/install-system-deps.sh python3-venv && $(PYTHON) -m venv --clear $(VENV); }

install: $(STAMP) ## Install the locked dependencies (only when requirements.lock changed)

$(STAMP): $(LOCK) $(VENV_CFG)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@touch $@

system-deps: ## Install the Debian packages the tests need (Chromium), if missing
	@bash scripts/install-system-deps.sh

run: install ## Migrate the database, then serve with gunicorn (PORT, BIND, WEB_CONCURRENCY)
	@mkdir -p instance  # for the SQLite default, instance/students.db
	@# A persistent key shared by every worker (gunicorn.conf.py refuses to start without one).
	@if [[ -z "$${SECRET_KEY:-}" ]]; then \
		$(BIN)/python -c 'from webapp.config import write_secret_key; write_secret_key("$(CURDIR)/instance")'; \
	fi
	$(BIN)/flask --app webapp db upgrade
	exec $(BIN)/gunicorn -c gunicorn.conf.py 'webapp:create_app()'

test: install system-deps ## Lint, check formatting, run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: install ## Lint and check formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Format the code and apply lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove caches (keeps .venv and instance/, which holds the database and key)
	rm -rf .pytest_cache .ruff_cache .benchmarks
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## Also remove the virtualenv
	rm -rf $(VENV)
