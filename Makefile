# Trellis: set up, run, lint and test. `make help` lists the targets.
#
# Works on a fresh Debian machine with Python 3.11: the first target that needs it creates
# .venv and installs Trellis into it (editable, with the test tools); later runs reinstall
# only when setup.cfg or pyproject.toml changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; older than setup.cfg or pyproject.toml means reinstall.
INSTALLED := $(VENV)/.trellis-installed
# Extra arguments for pytest (make test) or the benchmarks (make bench), e.g. ARGS='-k flows'.
ARGS ?=

.PHONY: help install run test lint bench postgresql browser clean

help: ## list the targets
	@echo "Targets (run, test, lint and bench first create .venv and install Trellis as needed):"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  make %-11s %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)"
	@if ! $(PYTHON) -m venv $(VENV); then \
		rm -rf $(VENV); \
		if [ "$$(id -u)" = 0 ]; then \
			echo "$(PYTHON) cannot create virtual environments: installing python3-venv"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; \
		else \
			echo "error: '$(PYTHON) -m venv' failed; run: sudo apt-get install python3-venv" >&2; \
			exit 1; \
		fi; \
		$(PYTHON) -m venv $(VENV); \
	fi

$(INSTALLED): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	@touch $@

# The pages' front-end libraries (htmx, ECharts, SortableJS) at the exact versions of
# package-lock.json; `npm ci` reruns only when the lock file changed.
VENDOR := node_modules/.package-lock.json

$(VENDOR): package.json package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "npm not found: installing Debian's nodejs and npm"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; \
		else \
			echo "error: npm is missing; run: sudo apt-get install nodejs npm" >&2; exit 1; \
		fi; \
	fi
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALLED) $(VENDOR) ## create .venv and install Trellis (editable) with its test tools and the pages' front-end libraries

run: install ## set up the local database with the CRM and demo data, serve on 127.0.0.1:$PORT (5000)
	$(BIN)/trellis init
	$(BIN)/trellis demo
	$(BIN)/trellis serve --host 127.0.0.1 --port "$${PORT:-5000}"

# Two pytest-xdist workers by default: the suite is mostly waiting on databases and the browser,
# and on two cores it takes about half the time of a serial run (28 min against 55).
# WORKERS=0 runs it serially, in one process, when a failure needs the plain output.
WORKERS ?= 2
test: install postgresql browser ## run the whole test suite on SQLite and PostgreSQL (ARGS='-k name' to narrow, WORKERS=0 serial)
	$(BIN)/pytest -n $(WORKERS) $(ARGS)

lint: install ## ruff check . and lint-imports (the import contracts in setup.cfg)
	@status=0; \
	echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "$(BIN)/lint-imports"; $(BIN)/lint-imports || status=1; \
	exit $$status

bench: install ## run the benchmarks (ratios against a hand-written SQLAlchemy baseline)
	$(BIN)/python bench/run.py $(ARGS)

# The tests start a throwaway PostgreSQL server of their own and need only its binaries.
# Debian keeps initdb and pg_ctl off PATH, in /usr/lib/postgresql/<major>/bin.
postgresql: ## make sure PostgreSQL's server binaries are there (installs them when root)
	@if [ -n "$${TRELLIS_TEST_POSTGRES_URL:-}" ]; then exit 0; fi; \
	if command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then \
		exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "PostgreSQL server binaries (initdb, pg_ctl) not found: installing Debian's postgresql"; \
		apt-get update; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; \
	else \
		echo "error: PostgreSQL server binaries (initdb, pg_ctl) not found; the tests need them." >&2; \
		echo "       Run: sudo apt-get install postgresql" >&2; \
		echo "       (or set TRELLIS_TEST_POSTGRES_URL to a server whose user may create databases)" >&2; \
		exit 1; \
	fi

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser
# download cannot work here); without the CJK fonts Chinese renders as empty boxes.
browser: ## make sure Debian's chromium and fonts-noto-cjk are there (installs them when root)
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="chromium"; \
	[ -d /usr/share/fonts/opentype/noto ] && fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's$$missing for the browser tests"; \
		apt-get update; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else \
		echo "error: the browser tests need Debian's$$missing; run: sudo apt-get install$$missing" >&2; \
		exit 1; \
	fi

clean: ## delete instance/ (the local database) and caches; keeps .venv (rm -rf .venv to reset)
	rm -rf instance .pytest_cache .ruff_cache build dist
	find . \( -path ./.venv -o -path ./node_modules -o -path ./.git \) -prune \
		-o -type d -name __pycache__ -prune -exec rm -rf {} +
