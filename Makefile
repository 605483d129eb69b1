# Two commands on a fresh machine:  make run   (the daily job for 2017-10-30)   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# keep dbt, Prefect and GX offline (../shared/STACK.md)
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: setup run test test-slow lint bench clean chromium

setup: $(STAMP)

# torch first and exactly 2.13.0 (the local CPU wheel), then everything under the frozen constraints
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/couponflow daily --date 2017-10-30

test: setup chromium
	$(BIN)/pytest

# the end-to-end tests of minutes each (marked slow) that `make test` leaves out to keep CI short
test-slow: setup chromium
	$(BIN)/pytest -m slow

# ruff (lint + format check), mypy, and import-linter's layer contract (pyproject.toml)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# the report test renders the operators' page in a real headless Chromium (Debian's package)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

bench: setup
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf .couponflow .pytest_cache
