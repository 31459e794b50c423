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
	$(VENV)/bin/mypy messages runtime journal venue trading actors polymm sim bench bin/polymm

# The Graphite tier (tests/test_e2e_graphite.py) needs Debian's carbon and graphite-web, and the
# report's browser test (tests/test_report_browser.py) Debian's chromium: they are installed
# first where the machine allows (apt, root); where not, those tests are skipped and the pytest
# summary says why.
test: lint
	@rc=0; bash scripts/install-graphite.sh || rc=$$?; \
	if [ $$rc -eq 3 ]; then \
		echo "make test: Graphite tier SKIPPED (tests/test_e2e_graphite.py): carbon and graphite-web cannot be installed here (see above)"; \
	elif [ $$rc -ne 0 ]; then \
		echo "make test: scripts/install-graphite.sh failed ($$rc): the Graphite tier will fail"; \
	fi
	@rc=0; bash scripts/install-chromium.sh || rc=$$?; \
	if [ $$rc -eq 3 ]; then \
		echo "make test: report browser test SKIPPED (tests/test_report_browser.py): chromium cannot be installed here (see above)"; \
	elif [ $$rc -ne 0 ]; then \
		echo "make test: scripts/install-chromium.sh failed ($$rc): the report browser test will fail"; \
	fi
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
