# polymm: make run (the bot against the built-in simulated venue), make test (the whole suite).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DURATION ?=
RUN_ARGS ?=

.PHONY: run test bench lint unit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

.venv: $(STAMP)

run: $(STAMP)
	$(PY) bin/polymm run $(if $(DURATION),--duration $(DURATION)) $(RUN_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy messages venue trading actors polymm sim bench

test: lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bin/polymm bench

clean:
	rm -rf $(VENV) var build *.egg-info

.PHONY: statsd
# The npm StatsD daemon (pinned) in .statsd/ (git-ignored), for tests/test_e2e_statsd.py and a
# local metrics stack; idempotent.
statsd:
	bash scripts/install-statsd.sh
