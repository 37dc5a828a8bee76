# Grace MindCare: `make run` serves the demo, `make test` runs every test
# (`make test-fast` the quicker parallel subset).
# Both create .venv, install requirements.txt and need no environment variables.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The port `make run` serves on; settings.py says the default for anything started without make.
PORT ?= 8000
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed system-deps .env ## create .venv and install requirements and system libraries

.env: # a developer machine: plain `manage.py` commands run in development mode (never copy to production)
	printf '# Written by make for this development checkout; production sets real variables instead.\nDJANGO_DEBUG=1\n' > $@

system-deps: ## check Pango and fonts for WeasyPrint; install them with apt-get when missing
	@bash scripts/system_deps.sh

run: export DJANGO_DEBUG ?= 1
run: install ## serve the demo on http://127.0.0.1:$(PORT) with a Celery worker and beat
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py collectstatic --no-input --verbosity 0
	@echo "Grace MindCare on http://127.0.0.1:$(PORT)  (frontdesk / nurse / clinician / admin, password grace-demo)"
	SERVED_PORT=$(PORT) $(BIN)/honcho start -f Procfile --port $(PORT)

test: install ## run the whole test suite (browser tests included)
	@bash scripts/browser_deps.sh
	@bash scripts/cluster_deps.sh
	$(PY) -m pytest

# The inner loop: the suite less the browser tests and the broker/web-server subprocess tests, spread
# over the machine's cores (TEST_WORKERS=2 to choose), each worker on its own test database kept
# between runs (new migrations are applied to it; TEST_ARGS=--create-db rebuilds it).
# --dist load hands each worker its tests in collection order, so the transactional tests, which empty
# the database, still run after the others there.
TEST_WORKERS ?= auto
test-fast: install ## the tests without e2e and integration, in parallel on a kept test database
	$(PY) -m pytest -n $(TEST_WORKERS) --dist load --reuse-db -m "not integration and not e2e" $(TEST_ARGS)

check: install ## lint, format, the import contract, static types, migrations, security scans (bandit, pip-audit) and the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=1 $(PY) manage.py clinical_rules_doc --check
	$(BIN)/bandit -c pyproject.toml -r . -q -b bandit-baseline.json
	$(PY) scripts/audit_dependencies.py
	$(MAKE) test

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The load part (locust, 10/25/50 users, 40 s each) follows the page timings; BENCH_LOAD=0 skips it.
BENCH_LOAD ?= 1
bench: install ## time key pages on the 20,000-patient data set, then load it (BENCH_ARGS="--patients 2000" quick; BENCH_LOAD=0 pages only)
	$(PY) bench/run.py $(BENCH_ARGS)
ifneq ($(BENCH_EXPORTS),0)
	$(PY) bench/export_rss.py $(BENCH_EXPORT_ARGS)
endif
ifneq ($(BENCH_LOAD),0)
	$(PY) bench/load_run.py $(BENCH_LOAD_ARGS)
endif

bench-exports: install ## only the heavy exports of make bench, with the web workers' memory after each (BENCH_EXPORT_ARGS)
	$(PY) bench/export_rss.py $(BENCH_EXPORT_ARGS)

bench-load: install ## only the load part of make bench, on the data set make bench seeded (BENCH_LOAD_ARGS="--users 50")
	$(PY) bench/load_run.py $(BENCH_LOAD_ARGS)

# Several nodes on this one machine: HAProxy, two web nodes, two workers, a guarded beat, a private
# PostgreSQL primary and its streaming replica, the machine's Redis (dbs 6 and 7).
cluster: install ## HAProxy → 2 web nodes, 2 workers, beat, PostgreSQL primary + streaming replica; Ctrl-C stops (CLUSTER_ARGS=--check)
	@bash scripts/cluster_deps.sh
	$(PY) bench/cluster.py $(CLUSTER_ARGS)

vendor: ## refresh static/vendor from the npm registry (pinned versions)
	bash scripts/vendor_assets.sh

db-stop: ## stop the embedded PostgreSQL server
	-$(PY) -m grace_mindcare.embedded_db stop

clean: db-stop ## remove the venv and local data (database, broker, outboxes)
	rm -rf $(VENV) var

.PHONY: help install system-deps run test test-fast check format bench bench-load bench-exports cluster vendor db-stop clean
