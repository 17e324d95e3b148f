# Brobygger: two commands on a fresh machine.
#   make run   - set up if needed, train the Rasa model if its inputs changed, start Rasa + app
#   make test  - set up if needed, run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

APP_VENV  := .venv
RASA_VENV := .venv-rasa
RASA_REQ  := nlu/rasa_components/requirements.txt

# Stamps are keyed on a hash of the requirement files, so setup reruns only when they change.
APP_HASH  := $(shell cat pyproject.toml | sha256sum | cut -c1-16)
RASA_HASH := $(shell cat $(RASA_REQ) | sha256sum | cut -c1-16)
APP_STAMP  := $(APP_VENV)/.installed-$(APP_HASH)
RASA_STAMP := $(RASA_VENV)/.installed-$(RASA_HASH)
# axe-core (the accessibility scan the browser tests inject); npm ci reinstalls when the lock changes.
NODE_HASH  := $(shell cat package-lock.json | sha256sum | cut -c1-16)
NODE_STAMP := node_modules/.installed-$(NODE_HASH)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Prints the first interpreter of the wanted minor version: PATH first, then pyenv's versions.
define find_python
for c in python$(1) $$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/$(1).*/bin/python$(1) 2>/dev/null | sort -V -r) /usr/bin/python$(1) /usr/local/bin/python$(1); do \
  if "$$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == tuple(map(int, "$(1)".split("."))) else 1)' >/dev/null 2>&1; then \
    command -v "$$c" || echo "$$c"; exit 0; fi; \
done; exit 1
endef

.PHONY: help venvs setup run test bench lint locales model index browser clean
help:
	@echo "make run    start Brobygger (sets up, trains if needed)"
	@echo "make test   run the whole test suite (sets up if needed)"
	@echo "make bench  run the benchmarks and print the README table"

$(APP_STAMP): pyproject.toml
	@py=$$($(call find_python,3.11)) || { echo "ERROR: Python 3.11 is needed for the app. Install it (e.g. 'pyenv install 3.11') and rerun."; exit 1; }; \
	echo "==> creating $(APP_VENV) with $$py"; \
	rm -rf $(APP_VENV) && "$$py" -m venv $(APP_VENV) && \
	$(APP_VENV)/bin/pip install -q --upgrade pip wheel && \
	$(APP_VENV)/bin/pip install -q -e '.[dev]' && touch $@

$(RASA_STAMP): $(RASA_REQ)
	@py=$$($(call find_python,3.10)) || { echo "ERROR: Python 3.10 is needed for Rasa 3.6 (it supports Python <= 3.10). Install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv', and rerun."; exit 1; }; \
	echo "==> creating $(RASA_VENV) with $$py (Rasa 3.6, takes ~2 min)"; \
	rm -rf $(RASA_VENV) && "$$py" -m venv $(RASA_VENV) && \
	$(RASA_VENV)/bin/pip install -q --upgrade pip wheel 'setuptools<70' && \
	$(RASA_VENV)/bin/pip install -q -r $(RASA_REQ) && touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "ERROR: npm is needed for the browser tests (axe-core). Install Node.js and npm (e.g. 'apt-get install nodejs npm') and rerun."; exit 1; }
	@echo "==> installing axe-core for the browser tests (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error && touch $@

# The web pages are tested in Debian's Chromium, driven by Playwright (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "ERROR: the browser tests need Chromium at /usr/bin/chromium: run 'apt-get install chromium' as root, then rerun."; exit 1; fi; }

locales: $(APP_STAMP)
	@out=$$($(APP_VENV)/bin/pybabel compile -d bot/locales -D messages 2>&1) || { echo "$$out"; exit 1; }

# The two environments are independent and mostly wait on pip and the disk: create them side by side.
venvs:
	@$(MAKE) --no-print-directory -j2 $(APP_STAMP) $(RASA_STAMP)

setup: venvs locales

model: setup
	@$(APP_VENV)/bin/brobygger train

# The search index (embeddings of every offer in six languages, ~1 min from scratch, ~10 s when this
# machine has embedded the texts before); rebuilt only when the catalogue or the embedding model changed.
index: setup
	@HF_HUB_OFFLINE=1 $(APP_VENV)/bin/brobygger index build

run: model index
	@$(APP_VENV)/bin/brobygger run

test: model index $(NODE_STAMP) browser
	@$(APP_VENV)/bin/ruff check bot nlu knowledge connectors tests
	@$(APP_VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=15

bench: model index browser
	@$(APP_VENV)/bin/brobygger bench turn
	@$(APP_VENV)/bin/brobygger bench parse
	@$(APP_VENV)/bin/brobygger bench search
	@$(APP_VENV)/bin/brobygger bench dialogue
	@$(APP_VENV)/bin/brobygger bench handoff
	@$(APP_VENV)/bin/brobygger bench retrain

lint: $(APP_STAMP)
	@$(APP_VENV)/bin/ruff check bot nlu knowledge connectors tests

clean:
	rm -rf $(APP_VENV) $(RASA_VENV) var models
