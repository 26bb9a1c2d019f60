# epu-mapper — every set-up step lives here so a fresh machine needs only `make run` / `make test`.
SHELL := /bin/bash
# Python 3.12 (pyenv resolves `python` through .python-version; prefer an explicit python3.12 when present)
PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python)
VENV := .venv
PY := $(VENV)/bin/python
EPU := $(VENV)/bin/epu-mapper
STAMP := $(VENV)/.installed

# Raw open data lives beside the repo and is never copied into it.
export EPU_MAPPER_DATA ?= $(abspath ../shared/data/raw)
export EPU_MAPPER_BUILD ?= $(abspath build)
PORT ?= 8501

.PHONY: run test install browser postgres build bench lint clean assets screenshots

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12+ is needed (see .python-version)"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the browser tests (Debian packages; Playwright's own download does not work here).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "Installing Debian chromium + chromium-driver"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# PostgreSQL for the corrections storage tests (Debian package; the tests start their own server
# on 127.0.0.1 with initdb + postgres in a temporary folder and stop it by PID).
postgres:
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  echo "Installing Debian postgresql"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# Leaflet for offline maps: fetched from the npm registry into git-ignored static/vendor/ (app)
LEAFLET := static/vendor/leaflet-1.9.4/leaflet.js
# axe-core for the browser test's accessibility check: same route, never committed
AXE := static/vendor/axe-core-4.14.1/axe.min.js
$(LEAFLET) $(AXE): $(STAMP)
	$(PY) -m epu_mapper.ui.assets
assets: $(LEAFLET) $(AXE)

# Build every derived table that is missing or stale (a no-op when inputs are unchanged).
build: $(STAMP)
	$(EPU) data build
	$(EPU) travel build

run: build assets
	$(PY) -m epu_mapper.ui.serve --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

test: $(STAMP) browser postgres build assets
	$(PY) -m pytest

bench: build
	$(PY) -m pytest benchmarks --benchmark-only

# README screenshots of every page (headless Chromium, offline) -> docs/screenshots/ (app)
screenshots: browser build assets
	EPU_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/test_browser_app.py -m browser -q

# Static gate: ruff (rules in pyproject.toml) on everything, mypy on the pure core (files there too).
lint: $(STAMP)
	$(VENV)/bin/ruff check epu_mapper tests app.py benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf build .pytest_cache
