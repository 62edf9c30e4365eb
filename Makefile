# Student records: developer and CI entry points. `make help` lists the targets.
#
# Works from a bare Debian with python3, as root: `make test` creates the virtualenv,
# installs the locked dependencies and the system packages the tests need (Chromium for
# the browser tests, PostgreSQL's server binaries for the PostgreSQL run).

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

# The databases `make test` runs the whole suite on, one pytest run each (see
# tests/conftest.py), side by side: each run's output is shown when both have ended.
# E.g. `make test TEST_DATABASES=sqlite`. PYTEST_ARGS go to each run.
TEST_DATABASES ?= sqlite postgresql
PYTEST_ARGS ?=
# Arguments of `make bench-scale`, e.g. SCALE_ARGS="--quick" or "--databases sqlite".
SCALE_ARGS ?=

.PHONY: help venv install system-deps run test test-sqlite test-postgresql lint format clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

venv: $(VENV_CFG) ## Create the virtualenv in .venv if it is missing

$(VENV_CFG):
	@# Debian's own python3 cannot make a virtualenv until python3-venv is installed.
	$(PYTHON) -m venv --clear $(VENV) >/dev/null 2>&1 || { \
		bash scripts/install-system-deps.sh python3-venv && $(PYTHON) -m venv --clear $(VENV); }

install: $(STAMP) ## Install the locked dependencies (only when requirements.lock changed)

$(STAMP): $(LOCK) $(VENV_CFG)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@touch $@

system-deps: ## Install the Debian packages the tests need (Chromium, PostgreSQL), if missing
	@bash scripts/install-system-deps.sh

run: install ## Migrate the database, then serve with gunicorn (PORT, BIND, WEB_CONCURRENCY)
	@# The instance folder: INSTANCE_PATH, or instance/ here (as webapp.create_app decides).
	@mkdir -p "$${INSTANCE_PATH:-$(CURDIR)/instance}"
	@# A persistent key shared by every worker (gunicorn.conf.py refuses to start without one).
	@if [[ -z "$${SECRET_KEY:-}" ]]; then \
		$(BIN)/python -c 'import sys; from webapp.config import write_secret_key; write_secret_key(sys.argv[1])' \
			"$${INSTANCE_PATH:-$(CURDIR)/instance}"; \
	fi
	$(BIN)/flask --app webapp db upgrade
	@# Prints a generated password once, when the database has no account yet.
	$(BIN)/flask --app webapp users create-first-admin
	exec $(BIN)/gunicorn -c gunicorn.conf.py 'webapp:create_app()'

# (Each run's exit status is caught with `|| code=$$?`: the recipe's shell has `set -e`,
# which a failing command would otherwise end the subshell with, before it writes the status.)
# Run the suite once per database in $(1), every run even when one fails, then print the
# test counts of each. The PostgreSQL run starts and removes its own throwaway server.
# Python may write bytecode caches (__pycache__, ignored by git) even where the environment
# says PYTHONDONTWRITEBYTECODE: the suite starts a few hundred Python processes (gunicorn
# workers, commands), and each would compile the app's modules again (~0.1 s of CPU).
# With $(2) = lint, `make lint` runs beside them (the suites leave a core idle while they
# wait on servers and browsers) and its output is shown first.
define run_suite
	@logs=$$(mktemp -d); trap 'rm -rf "$$logs"' EXIT; status=0; pids=(); \
	if [[ "$(2)" == lint ]]; then \
		( code=0; $(MAKE) --no-print-directory lint >"$$logs/lint.log" 2>&1 || code=$$?; \
		  echo $$code >"$$logs/lint.code" ) & \
		pids+=($$!); \
	fi; \
	for database in $(1); do \
		( code=0; env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest --db=$$database --db-summary="$$logs/$$database.summary" \
			$(PYTEST_ARGS) >"$$logs/$$database.log" 2>&1 || code=$$?; \
		  echo $$code >"$$logs/$$database.code" ) & \
		pids+=($$!); \
	done; \
	wait "$${pids[@]}"; \
	if [[ "$(2)" == lint ]]; then \
		echo "======== lint ========"; cat "$$logs/lint.log"; \
		if [[ $$(cat "$$logs/lint.code") -eq 0 ]]; then echo "lint: clean" >"$$logs/0-lint.summary"; \
		else echo "lint: FAILED (see above)" >"$$logs/0-lint.summary"; status=1; fi; \
	fi; \
	for database in $(1); do \
		echo; echo "======== $$database ========"; cat "$$logs/$$database.log"; \
		code=$$(cat "$$logs/$$database.code"); [[ $$code -eq 0 ]] || status=1; \
		[[ -s "$$logs/$$database.summary" ]] || \
			echo "$$database: pytest stopped with exit status $$code" >"$$logs/$$database.summary"; \
	done; \
	echo; echo "Lint and tests per database:"; cat "$$logs"/*.summary | sed 's/^/  /'; \
	exit $$status
endef

# Everything `make lint` checks; `make test` runs it first.
define lint_all
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
endef

test: install system-deps ## Lint (as make lint) and run the whole suite on SQLite and PostgreSQL, side by side
	$(call run_suite,$(TEST_DATABASES),lint)

test-sqlite: install system-deps ## Run the test suite on SQLite only (no lint)
	$(call run_suite,sqlite)

test-postgresql: install system-deps ## Run the test suite on a throwaway PostgreSQL only (no lint)
	$(call run_suite,postgresql)

lint: install ## Lint, check formatting, check the layers (import-linter) and the types (mypy)
	$(lint_all)

format: install ## Format the code and apply lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove caches (keeps .venv and instance/, which holds the database and key)
	rm -rf .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .benchmarks dist build
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## Also remove the virtualenv
	rm -rf $(VENV)

# Benchmarks

.PHONY: bench-oneroster bench-rollover bench-dashboard bench-csv bench-concurrency bench-load bench-spreadsheets bench-import-files bench-faults bench-scale security-scan

bench-csv: install ## CSV import (100,000 rows) and export (1,000,000 rows) vs baselines
	$(BIN)/python -m bench.import_export

bench-spreadsheets: install ## Read 100,000 rows as CSV, .xlsx, .ods; write 1,000,000 as .xlsx
	$(BIN)/python -m bench.spreadsheets --repeat 1

bench-import-files: install ## Import 100,000 rows as .xlsx and CSV (CLI and pages); files at the limits
	$(BIN)/python -m bench.import_files

bench-concurrency: install ## 20 rounds of 20 simultaneous saves of one student, and the negative control
	$(BIN)/python -m bench.concurrency --rounds 20 --writers 20 --workers 4

bench-load: install ## 60 s of mixed load, 32 clients, 2 workers; then again with two SIGHUPs
	$(BIN)/python -m bench.load --duration 60 --clients 32 --workers 2
	$(BIN)/python -m bench.load --duration 60 --clients 32 --workers 2 --hup 2

bench-faults: install system-deps ## Faults under load (killed workers and master, PostgreSQL restart, full disk) and the restore drill
	$(BIN)/python -m bench.faults all

# wrk is installed here only: `make test` does not need it (its smoke test of this harness
# uses a Python stand-in loader).
bench-scale: install ## 1,000,000 students, 10,000,000 audit events: pages vs raw and Flask-Admin, seed, takeover, import memory
	@bash scripts/install-system-deps.sh wrk postgresql
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

security-scan: install system-deps ## sqlmap on the roster, export and audit log (logged in), bandit on webapp/
	$(BIN)/python -m bench.security --databases sqlite postgresql --output /tmp/security-scan.md
	@echo "Report in /tmp/security-scan.md; bench/results/security.md keeps the last one run."

bench-rollover: install system-deps ## Year-end rollover of 100,000 students and its undo, SQLite and PostgreSQL
	$(BIN)/python -m bench.rollover

bench-dashboard: install system-deps ## The dashboard at 1,000,000 students, SQLite and PostgreSQL
	$(BIN)/python -m bench.dashboard

bench-oneroster: install system-deps ## OneRoster export at 10,000 and 100,000 students, the validator, the import, SQLite and PostgreSQL
	@# GNU time measures each command's peak memory.
	@bash scripts/install-system-deps.sh time
	$(BIN)/python -m bench.oneroster
