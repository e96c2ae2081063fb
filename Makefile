# One command runs the service on the bundled data (`make run`), one runs the tests (`make test`).
# Both install everything into a local virtual environment first (.venv), CPU torch before the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= models/default
DATA ?= datasets/helpdesk_tickets.csv.gz
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install tools browser run train test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[train,dev]"  # serving alone: pip install .
	touch $@

install: $(BIN)/.installed

# The demo bundle uses a fixed 0.5 threshold (--precision-target 0): the synthetic export carries 6% label
# noise by design, so no head can certify 95% precision on it and every ticket would go to review.
$(MODEL)/manifest.json: $(BIN)/.installed $(DATA) triage/models/manifest.py  # retrain when the bundle format changes
	$(BIN)/triage train $(DATA) --out $(MODEL) --precision-target 0

train: $(MODEL)/manifest.json

run: train
	$(BIN)/triage db upgrade
	$(BIN)/triage serve --model $(MODEL) --host $(HOST) --port $(PORT) $(if $(TRIAGE_API_KEYS),,--no-auth)

# Tools the tests drive, from Debian: Chromium for the report and desk browser tests (no browser download:
# Playwright drives /usr/bin/chromium), promtool (package prometheus) for the alert rules in deploy/, Java 17
# for the Spark tests (--engine spark).
# Installed once, with sudo when not root.
tools:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	[ -z "$$missing" ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$missing; }

browser: tools  # the former name

test: install tools
	$(BIN)/python -m pytest

lint: install
	$(BIN)/python -m ruff check . && $(BIN)/python -m ruff format --check . && $(BIN)/python -m mypy triage training benchmarks

bench: install
	$(BIN)/python benchmarks/accuracy.py banking77 it_tickets

clean:
	rm -rf $(VENV) .triage-cache mlflow.db mlruns $(MODEL)
