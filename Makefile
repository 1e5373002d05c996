# crmhub: `make run` serves the hub with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CRMHUB := $(VENV)/bin/crmhub
AUDIT := tests/api/http_audit

.PHONY: install run test bench schema clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

$(AUDIT)/node_modules/.installed: $(AUDIT)/package.json $(AUDIT)/package-lock.json
	cd $(AUDIT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(CRMHUB) migrate
	$(CRMHUB) demo seed --if-empty
	$(CRMHUB) demo token
	$(CRMHUB) serve

test: install $(AUDIT)/node_modules/.installed
	$(PY) -m pytest

# Every benchmark, each against its own limit measured in the same run (docs/benchmarks.md);
# `make bench BENCHES="partner outbound"` runs some. The identity one compares with splink.
BENCHES ?= hub partner ingest webhooks outbound identity

bench: install
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@for name in $(BENCHES); do \
		module=tests.benchmarks.$$name; [ $$name = hub ] && module=tests.benchmarks; \
		echo "== make bench: $$module"; $(PY) -m $$module || exit 1; \
	done

schema: install
	$(CRMHUB) schema export

clean:
	rm -rf $(VENV) var $(AUDIT)/node_modules .pytest_cache
