# The one entry point. `make run` serves the app; `make test` runs every check.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

export FLASK_APP := wsgi

.PHONY: install run test lint typecheck unit pg browser bench translations clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

# A random secret key, made once and kept in the instance folder (never committed).
instance/secret_key:
	@mkdir -p instance
	@umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(48))" > $@

# Plain http on 127.0.0.1: no Secure cookies or HSTS (EVALUATOR_HTTPS=true behind TLS).
run: export EVALUATOR_HTTPS := false
run: $(STAMP) instance/secret_key
	$(BIN)/flask --app wsgi db-upgrade
	$(BIN)/flask --app wsgi seed-demo --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	$(BIN)/gunicorn -w 2 --threads 4 -b 127.0.0.1:$(PORT) --no-control-socket \
		--access-logfile - wsgi:app

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests run on every core (pytest-xdist), a test file per worker at a time: each worker has
# its own databases (SQLite files, a PostgreSQL cluster, a live server), so files never meet.
XDIST := -n auto --dist loadfile

# Unit and integration tests on SQLite.
unit: $(STAMP)
	$(BIN)/pytest -q $(XDIST) -m "not browser"

# The browser tests, in Chromium, in a run of their own: Playwright's sync API keeps an event
# loop in the main thread, which Flask's app-context teardown must not run beside.
browser: $(STAMP)
	$(BIN)/pytest -q $(XDIST) -m browser

# The same suite (browser tests aside) on a throwaway PostgreSQL cluster.
pg: $(STAMP)
	TEST_DB=postgresql $(BIN)/pytest -q $(XDIST) -m "not browser"

test: lint typecheck unit browser pg

# Refresh the interface's message catalogues (English, Greek) after changing strings.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-location=file --sort-output \
		--project=Evaluator --copyright-holder="Evaluator contributors" \
		-o webapp/translations/messages.pot accounts surveys webapp reports rubrics
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d webapp/translations --statistics

bench: $(STAMP)
	$(PY) -m bench

# Load, kill -9 and the answer race against gunicorn (not part of `make test`; 2-3 minutes).
# `make bench-load ARGS="--seconds 30 --kill"`, `ARGS=--postgresql`; see bench/bench_load.py.
.PHONY: bench-load
bench-load: $(STAMP)
	$(PY) -m bench.bench_load $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
