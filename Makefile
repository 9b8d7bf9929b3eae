# Lookback: the two commands of the README, and what they need.
#   make run   install everything, start the embedded PostGIS, load the demo, serve on :8000
#   make test  install everything, lint, check the layering, run the tests
# Re-running either is fast: each step is skipped when its inputs have not changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := postgresql-15 postgresql-15-postgis-3 python3-venv python3-dev chromium \
	fonts-noto-cjk gdal-bin poppler-utils
# Only for `make test`: QGIS's own OAPIF provider signs in to /ogc in tests/test_basic_auth.py.
TEST_DEB_PACKAGES := python3-qgis qgis-providers
STAMPS := var/.stamps

.PHONY: run test setup system-deps test-deps lint bench clean

run: setup
	$(BIN)/lookback up

test: setup test-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q

setup: system-deps $(STAMPS)/venv $(STAMPS)/npm

# Debian packages: installed only when one is missing (apt-get update runs then, once).
system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test-deps:
	@missing=$$(for p in $(TEST_DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for the tests:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

$(STAMPS)/npm: static/package.json static/package-lock.json
	@mkdir -p $(STAMPS)
	cd static && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bench: setup
	$(BIN)/python -m bench.run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) static/node_modules $(STAMPS)
