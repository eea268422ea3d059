# Price War Room — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup migrate seed bench lint lock browser-deps clean

# Create the virtualenv and install exactly what was tested: every dependency pinned and hashed in
# requirements-dev.lock (wheels only), then the project itself without dependencies (editable).
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --only-binary=:all: -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(BIN)/pricewar migrate

seed: migrate
	$(BIN)/pricewar seed

## make run: set up, migrate, load the reference data if missing, serve on http://127.0.0.1:8000
run: seed
	$(BIN)/pricewar serve --no-setup

## make test: set up, then the whole suite (SQLite always; PostgreSQL when reachable, required in CI)
test: setup browser-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Browser tests drive Debian's Chromium; the board pack's PDF needs Pango (WeasyPrint) and its PNG pages
# pdftoppm. Install what is missing when we may (root).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium missing: browser tests will fail"; }
	@ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0.so.0 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null) || echo "Pango missing: the board pack's PDF (WeasyPrint) tests will fail"; }
	@command -v pdftoppm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null) || echo "pdftoppm missing: the board-pack PDF pages are not rendered"; }

## make bench: speed benchmarks (engine sweep, simulator, REST latency); numbers go in the README
bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## make lock: re-pin the lock files after changing dependencies in pyproject.toml (existing pins are kept;
## `make lock UPGRADE=1` takes the newest versions allowed). Then `make setup` and `make test`, and commit them.
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --universal $(if $(UPGRADE),--upgrade)
lock: setup
	$(LOCK) pyproject.toml -o requirements.lock
	$(LOCK) pyproject.toml --extra test -c requirements.lock -o requirements-dev.lock
	$(LOCK) docker/requirements-build.in -o requirements-build.lock

## make lint: formatting, lint and types (mypy strict on app/; not part of make test or .ci/run yet).
lint: setup
	$(BIN)/ruff format --check app tests
	$(BIN)/ruff check app tests
	$(BIN)/mypy app

clean:
	rm -rf $(VENV) var *.egg-info .pytest_cache
