# kehu: `make run` starts kehu with demo data on SQLite; `make test` runs the tests (SQLite, then PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
DEMO_CUSTOMERS ?= 2000
KEHU_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
# The demo signs in with a password alone so that it can be tried at once; `make run
# DEMO_TWO_FACTOR=admin,manager,sales_rep,service_agent` tries it as production runs it.
DEMO_TWO_FACTOR ?= none

# Lint-only settings: never used to store anything.
LINT_ENV := KEHU_SECRET_KEY=lint-only-secret-key-0123456789-abcdefgh \
	KEHU_ENCRYPTION_KEYS=lint:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
	KEHU_BLIND_INDEX_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

.PHONY: run test test-sqlite test-postgres lint format bench bench-pages bench-import clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(BIN)/pip install -q -r requirements-dev.lock
	touch $@

run: $(VENV)/.runtime
	KEHU_DEBUG=true $(BIN)/kehu migrate --noinput -v0
	KEHU_DEBUG=true $(BIN)/kehu demo --if-empty --customers $(DEMO_CUSTOMERS) --seed 1
	@echo "kehu is at http://$(HOST)/  (API docs: http://$(HOST)/api/docs)"
	@echo "two-factor sign-in required for: $(DEMO_TWO_FACTOR) (production requires it for every role that may reveal personal data)"
	@# The worker runs imports and other jobs beside the web server and stops with it.
	KEHU_DEBUG=true $(BIN)/kehu worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		KEHU_DEBUG=true KEHU_TWO_FACTOR_ROLES=$(DEMO_TWO_FACTOR) $(BIN)/kehu runserver $(HOST)

test: test-sqlite test-postgres

test-sqlite: $(VENV)/.dev
	KEHU_EXPECT_DB_VENDOR=sqlite $(BIN)/pytest -q -p no:cacheprovider

# Runs when PostgreSQL answers; otherwise says so and skips, unless KEHU_REQUIRE_POSTGRES is set (CI).
test-postgres: $(VENV)/.dev
	@if $(BIN)/python scripts/pg_available.py "$(KEHU_TEST_POSTGRES_URL)"; then \
		KEHU_DATABASE_URL="$(KEHU_TEST_POSTGRES_URL)" KEHU_EXPECT_DB_VENDOR=postgresql \
			$(BIN)/pytest -q -p no:cacheprovider; \
	elif [ -n "$(KEHU_REQUIRE_POSTGRES)" ]; then \
		echo "PostgreSQL is required (KEHU_REQUIRE_POSTGRES) but not reachable at $(KEHU_TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "SKIPPED the PostgreSQL run: no server at $(KEHU_TEST_POSTGRES_URL) (set KEHU_TEST_POSTGRES_URL)"; \
	fi

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(LINT_ENV) $(BIN)/mypy
	$(LINT_ENV) KEHU_VAR_DIR=$(CURDIR)/var/lint $(BIN)/kehu makemigrations --check --dry-run

format: $(VENV)/.dev
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_foundation.py $(BENCH_ARGS)

# The pages at the size `make bench` loaded (BENCH_ARGS="--customers 1000000 --skip-load" to reuse it).
bench-pages: $(VENV)/.dev
	$(BIN)/python bench/bench_pages.py $(BENCH_ARGS)

# The import's full path against a raw bulk insert, in a database of its own (BENCH_ARGS="--customers 1000000").
bench-import: $(VENV)/.dev
	$(BIN)/python bench/bench_import.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
