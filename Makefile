# mailgateway: `make run` starts the gateway on conf/gateway.toml in the
# foreground; `make test` runs the whole suite. Both create .venv as needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= conf/gateway.toml
# setuptools' default editable mode hides twisted/plugins from Twisted's
# plugin loader; "compat" puts the source tree on sys.path instead.
EDITABLE := --config-settings editable_mode=compat

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e . $(EDITABLE)
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]' $(EDITABLE)
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/twistd --pidfile= -n mailgateway --config $(CONFIG)

test: $(VENV)/.test-installed
	$(BIN)/pytest

lint: $(VENV)/.test-installed
	$(BIN)/ruff check gateway twisted tests bench
	$(BIN)/mypy --strict gateway

bench: $(VENV)/.test-installed
	$(BIN)/python bench/queue_bench.py

clean:
	rm -rf $(VENV) build *.egg-info twisted/plugins/dropin.cache
