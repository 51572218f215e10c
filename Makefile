# Circlekeeper: `make run` for a local demo, `make test` for the static checks and then the whole suite (SQLite and
# PostgreSQL side by side), `make lint` for the static checks alone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
CATALOGUES := $(wildcard coordinator/translations/*/LC_MESSAGES/messages.po)
# What a party reads has its own domain and thirteen languages (coordinator/party_i18n.py, README "Languages").
PARTY_CATALOGUES := $(wildcard coordinator/party_translations/*/LC_MESSAGES/party.po)
COMPILED := $(CATALOGUES:.po=.mo) $(PARTY_CATALOGUES:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_LOGS ?= test-logs

.PHONY: run lint test test-sqlite test-postgresql bench bench-outbox bench-http translations messages openapi clean

run: $(VENV)/.run-deps translations
	@COORDINATOR_ENV=development $(FLASK) db upgrade
	@COORDINATOR_ENV=development $(FLASK) seed-demo --if-empty
	@echo "Circlekeeper on http://$(HOST):$(PORT), with its job scheduler beside it (Ctrl-C stops both)"
	@COORDINATOR_ENV=development $(FLASK) scheduler & scheduler=$$!; \
	  trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	  COORDINATOR_ENV=development $(FLASK) run --host $(HOST) --port $(PORT)

# Static checks (docs/README.md "How the code is shaped", habit 12): ruff, mypy on coordinator/, bandit.
lint: $(VENV)/.dev-deps
	$(BIN)/ruff check coordinator tests bench tools config.py app.py migrations
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r coordinator config.py app.py

# The static checks first, then both backends at once (CI has two cores), each into its own log in $(TEST_LOGS)/;
# both logs are printed at the end, and the run fails when either half fails.
test: lint
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	@echo "Running the suite on SQLite and on PostgreSQL side by side; logs in $(TEST_LOGS)/."
	@status=0; \
	$(MAKE) --no-print-directory -j2 -k test-sqlite test-postgresql TEST_OUTPUT=$(TEST_LOGS) || status=$$?; \
	for backend in sqlite postgresql; do \
	  echo; echo "======== $$backend: $(TEST_LOGS)/$$backend.log ========"; \
	  cat $(TEST_LOGS)/$$backend.log 2>/dev/null || echo "(no log: the $$backend half did not start)"; \
	done; \
	if [ $$status -ne 0 ]; then echo; echo "make test: a half of the suite failed (see its log above)."; fi; \
	exit $$status

# Each half alone prints to the terminal; under `make test` (TEST_OUTPUT set) it writes TEST_OUTPUT/<backend>.log.
test-sqlite: $(VENV)/.dev-deps translations
	COORDINATOR_TEST_DATABASE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)$(if $(TEST_OUTPUT), > $(TEST_OUTPUT)/sqlite.log 2>&1)

test-postgresql: $(VENV)/.dev-deps translations
	COORDINATOR_TEST_DATABASE=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)$(if $(TEST_OUTPUT), > $(TEST_OUTPUT)/postgresql.log 2>&1)

bench: $(VENV)/.dev-deps translations
	$(BIN)/python -m bench.referral_list $(BENCH_ARGS)
	$(BIN)/python -m bench.outbox_dispatch $(OUTBOX_BENCH_ARGS)
	$(BIN)/python -m bench.slot_search $(SLOT_BENCH_ARGS)
	$(BIN)/python -m bench.programme_views $(PROGRAMME_BENCH_ARGS)
	$(BIN)/python -m bench.audit_verify $(AUDIT_BENCH_ARGS)
	$(MAKE) --no-print-directory bench-http

# The service as production runs it (gunicorn, PostgreSQL, Redis) under load from wrk, against a bare Flask app.
bench-http: $(VENV)/.dev-deps translations
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m bench.http_load $(HTTP_BENCH_ARGS)

bench-outbox: $(VENV)/.dev-deps translations
	$(BIN)/python -m bench.outbox_dispatch $(OUTBOX_BENCH_ARGS)

translations: $(COMPILED)

%.mo: %.po | $(VENV)/.run-deps
	@$(BIN)/pybabel compile --statistics -i $< -o $@

# After changing an API route or model: the OpenAPI document served at /api/v1/openapi.json is generated from them
# into coordinator/openapi.json (a test fails while it is stale).
openapi: $(VENV)/.run-deps
	$(BIN)/python -m tools.openapi

# After changing user-facing text: extract it, merge it into every catalogue, then translate what is new.
# Staff text is marked _() / _l(); what a party reads is marked _p() / _lp() and goes to the party domain.
messages: $(VENV)/.dev-deps
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output --no-wrap \
		-o coordinator/translations/messages.pot .
	$(BIN)/pybabel update -i coordinator/translations/messages.pot -d coordinator/translations \
		--no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel extract -F babel.cfg --no-default-keywords -k _p -k _lp --no-location --sort-output --no-wrap \
		-o coordinator/party_translations/party.pot .
	$(BIN)/pybabel update -D party -i coordinator/party_translations/party.pot -d coordinator/party_translations \
		--no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m coordinator.i18n_catalogues fill-english

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.run-deps

clean:
	rm -rf $(VENV) $(COMPILED) .pytest_cache .mypy_cache .ruff_cache $(TEST_LOGS)
