# The two commands of the README, and a few more for developers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# One stamp per set of extras (pyproject.toml): serve needs none, test `test`, e2e `e2e`,
# bench `bench`, lint and CI `dev` (all of them, ruff and pip-audit).
STAMP := $(VENV)/.installed

.PHONY: serve test test-pg lint format e2e bench bench-smoke clean system catalogs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(STAMP)

$(STAMP)-%: $(STAMP)
	$(BIN)/pip install -q -e '.[$*]'
	touch $@

## The .mo catalogs older than their .po (the install compiles them all; git holds only .po).
catalogs: $(STAMP)
	$(BIN)/python -m shared.translations $(wildcard services/*/translations) shared/translations

## Set up and start the whole suite on SQLite with demo data.
serve: $(STAMP) catalogs
	$(BIN)/frontdesk serve

## The Debian packages the tests use (pdfsig, wrk, chromium, nginx, ...), when missing.
system:
	@bash .ci/system-packages

## Set up and run the tests (SQLite; FRONTDESK_TEST_DATABASE_URL=postgresql+psycopg://... for PostgreSQL).
test: system $(STAMP)-test catalogs
	$(BIN)/pytest -q -m "not e2e and not browser"

test-pg: system $(STAMP)-test catalogs
	FRONTDESK_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test $(BIN)/pytest -q -m "not e2e and not browser"

lint: $(STAMP)-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

node_modules/axe-core/axe.min.js: package-lock.json
	npm ci --no-audit --no-fund --silent

e2e: system $(STAMP)-e2e node_modules/axe-core/axe.min.js catalogs
	$(BIN)/pytest -q -m "e2e or browser"

bench: system $(STAMP)-bench catalogs
	$(BIN)/python -m bench

bench-smoke: system $(STAMP)-bench catalogs
	$(BIN)/python -m bench --quick --json var/bench-quick.json

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache build
	find services shared -name '*.mo' -delete
